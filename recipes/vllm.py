"""vllm: the inference engine, built from the PyPI sdist with its target device named, never guessed.

vLLM's setup.py reads VLLM_TARGET_DEVICE (vllm/envs.py) and, when it is unset on Linux, guesses it
from the torch it finds (torch.version.hip -> rocm, torch.version.cuda -> cuda, else cpu). Each
variant names it instead:

- cpu -> "cpu": the CPU custom ops (vllm/_C with the CPU kernels).
- cuda -> "cuda", rocm -> "rocm": the CMake build of vllm/_C, vllm/_moe_C (and vllm/_rocm_C on ROCm),
  for the variant's archs. Those modules are declared as kernels.
- tpu -> "tpu": setup.py still knows the target (_is_tpu(), requirements/tpu.txt); no C++ is built.
- gaudi -> "empty": Gaudi support is the vllm-gaudi plugin, installed on a device-less vLLM
  (vllm-gaudi README: `VLLM_TARGET_DEVICE=empty pip install --no-build-isolation -e .`); the in-tree
  "hpu" target no longer exists in the pinned releases.
- spyre -> "empty": sendnn-inference (formerly vllm-spyre) builds vLLM the same way (pyproject.toml
  [tool.uv] extra-build-variables = { vllm = { VLLM_TARGET_DEVICE = "empty" } }).

VLLM_VERSION_OVERRIDE keeps the wheel's version the sdist's (setup.py get_vllm_version() otherwise
appends +cu130 / +rocm710 / +cpu / +tpu / +empty). Never set: VLLM_USE_PRECOMPILED (downloads
prebuilt .so files from wheels.vllm.ai). Not set on purpose: the CPU ISA switches of
docker/Dockerfile.cpu (VLLM_CPU_AVX512BF16, VLLM_CPU_DISABLE_AVX512, …), so the CPU build follows
the builder's own CPU features (cmake/cpu_extension.cmake).

Arch-specialized modules (_vllm_fa3_C for sm_90, _flashmla_C for sm_90/sm_100) are declared with
their arch subsets in `kernels`, so verify holds them to what they really build.
"""

from wheelwright import Recipe, RecipeContext
from wheelwright.recipes import cuda_arch_list

recipe = Recipe("vllm")  # source=None: the PyPI sdist


def _common(ctx: RecipeContext, device: str) -> dict[str, str]:
    return {
        "VLLM_TARGET_DEVICE": device,  # vllm/envs.py: "VLLM_TARGET_DEVICE" (installation time); setup.py _is_cuda()/_is_hip()/_is_cpu()/_is_tpu()/_no_device()
        "VLLM_VERSION_OVERRIDE": str(ctx.version),  # setup.py get_vllm_version(): os.getenv("VLLM_VERSION_OVERRIDE") replaces the +<device> suffix
        "MAX_JOBS": str(ctx.jobs),  # vllm/envs.py: "MAX_JOBS" maximum number of compilation jobs; setup.py compute_num_jobs()
    }


@recipe.env("cpu")
def env_cpu(ctx: RecipeContext) -> dict[str, str]:
    return _common(ctx, "cpu")  # docker/Dockerfile.cpu: VLLM_TARGET_DEVICE=cpu python3 setup.py bdist_wheel


@recipe.env("cuda")
def env_cuda(ctx: RecipeContext) -> dict[str, str]:
    return {
        **_common(ctx, "cuda"),
        "TORCH_CUDA_ARCH_LIST": cuda_arch_list(ctx.variant.archs),  # docker/Dockerfile: ENV TORCH_CUDA_ARCH_LIST=${torch_cuda_arch_list}; CMake intersects it with CUDA_SUPPORTED_ARCHS
        "NVCC_THREADS": "1",  # vllm/envs.py: "NVCC_THREADS" (default 1); setup.py divides MAX_JOBS by it
    }


@recipe.env("rocm")
def env_rocm(ctx: RecipeContext) -> dict[str, str]:
    return {
        **_common(ctx, "rocm"),
        "PYTORCH_ROCM_ARCH": ";".join(ctx.variant.archs),  # docs/getting_started/installation/gpu.rocm.inc.md: export PYTORCH_ROCM_ARCH="gfx90a;gfx942"
        "CMAKE_BUILD_TYPE": "Release",  # vllm/envs.py "CMAKE_BUILD_TYPE"; setup.py defaults to RelWithDebInfo, ROCm's release builds use Release
    }


@recipe.env("tpu")
def env_tpu(ctx: RecipeContext) -> dict[str, str]:
    return _common(ctx, "tpu")  # setup.py: _is_tpu() -> VLLM_TARGET_DEVICE == "tpu"; get_requirements() reads requirements/tpu.txt


@recipe.env("gaudi")
def env_gaudi(ctx: RecipeContext) -> dict[str, str]:
    return _common(ctx, "empty")  # vllm-project/vllm-gaudi README.md: VLLM_TARGET_DEVICE=empty pip install --no-build-isolation -e .


@recipe.env("spyre")
def env_spyre(ctx: RecipeContext) -> dict[str, str]:
    return _common(ctx, "empty")  # torch-spyre/sendnn-inference pyproject.toml: extra-build-variables = { vllm = { VLLM_TARGET_DEVICE = "empty" } }


@recipe.kernels("cuda")
def kernels_cuda(ctx: RecipeContext) -> dict[str, list[str]]:
    # module names as PyPI's CUDA wheels have them (`wheelwright recipe check` reads their zip directories): 0.14-0.16
    # vllm/_C.abi3.so and vllm/_moe_C.abi3.so; 0.20 adds _C_stable_libtorch.abi3.so; 0.26 has only the *_stable_libtorch
    # ones; flash-attention lives in vllm/vllm_flash_attn/ (_vllm_fa2_C, _vllm_fa3_C) in every pinned release
    return {
        "vllm/_C*.abi3.so": [], "vllm/_moe_C*.abi3.so": [],  # setup.py: CMakeExtension("vllm._C"/"vllm._moe_C"[_stable_libtorch]), py_limited_api
        "vllm/vllm_flash_attn/_vllm_fa3_C*.so": ["sm_90"],  # cmake/external_projects/vllm_flash_attn.cmake: FA3 is Hopper-only
        "vllm/_flashmla_C*.so": ["sm_90", "sm_100"],  # cmake/external_projects/flashmla.cmake: FlashMLA targets sm90a/sm100a
    }


@recipe.kernels("rocm")
def kernels_rocm(ctx: RecipeContext) -> list[str]:
    return ["vllm/_C.abi3.so", "vllm/_moe_C.abi3.so", "vllm/_rocm_C.abi3.so"]  # setup.py: _is_hip() adds CMakeExtension("vllm._rocm_C")


@recipe.requires("rocm")
def requires_rocm(ctx: RecipeContext) -> list[str]:
    return ["amd-aiter"]  # requirements/rocm.txt and docker/Dockerfile.rocm_base: vLLM's ROCm build runs on AITER


@recipe.drop_requires("rocm", "cpu", "tpu", "gaudi", "spyre")
def drop_requires(ctx: RecipeContext) -> dict[str, str]:
    why = f"PyPI's vllm wheel is the CUDA build: requirements/cuda.txt's CUDA-only packages are not part of the {ctx.variant.name} build"
    return dict.fromkeys(["nvidia-*", "flashinfer-python", "quack-kernels", "cupy-cuda*"], why)
