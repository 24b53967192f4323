"""amd-aiter: ROCm's AI Tensor Engine. Published as `amd-aiter`; upstream and older pins call it
`aiter`, while the PyPI project named `aiter` is an unrelated asyncio helper (2019). PyPI stops at
0.1.7.post2.dev18, so released versions come from ROCm/aiter's tags (vLLM's Dockerfile.rocm_base
builds AITER_BRANCH=v0.1.10.post2 for the rocm-7.1 stack).

ROCm only (setup.py: `raise NotImplementedError("Only ROCM is supported")`), so the recipe applies
to rocm alone (`variants=`: no sessions or builds for the others) and no other variant gets a hook. Built the way vLLM's docker/Dockerfile.rocm_base builds it:
`PREBUILD_KERNELS=1 GPU_ARCHS=${AITER_ROCM_ARCH} python3 setup.py bdist_wheel` with
AITER_ROCM_ARCH=gfx942;gfx950. Without PREBUILD_KERNELS the wheel ships sources only and compiles
its kernels on the user's machine at first use (aiter/jit/core.py).

AITER's kernels exist for CDNA3/CDNA4 only, so GPU_ARCHS is the variant's archs narrowed to
gfx942/gfx950; the rest of the variant (gfx90a, RDNA) gets no aiter kernels, which is why its
`kernels` hook narrows verify to those two archs: Wheelwright's verify otherwise demands every variant arch of every GPU
module, which aiter cannot meet by design.

The tag needs its submodules (3rdparty/composable_kernel: setup.py asserts CK is there).

torch must be in the build environment: setup.py (v0.1.10.post2, lines 145-155) prebuilds the kernels only when
`import torch` works, and otherwise prints a line and skips PREBUILD_KERNELS silently, so the wheel would compile
every kernel on first use. pyproject.toml does not list torch, hence `build_requires`. The prebuilt modules land in
aiter/jit/*.so (unless AITER_JIT_DIR moves them out of the wheel: never set here), and those are declared as the
kernels; the hand-written code objects under aiter_meta/hsa/<arch>/ ship in the tag whatever GPU_ARCHS says, and
`ships` requires them for the archs built.
"""

from wheelwright import Recipe, RecipeContext
from wheelwright.recipes import GitSource

recipe = Recipe(
    "amd-aiter",
    source=GitSource(url="https://github.com/ROCm/aiter", tag="v{version}"),
    renamed_from=("aiter",),
    variants=("rocm",),  # setup.py: raise NotImplementedError("Only ROCM is supported")
)

#: The archs AITER builds for (vLLM docker/Dockerfile.rocm_base: ENV AITER_ROCM_ARCH=gfx942;gfx950).
AITER_ARCHS = ("gfx942", "gfx950")


@recipe.env("rocm")
def env_rocm(ctx: RecipeContext) -> dict[str, str]:
    return {
        "BUILD_TARGET": "rocm",  # setup.py: BUILD_TARGET = os.environ.get("BUILD_TARGET", "auto"); "rocm" skips autodetection
        "PREBUILD_KERNELS": "1",  # setup.py: PREBUILD_KERNELS = int(os.environ.get("PREBUILD_KERNELS", "0")); vLLM docker/Dockerfile.rocm_base uses 1
        "GPU_ARCHS": ";".join(_archs(ctx)),  # aiter/jit/utils/chip_info.py: os.getenv("GPU_ARCHS", "native"), ';'-separated
        "MAX_JOBS": str(ctx.jobs),  # setup.py: NinjaBuildExtension.run() and the prebuild thread count read MAX_JOBS
    }


def _archs(ctx: RecipeContext) -> list[str]:
    return [a for a in ctx.variant.archs if a in AITER_ARCHS]


@recipe.build_requires("rocm")
def build_requires_rocm(ctx: RecipeContext) -> list[str]:
    return ["torch"]  # setup.py: without `import torch`, PREBUILD_KERNELS is skipped with a print, not an error


@recipe.kernels("rocm")
def kernels(ctx: RecipeContext) -> dict[str, list[str]]:
    return {"aiter/jit/*.so": _archs(ctx)}  # the PREBUILD_KERNELS modules, for the CDNA3/CDNA4 archs it is built for


@recipe.ships("rocm")
def ships(ctx: RecipeContext) -> list[str]:
    return [f"aiter_meta/hsa/{arch}/*" for arch in _archs(ctx)]  # the asm kernels' code objects (aiter_meta/hsa/gfx942/**.co)
