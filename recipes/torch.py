"""torch: PyTorch itself, built from its release tag with every backend switch spelled out.

PyPI has no usable sdist of torch, so the source is the pytorch/pytorch tag (with its submodules).
Nothing is left to autodetection: torch's CMake turns CUDA, ROCm, cuDNN, NCCL and XPU on when it
finds them, so a builder that happens to carry another vendor's toolkit would silently produce a
different wheel. Every switch is therefore set for every variant:

- cpu, and the variants whose accelerator is not torch's business, take the generic CPU build below:
  tpu (torch-xla's README installs the XLA backend on a CPU torch==2.9.0), spyre (sendnn-inference's
  pyproject.toml takes torch from download.pytorch.org/whl/cpu), gaudi (Habana ships its own torch
  build in the vault index next to habana-torch-plugin, constraints/gaudi-1.24.0.txt; if Wheelwright
  builds torch there at all, upstream torch can only be the CPU build). They get no function of their
  own on purpose: a variant-specific hook makes Wheelwright demand that variant's toolchain (hl-smi…)
  for what is a plain CPU build.
- cuda: CUDA + cuDNN + NCCL, TORCH_CUDA_ARCH_LIST from the variant's sm_* archs.
- rocm: hipify the tree first (prepare), then ROCm + RCCL, PYTORCH_ROCM_ARCH from the gfx* archs,
  flash/mem-efficient attention through AOTriton taken from a separately built prefix instead of the
  prebuilt tarball torch's CMake would otherwise download mid-build.

Not pinned: the tags' commits (no way to verify them from here), and PYTORCH_EXTRA_INSTALL_REQUIREMENTS,
through which upstream's CI adds the triton requirement to the wheel's metadata (.ci/manywheel).
"""

from __future__ import annotations

import sys

from wheelwright import Recipe, RecipeContext
from wheelwright.recipes import cuda_arch_list, GitSource

recipe = Recipe("torch", source=GitSource(url="https://github.com/pytorch/pytorch", tag="v{version}"))

#: Where a separately built AOTriton (recipes/aotriton.py, installed with `cmake --install`) lives in the
#: rocm builder; a variant may move it with env AOTRITON_INSTALLED_PREFIX in variants.toml.
AOTRITON_PREFIX = "/opt/aotriton"


def _common(ctx: RecipeContext) -> dict[str, str]:
    return {
        "MAX_JOBS": str(ctx.jobs),  # setup.py header: "MAX_JOBS: maximum number of compile jobs"
        "BUILD_TEST": "0",  # setup.py header: "BUILD_TEST=0 disables the test build"
        "USE_XPU": "0",  # CMakeLists.txt: option(USE_XPU "Use XPU" ON); forwarded by tools/setup_helpers/cmake.py (USE_* prefix)
        "PYTORCH_BUILD_VERSION": str(ctx.version),  # tools/generate_torch_version.py: replaces version.txt (+git<sha>)
        "PYTORCH_BUILD_NUMBER": "1",  # tools/generate_torch_version.py: asserted set with the version; >1 would add .postN
    }


@recipe.env()
def env(ctx: RecipeContext) -> dict[str, str]:
    """The CPU build: cpu, and tpu/gaudi/spyre whose accelerator plugs into a CPU torch."""
    return {
        **_common(ctx),
        "USE_CUDA": "0",  # setup.py header: "USE_CUDA=0 disables CUDA build"
        "USE_ROCM": "0",  # CMakeLists.txt: cmake_dependent_option(USE_ROCM "Use ROCm" ON "LINUX OR WIN32" OFF)
        "USE_NCCL": "0",  # CMakeLists.txt: cmake_dependent_option(USE_NCCL ... "USE_CUDA OR USE_ROCM;UNIX;NOT APPLE" OFF)
    }


@recipe.env("cuda")
def env_cuda(ctx: RecipeContext) -> dict[str, str]:
    return {
        **_common(ctx),
        "USE_CUDA": "1",  # setup.py header: "USE_CUDA=0 disables CUDA build" (on here, not left to detection)
        "USE_ROCM": "0",  # CMakeLists.txt: USE_ROCM defaults ON on Linux
        "USE_CUDNN": "1",  # setup.py header: "USE_CUDNN=0 disables the cuDNN build"; CMake turns it off with a warning if cuDNN is absent
        "USE_NCCL": "1",  # CMakeLists.txt: cmake_dependent_option(USE_NCCL "Use NCCL" ON ...)
        "TORCH_CUDA_ARCH_LIST": cuda_arch_list(ctx.variant.archs),  # setup.py header: ie `TORCH_CUDA_ARCH_LIST="6.0;7.0"`; .ci/manywheel/build_cuda.sh
        "USE_FLASH_ATTENTION": "1",  # setup.py header: "USE_FLASH_ATTENTION=0 disables building flash attention"
        "USE_MEM_EFF_ATTENTION": "1",  # setup.py header: "USE_MEM_EFF_ATTENTION=0 disables building memory efficient attention"
    }


@recipe.env("rocm")
def env_rocm(ctx: RecipeContext) -> dict[str, str]:
    return {
        **_common(ctx),
        "USE_ROCM": "1",  # CMakeLists.txt: cmake_dependent_option(USE_ROCM "Use ROCm" ON ...)
        "USE_CUDA": "0",  # ROCm/TheRock external-builds/pytorch/build_prod_wheels.py: env["USE_CUDA"] = "OFF" for ROCm wheels
        "USE_NCCL": "1",  # CMakeLists.txt: USE_NCCL on "USE_CUDA OR USE_ROCM" (RCCL on ROCm)
        "PYTORCH_ROCM_ARCH": ";".join(ctx.variant.archs),  # setup.py header: ie `PYTORCH_ROCM_ARCH="gfx900;gfx906"`
        "USE_FLASH_ATTENTION": "1",  # setup.py header; on ROCm this builds SDPA flash attention on AOTriton (TheRock build_prod_wheels.py)
        "USE_MEM_EFF_ATTENTION": "1",  # setup.py header; TheRock build_prod_wheels.py sets it together with USE_FLASH_ATTENTION
        "AOTRITON_INSTALLED_PREFIX": ctx.variant.env.get("AOTRITON_INSTALLED_PREFIX", AOTRITON_PREFIX),  # cmake/External/aotriton.cmake: if(DEFINED ENV{AOTRITON_INSTALLED_PREFIX}) instead of downloading a release tarball
    }


@recipe.prepare("rocm")
def hipify(ctx: RecipeContext) -> None:
    """ROCm builds start by translating the CUDA sources to HIP in place (README.md: "Only run this
    if you're compiling for ROCm: python tools/amd_build/build_amd.py"; vLLM's docker/Dockerfile.rocm_base
    does the same before setup.py bdist_wheel)."""
    if ctx.source_dir is None:
        raise RuntimeError("hipify needs the unpacked source tree")
    script = ctx.source_dir / "tools" / "amd_build" / "build_amd.py"
    if not script.is_file():
        raise RuntimeError(f"{script} not found: not a PyTorch source tree, cannot hipify")
    ctx.run([sys.executable, str(script.relative_to(ctx.source_dir))])  # no network, scrubbed env, output in the log


@recipe.kernels("cuda")
def kernels_cuda(ctx: RecipeContext) -> list[str]:
    return ["torch/lib/libtorch_cuda.so"]  # the CUDA half of ATen; a torch without it is a CPU torch


@recipe.kernels("rocm")
def kernels_rocm(ctx: RecipeContext) -> list[str]:
    return ["torch/lib/libtorch_hip.so"]  # the hipified ATen; absent or empty means USE_ROCM silently fell off


@recipe.build_requires("rocm")
def build_requires_rocm(ctx: RecipeContext) -> list[str]:
    return ["aotriton"]  # cmake/External/aotriton.cmake: torch's ROCm attention is built against AOTriton


CUDA_RUNTIME_WHEELS = ("nvidia-*", "cuda-toolkit", "cuda-bindings", "cuda-pathfinder")


@recipe.drop_requires()
def drop_requires(ctx: RecipeContext) -> dict[str, str]:
    # PyPI's torch wheels add the CUDA runtime wheels through PYTORCH_EXTRA_INSTALL_REQUIREMENTS (.ci/manywheel/build_cuda.sh)
    return dict.fromkeys(CUDA_RUNTIME_WHEELS, f"a {ctx.variant.name} torch links no CUDA library; PyPI's default wheel is the CUDA build")


@recipe.drop_requires("cuda")
def drop_requires_cuda(ctx: RecipeContext) -> list[str]:
    # Not right, and said so by giving no reason (`wheelwright recipe check` reports it): a from-source CUDA torch links
    # libcudart/libcublas… that it never grafts, so it must require these wheels (PYTORCH_EXTRA_INSTALL_REQUIREMENTS), not
    # drop them; the build's never-grafted-library check refuses it until then. cuda-13.0 takes PyPI's torch prebuilt.
    return list(CUDA_RUNTIME_WHEELS)
