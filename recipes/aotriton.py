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

Caveat: the pinned tags are a plain CMake project (CMakeLists.txt, `make install`), with no
pyproject.toml (the setuptools pyproject.toml of 2026 packages only the code generator). The settings
below are written as scikit-build-core config settings (cmake.define.*), so they take effect once a
pyproject.toml with that backend is patched in (patches/aotriton/, not written yet); the CMake
project also needs the tag's git metadata (`git rev-parse HEAD`), which a packed tag lacks: the build gets the
commit it was checked out at as AOTRITON_CI_SUPPLIED_SHA1 (`commit_env`).
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
