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

Offline, setup.py never downloads the NVIDIA tools it bundles (download_and_copy() returns under
TRITON_OFFLINE_BUILD), so a wheel built that way has no triton/backends/nvidia/bin/ptxas and cannot compile a kernel
on a host without a CUDA toolkit. PyPI's 3.6.0 wheel carries bin/{ptxas,ptxas-blackwell,cuobjdump,nvdisasm},
include/ (cuda.h, the cuda_runtime headers, crt/, CUPTI) and lib/cupti/. The cuda `prepare` hook copies the builder's
toolkit tools and headers into third_party/nvidia/backend/{bin,include,lib/cupti} (package_dir maps that directory to
triton.backends.nvidia, include_package_data=True), and `ships` requires them in the wheel.

The pinned releases (3.5.1, 3.6.0) have setup.py and pyproject.toml at the repository root; releases
before ~3.5 kept them in python/, which a PEP 517 build of the tag cannot reach without a patch.
Tag commits are not pinned (unverifiable from here).
"""

from __future__ import annotations

import shutil
from pathlib import Path

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


#: What PyPI's triton 3.6.0 wheel bundles under triton/backends/nvidia/, from a CUDA toolkit.
NVIDIA_TOOLS = ("ptxas", "cuobjdump", "nvdisasm")


@recipe.prepare("cuda")
def bundle_nvidia_tools(ctx: RecipeContext) -> None:
    """Copy ptxas, cuobjdump, nvdisasm, the CUDA and CUPTI headers and libcupti from the builder's toolkit into the tree."""
    if ctx.source_dir is None:
        raise RuntimeError("bundling the NVIDIA tools needs the unpacked source tree")
    cuda = Path(ctx.variant.env.get("CUDA_HOME", CUDA_HOME))
    backend = ctx.source_dir / "third_party" / "nvidia" / "backend"
    if not backend.is_dir():
        raise RuntimeError(f"{backend} not found: not a triton source tree")
    for tool in NVIDIA_TOOLS:
        found = cuda / "bin" / tool
        if not found.is_file():
            raise RuntimeError(f"{found} not found: triton's wheel bundles it (TRITON_OFFLINE_BUILD downloads nothing)")
        (backend / "bin").mkdir(exist_ok=True)
        shutil.copy2(found, backend / "bin" / tool)
    shutil.copytree(cuda / "include", backend / "include", dirs_exist_ok=True)
    cupti = cuda / "extras" / "CUPTI"
    if cupti.is_dir():
        shutil.copytree(cupti / "include", backend / "include", dirs_exist_ok=True)
        shutil.copytree(cupti / "lib64", backend / "lib" / "cupti", dirs_exist_ok=True, symlinks=True)


@recipe.ships("cuda")
def ships_cuda(ctx: RecipeContext) -> list[str]:
    return [*(f"triton/backends/nvidia/bin/{tool}" for tool in NVIDIA_TOOLS), "triton/backends/nvidia/include/cuda.h",
            "triton/backends/nvidia/lib/cupti/libcupti.so*"]
