"""pytorch-triton-rocm: the Triton build torch's ROCm wheels depend on. PyPI's project stops at
2.1.0; newer versions are published on download.pytorch.org and built from triton-lang/triton at
the commit pinned in torch's .ci/docker/ci_commit_pins/triton.txt (release tags v{version}).
ROCm only (`variants=`): it is the ROCm wheels' Triton (constraints/rocm-7.1.txt: "ROCm wheels: pytorch-triton-rocm");
the PyPI (CUDA) torch requires `triton` (recipes/triton.py).

The same source as recipes/triton.py, built the same way offline (TRITON_OFFLINE_BUILD: LLVM, nlohmann-json from the
builder, nothing downloaded mid-build), under the name torch's ROCm wheels require."""

from wheelwright import Recipe, RecipeContext
from wheelwright.recipes import GitSource

recipe = Recipe("pytorch-triton-rocm", source=GitSource(url="https://github.com/triton-lang/triton", tag="v{version}"),
                variants=("rocm",))  # what torch's ROCm wheels depend on; pinned in constraints/rocm-6.4.txt only


#: As recipes/triton.py: an LLVM+MLIR install of the tag's cmake/llvm-hash.txt commit, and nlohmann-json, in the builder.
LLVM_PREFIX = "/opt/triton-llvm"
JSON_PREFIX = "/usr"


@recipe.env("rocm")
def env_rocm(ctx: RecipeContext) -> dict[str, str]:
    return {
        # setup.py: name=os.environ.get("TRITON_WHEEL_NAME", "triton"); torch's .github/scripts/build_triton_wheel.py sets
        # "pytorch-triton-rocm" for ROCm. Without it the tag's wheel is named triton, not the project the graph planned.
        "TRITON_WHEEL_NAME": "pytorch-triton-rocm",  # setup.py; .github/scripts/build_triton_wheel.py
        "TRITON_OFFLINE_BUILD": "1",  # setup.py is_offline_build(): no downloads; each Package needs its syspath_var_name
        "LLVM_SYSPATH": ctx.variant.env.get("LLVM_SYSPATH", LLVM_PREFIX),  # setup.py get_llvm_package_info()
        "JSON_SYSPATH": ctx.variant.env.get("JSON_SYSPATH", JSON_PREFIX),  # setup.py get_json_package_info()
        "TRITON_BUILD_PROTON": "OFF",  # conda-forge triton-feedstock recipe/build.sh: proton expects CUDA/CUPTI headers, off for ROCm
        "MAX_JOBS": str(ctx.jobs),  # setup.py CMakeBuild.build_extension(): -j from MAX_JOBS
    }
