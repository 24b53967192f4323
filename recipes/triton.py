"""triton: the Triton compiler torch.compile and vLLM generate GPU kernels with, built offline.

PyPI has wheels only, so the source is the triton-lang/triton release tag. Left to itself, triton's
setup.py downloads a prebuilt LLVM, nlohmann-json, and (for the NVIDIA backend) ptxas, cuobjdump,
nvdisasm and the CUDA/CUPTI headers in the middle of the build. TRITON_OFFLINE_BUILD=1 forbids that:
every dependency must then come from a *_SYSPATH, and a missing one aborts the build early
(setup.py, is_offline_build() and get_thirdparty_packages()).

- LLVM must be the exact commit in cmake/llvm-hash.txt, built with MLIR; the builder images do not
  carry it, so it is expected at LLVM_PREFIX below (or wherever the variant's env LLVM_SYSPATH says).
- pybind11 comes from the build requirements (setup.py falls back to pybind11.get_include() when
  PYBIND11_SYSPATH is unset), so it needs no setting.
- One wheel holds both backends (setup.py: BackendInstaller.copy(["nvidia", "amd"])); the variant only
  decides which toolkits the build can see. The wheel carries no GPU code of its own (it is a
  compiler), hence no kernels declaration.

Known consequence, not solved here: offline, setup.py skips download_and_copy(), so the NVIDIA tools
and headers it would have bundled under triton/backends/nvidia/{bin,include} are absent from the
wheel; at run time triton then needs TRITON_PTXAS_PATH (etc.) pointing at a CUDA toolkit.

The pinned releases (3.5.1, 3.6.0) have setup.py and pyproject.toml at the repository root; releases
before ~3.5 kept them in python/, which a PEP 517 build of the tag cannot reach without a patch.
Tag commits are not pinned (unverifiable from here).
"""

from __future__ import annotations

from wheelwright import Recipe, RecipeContext
from wheelwright.recipes import GitSource

recipe = Recipe("triton", source=GitSource(url="https://github.com/triton-lang/triton", tag="v{version}"))

#: An LLVM+MLIR install of the commit in the tag's cmake/llvm-hash.txt, provided by the builder image.
LLVM_PREFIX = "/opt/triton-llvm"
#: nlohmann-json headers (Debian/Ubuntu nlohmann-json3-dev puts them in /usr/include/nlohmann).
JSON_PREFIX = "/usr"
#: The CUDA toolkit in the nvidia/cuda devel builder images.
CUDA_HOME = "/usr/local/cuda"


def _offline(ctx: RecipeContext) -> dict[str, str]:
    return {
        "TRITON_OFFLINE_BUILD": "1",  # setup.py is_offline_build(): no downloads; each Package needs its syspath_var_name
        "LLVM_SYSPATH": ctx.variant.env.get("LLVM_SYSPATH", LLVM_PREFIX),  # setup.py get_llvm_package_info(): Package(..., "LLVM_SYSPATH")
        "JSON_SYSPATH": ctx.variant.env.get("JSON_SYSPATH", JSON_PREFIX),  # setup.py get_json_package_info(): Package(..., "JSON_SYSPATH")
        "MAX_JOBS": str(ctx.jobs),  # setup.py CMakeBuild.build_extension(): build_args += ['-j' + os.getenv("MAX_JOBS")]
    }


@recipe.env()
def env(ctx: RecipeContext) -> dict[str, str]:
    """Variants without a GPU toolkit (triton is not in their constraints; this only keeps a build offline)."""
    return {
        **_offline(ctx),
        "TRITON_BUILD_PROTON": "OFF",  # setup.py: check_env_flag("TRITON_BUILD_PROTON", "ON"); proton needs CUPTI headers no such builder has
    }


@recipe.env("cuda")
def env_cuda(ctx: RecipeContext) -> dict[str, str]:
    return {
        **_offline(ctx),
        "TRITON_PTXAS_PATH": f"{CUDA_HOME}/bin/ptxas",  # setup.py download_and_copy(variable="TRITON_PTXAS_PATH"); conda-forge triton-feedstock recipe/build.sh
        "TRITON_CUOBJDUMP_PATH": f"{CUDA_HOME}/bin/cuobjdump",  # setup.py download_and_copy(variable="TRITON_CUOBJDUMP_PATH")
        "TRITON_NVDISASM_PATH": f"{CUDA_HOME}/bin/nvdisasm",  # setup.py download_and_copy(variable="TRITON_NVDISASM_PATH")
        "TRITON_CUDACRT_PATH": f"{CUDA_HOME}/include",  # setup.py download_and_copy(variable="TRITON_CUDACRT_PATH")
        "TRITON_CUDART_PATH": f"{CUDA_HOME}/include",  # setup.py download_and_copy(variable="TRITON_CUDART_PATH")
        "TRITON_CUPTI_INCLUDE_PATH": f"{CUDA_HOME}/extras/CUPTI/include",  # setup.py get_proton_cmake_args(): -DCUPTI_INCLUDE_DIR for proton
        "TRITON_CUPTI_LIB_PATH": f"{CUDA_HOME}/extras/CUPTI/lib64",  # setup.py download_and_copy(variable="TRITON_CUPTI_LIB_PATH")
    }


@recipe.env("rocm")
def env_rocm(ctx: RecipeContext) -> dict[str, str]:
    return {
        **_offline(ctx),
        "TRITON_BUILD_PROTON": "OFF",  # conda-forge triton-feedstock recipe/build.sh: proton expects CUDA/CUPTI headers, off for ROCm builds
    }
