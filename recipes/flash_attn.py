"""flash-attn: FlashAttention 2, built from the PyPI sdist (PyPI has no wheels of it).

Its setup.py first tries to *download* a prebuilt wheel from the GitHub release matching the torch
and CUDA versions (CachedWheelsCommand) and only compiles when that fails;
FLASH_ATTENTION_FORCE_BUILD=TRUE turns the download off. FLASH_ATTENTION_SKIP_CUDA_BUILD must stay
unset: it builds a wheel with no extension at all (meant for `setup.py sdist`).

The kernels exist for a fixed set of archs, not for whatever the variant lists:
- CUDA: FLASH_ATTN_CUDA_ARCHS picks among 80, 90, 100, 120 (2.8.3.post2's setup.py: cuda_archs() defaults to
  "80;90;100;120" and only those four get a -gencode; 100 and 120 need CUDA >= 12.8); sm_86 and sm_89 run the sm_80
  code; sm_75 and older, and sm_110, get nothing.
- ROCm (Composable Kernel backend): GPU_ARCHS must be among gfx90a, gfx942, gfx950 (setup.py
  validate_and_update_archs() asserts it); vLLM's docker/Dockerfile.rocm_base strips gfx1xxx likewise.
So `flash_attn_2_cuda` will never carry code for every arch of these variants; Wheelwright's verify,
which demands all of them, refuses it until it learns per-package arch subsets.

Applies to cuda and rocm only (`variants=`: no sessions or builds for cpu/tpu/gaudi/spyre):
FlashAttention is CUDA/ROCm code only.
"""

from wheelwright import Recipe, RecipeContext

recipe = Recipe("flash-attn", variants=("cuda", "rocm"))  # source=None: the PyPI sdist; CUDA/ROCm code only

#: 2.8.3.post2's setup.py: cuda_archs() default "80;90;100;120", the archs it writes a -gencode for.
CUDA_ARCHS = ("80", "90", "100", "120")
#: setup.py validate_and_update_archs(): allowed_archs besides "native".
ROCM_ARCHS = ("gfx90a", "gfx942", "gfx950")


@recipe.env("cuda")
def env_cuda(ctx: RecipeContext) -> dict[str, str]:
    wanted = [a.removeprefix("sm_").rstrip("af") for a in ctx.variant.archs]
    return {
        "BUILD_TARGET": "cuda",  # setup.py: BUILD_TARGET = os.environ.get("BUILD_TARGET", "auto"); "cuda" skips HIP detection
        "FLASH_ATTENTION_FORCE_BUILD": "TRUE",  # setup.py: FORCE_BUILD = os.getenv("FLASH_ATTENTION_FORCE_BUILD", "FALSE") == "TRUE"; else downloads a wheel
        "FLASH_ATTN_CUDA_ARCHS": ";".join(a for a in CUDA_ARCHS if a in wanted),  # setup.py cuda_archs(): os.getenv("FLASH_ATTN_CUDA_ARCHS", "80;90;100;120")
        "MAX_JOBS": str(ctx.jobs),  # setup.py NinjaBuildExtension: sets MAX_JOBS itself (from free memory) only when unset
        "NVCC_THREADS": "1",  # setup.py: NVCC_THREADS = os.getenv("NVCC_THREADS") or "4" -> nvcc --threads; 1 keeps MAX_JOBS the process count
    }


@recipe.env("rocm")
def env_rocm(ctx: RecipeContext) -> dict[str, str]:
    return {
        "BUILD_TARGET": "rocm",  # setup.py: BUILD_TARGET == "rocm" -> IS_ROCM
        "FLASH_ATTENTION_FORCE_BUILD": "TRUE",  # setup.py: FORCE_BUILD, no prebuilt-wheel download
        "GPU_ARCHS": ";".join(a for a in ctx.variant.archs if a in ROCM_ARCHS),  # setup.py: os.getenv("GPU_ARCHS", "native").split(";") -> --offload-arch
        "MAX_JOBS": str(ctx.jobs),  # setup.py NinjaBuildExtension / torch/utils/cpp_extension.py: ninja jobs
    }


@recipe.kernels("cuda", "rocm")
def kernels(ctx: RecipeContext) -> dict[str, list[str]]:
    # setup.py: CUDAExtension(name="flash_attn_2_cuda", ...) on both backends, for its own arch set only
    # (sm_86/sm_89 run the sm_80 SASS; verify knows that)
    if ctx.variant.name == "cuda":
        # sm_80 and up, but only the majors it compiles: sm_86/sm_89 run sm_80 code, sm_110 has no code at all
        archs = [a for a in ctx.variant.archs if a.removeprefix("sm_").isdigit() and int(a.removeprefix("sm_")) >= 80 and a != "sm_110"]
    else:
        archs = [a for a in ctx.variant.archs if a in ROCM_ARCHS]
    return {"flash_attn_2_cuda*.so": archs}
