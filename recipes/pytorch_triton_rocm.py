"""pytorch-triton-rocm: the Triton build torch's ROCm wheels depend on. PyPI's project stops at
2.1.0; newer versions are published on download.pytorch.org and built from triton-lang/triton at
the commit pinned in torch's .ci/docker/ci_commit_pins/triton.txt (release tags v{version}).
ROCm only (`variants=`): it is the ROCm wheels' Triton (constraints/rocm-7.1.txt: "ROCm wheels: pytorch-triton-rocm");
the PyPI (CUDA) torch requires `triton` (recipes/triton.py)."""

from wheelwright import Recipe, RecipeContext
from wheelwright.recipes import GitSource

recipe = Recipe("pytorch-triton-rocm", source=GitSource(url="https://github.com/triton-lang/triton", tag="v{version}"),
                variants=("rocm",))  # what torch's ROCm wheels depend on; pinned in constraints/rocm-6.4.txt only


@recipe.env("rocm")
def env_rocm(ctx: RecipeContext) -> dict[str, str]:
    # setup.py: name=os.environ.get("TRITON_WHEEL_NAME", "triton"); torch's .github/scripts/build_triton_wheel.py sets
    # "pytorch-triton-rocm" for ROCm. Without it the tag's wheel is named triton, not the project the graph planned.
    return {"TRITON_WHEEL_NAME": "pytorch-triton-rocm"}
