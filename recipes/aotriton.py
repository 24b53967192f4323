"""aotriton: ahead-of-time compiled Triton kernels, ROCm's attention backend for torch (replaces
cuDNN/CUTLASS there). Not on PyPI: built from ROCm/aotriton's release tags.

Its tags drop the trailing 0 of the PEP 440 pre-release (release "0.11.2b" is version 0.11.2b0),
hence the explicit refs. Commits are not pinned yet: the lint warns until they are.

ROCm only: AOTriton compiles Triton kernels for AMD GPUs and nothing else, so the recipe applies to
rocm alone (`variants=`) and no other variant gets a hook. The kernels are built for exactly the variant's gfx targets (AOTRITON_TARGET_ARCH, a CMake
cache variable) without a compile timeout, and without the Python bindings (pyaotriton is a test
harness that needs torch); that is how torch's own cmake/External/aotriton.cmake and AOTriton's
.ci/build-for-torch.sh build it for torch, which consumes the install prefix through
AOTRITON_INSTALLED_PREFIX (recipes/torch.py).

Not built from source, and said so (`prebuilt=`): the pinned tags are a plain CMake project with no
pyproject.toml (no PEP 517 backend to build a wheel with), their CMake downloads Triton and its LLVM at configure
time, and the result is not a Python package but an install prefix (lib/libaotriton_v2.so, include/) that torch's
cmake/External/aotriton.cmake consumes through AOTRITON_INSTALLED_PREFIX. torch on ROCm therefore takes AOTriton the
way upstream's own cmake does, minus the mid-build download: the release's runtime and kernel-image tarballs are
extra sources of recipes/torch.py, pinned by the sha256 that aotriton.cmake lists, fetched and verified before the
build. The settings below are what a from-source build would use (they are what .ci/build-for-torch.sh passes);
planning aotriton on its own is refused with this reason.
"""

from wheelwright import Recipe, RecipeContext
from wheelwright.recipes import GitSource

recipe = Recipe(
    "aotriton",
    source=GitSource(
        url="https://github.com/ROCm/aotriton",
        tag="{version}",
        refs={"0.11.2b0": "0.11.2b", "0.11b0": "0.11b", "0.11.1b0": "0.11.1b"},
        commit_env=("AOTRITON_CI_SUPPLIED_SHA1",),  # CMakeLists.txt: without .git (the packed tag has none) the commit comes from here
    ),
    variants=("rocm",),  # AOTriton compiles Triton kernels for AMD GPUs and nothing else
    prebuilt="no pyproject.toml, Triton and LLVM downloaded by its CMake, and an install prefix rather than a wheel: torch takes the "
             "sha256-pinned release tarballs as extra sources (recipes/torch.py)",
)


@recipe.env("rocm")
def env_rocm(ctx: RecipeContext) -> dict[str, str]:
    return {
        "CMAKE_BUILD_PARALLEL_LEVEL": str(ctx.jobs),  # CMake docs (envvar/CMAKE_BUILD_PARALLEL_LEVEL): default -j of `cmake --build`
    }


@recipe.config_settings("rocm")
def config_settings_rocm(ctx: RecipeContext) -> dict[str, str]:
    return {
        "cmake.build-type": "Release",  # README.md: cmake .. -DCMAKE_BUILD_TYPE=Release
        "cmake.define.AOTRITON_TARGET_ARCH": ";".join(ctx.variant.archs),  # CMakeLists.txt: set(AOTRITON_TARGET_ARCH "gfx90a;gfx942;..." CACHE STRING "Target GPU Architecture")
        "cmake.define.AOTRITON_GPU_BUILD_TIMEOUT": "0",  # CMakeLists.txt: "GPU kernel compiler times out after X minutes. 0 for indefinite"; README.md uses 0
        "cmake.define.AOTRITON_NO_PYTHON": "ON",  # CMakeLists.txt: option(AOTRITON_NO_PYTHON "Disable python binding build"); .ci/build-for-torch.sh
    }
