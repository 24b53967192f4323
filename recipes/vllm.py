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

CMake's downloads: at configure time vLLM's CMake clones cutlass, vllm-flash-attn, FlashMLA, qutlass, triton (for
triton_kernels) and, from 0.26, DeepGEMM, MSA (fmha_sm100) and tml-fa4 (FlashKDA in 0.28), every one of them on
CUDA whatever the archs; triton alone on ROCm; oneDNN on CPU. In the build's network jail that fails. Each is an
extra source below, at the commit (or tag) the sdist's CMake files name, fetched and verified before the build, and
passed through the variable the CMake reads instead of cloning (read from the sdists of each version: CMakeLists.txt
and cmake/external_projects/*.cmake; the variables are read from $ENV, TRITON_KERNELS_SRC_DIR from $ENV only).
A version missing from the table is refused rather than left to fail in the jail.

Known hazard, unverifiable here (no CUDA build of vllm fits this machine): in 0.26/0.28, with VLLM_FLASH_ATTN_SRC_DIR
set, vllm_flash_attn.cmake installs vllm/vllm_flash_attn/cute as a symlink to the source tree instead of a copy.
"""

from wheelwright import Recipe, RecipeContext
from wheelwright.errors import ConfigError
from wheelwright.recipes import ExtraSource, cuda_arch_list

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
    # setup.py (0.16-0.19): CMakeExtension vllm._C, vllm._moe_C, vllm._rocm_C; 0.26/0.28 add vllm._C_stable_libtorch and rename
    # vllm._moe_C to vllm._moe_C_stable_libtorch; all py_limited_api (abi3). PyPI has no ROCm wheel to read them from.
    return ["vllm/_C*.abi3.so", "vllm/_moe_C*.abi3.so", "vllm/_rocm_C.abi3.so"]


@recipe.requires("rocm")
def requires_rocm(ctx: RecipeContext) -> list[str]:
    return ["amd-aiter"]  # requirements/rocm.txt and docker/Dockerfile.rocm_base: vLLM's ROCm build runs on AITER


@recipe.drop_requires("rocm", "cpu", "tpu", "gaudi", "spyre")
def drop_requires(ctx: RecipeContext) -> dict[str, str]:
    why = f"PyPI's vllm wheel is the CUDA build: requirements/cuda.txt's CUDA-only packages are not part of the {ctx.variant.name} build"
    return dict.fromkeys(["nvidia-*", "flashinfer-python", "quack-kernels", "cupy-cuda*"], why)


_GH = "https://github.com/"


def _cutlass(ref: str, commit: str) -> ExtraSource:
    return ExtraSource(name="cutlass", url=_GH + "nvidia/cutlass.git", ref=ref, commit=commit, env=("VLLM_CUTLASS_SRC_DIR",))


def _git(name: str, repo: str, commit: str, variable: str) -> ExtraSource:
    return ExtraSource(name=name, url=_GH + repo, commit=commit, env=(variable,))


def _triton_kernels(ref: str, repo: str = "triton-lang/triton.git", commit: str | None = None) -> ExtraSource:
    # cmake/external_projects/triton_kernels.cmake: TRITON_KERNELS_SRC_DIR ($ENV only) is the package directory itself
    return ExtraSource(name="triton", url=_GH + repo, ref=None if commit else ref, commit=commit, env=("TRITON_KERNELS_SRC_DIR",),
                       subdir="python/triton_kernels/triton_kernels")


_QUTLASS_0_16 = "830d2c4537c7396e14a02a46fbddd18b5d107c65"  # cmake/external_projects/qutlass.cmake GIT_TAG, 0.16.0-0.26.0

#: vllm version -> what its CMake clones on CUDA (CMakeLists.txt CUTLASS_REVISION; cmake/external_projects/*.cmake GIT_TAG).
CUDA_DOWNLOADS: dict[str, tuple[ExtraSource, ...]] = {
    "0.16.0": (_cutlass("v4.2.1", "f3fde58372d33e9a5650ba7b80fc48b3b49d40c8"),  # CMakeLists.txt CUTLASS_REVISION; external_projects/*.cmake GIT_TAG
               _git("vllm-flash-attn", "vllm-project/flash-attention.git", "188be16520ceefdc625fdf71365585d2ee348fe2", "VLLM_FLASH_ATTN_SRC_DIR"),
               _git("flashmla", "vllm-project/FlashMLA", "c2afa9cb93e674d5a9120a170a6da57b89267208", "FLASH_MLA_SRC_DIR"),
               _git("qutlass", "IST-DASLab/qutlass.git", _QUTLASS_0_16, "QUTLASS_SRC_DIR"),
               _triton_kernels("v3.5.0")),
    "0.18.1": (_cutlass("v4.2.1", "f3fde58372d33e9a5650ba7b80fc48b3b49d40c8"),  # CMakeLists.txt CUTLASS_REVISION; external_projects/*.cmake GIT_TAG
               _git("vllm-flash-attn", "vllm-project/flash-attention.git", "1488682bb545f7d020e958a33116b1419d1cfc83", "VLLM_FLASH_ATTN_SRC_DIR"),
               _git("flashmla", "vllm-project/FlashMLA", "692917b1cda61b93ac9ee2d846ec54e75afe87b1", "FLASH_MLA_SRC_DIR"),
               _git("qutlass", "IST-DASLab/qutlass.git", _QUTLASS_0_16, "QUTLASS_SRC_DIR"),
               _triton_kernels("v3.6.0")),
    "0.19.1": (_cutlass("v4.2.1", "f3fde58372d33e9a5650ba7b80fc48b3b49d40c8"),  # CMakeLists.txt CUTLASS_REVISION; external_projects/*.cmake GIT_TAG
               _git("vllm-flash-attn", "vllm-project/flash-attention.git", "29210221863736a08f71a866459e368ad1ac4a95", "VLLM_FLASH_ATTN_SRC_DIR"),
               _git("flashmla", "vllm-project/FlashMLA", "692917b1cda61b93ac9ee2d846ec54e75afe87b1", "FLASH_MLA_SRC_DIR"),
               _git("qutlass", "IST-DASLab/qutlass.git", _QUTLASS_0_16, "QUTLASS_SRC_DIR"),
               _triton_kernels("v3.6.0")),
    "0.26.0": (_cutlass("v4.4.2", "da5e086dab31d63815acafdac9a9c5893b1c69e2"),  # CMakeLists.txt CUTLASS_REVISION; external_projects/*.cmake GIT_TAG
               _git("vllm-flash-attn", "vllm-project/flash-attention.git", "caaa4eb59845388a20b1f435ecaafb4bd9517ad8", "VLLM_FLASH_ATTN_SRC_DIR"),
               _git("flashmla", "vllm-project/FlashMLA", "a8f794d1251cbfd88a5011445dd5582289c727e4", "FLASH_MLA_SRC_DIR"),
               _git("qutlass", "IST-DASLab/qutlass.git", _QUTLASS_0_16, "QUTLASS_SRC_DIR"),
               _git("deepgemm", "deepseek-ai/DeepGEMM.git", "a6b593d2826719dcf4892609af7b84ee23aaf32a", "DEEPGEMM_SRC_DIR"),
               _git("fmha-sm100", "vllm-project/MSA.git", "2e63ec37a0fc29bc20f39cd1a52e0f5affc33a73", "FMHA_SM100_SRC_DIR"),
               _git("tml-fa4", "vllm-project/tml-fa4.git", "b206834606ed5b5f21f8eed6b0683f528ea9cf7d", "TML_FA4_SRC_DIR"),
               _triton_kernels("v3.5.1")),
    "0.28.0": (_cutlass("v4.4.2", "da5e086dab31d63815acafdac9a9c5893b1c69e2"),  # CMakeLists.txt CUTLASS_REVISION; external_projects/*.cmake GIT_TAG
               _git("vllm-flash-attn", "vllm-project/flash-attention.git", "f3e1a4f74c99145c0717709860bf765de1703779", "VLLM_FLASH_ATTN_SRC_DIR"),
               _git("flashmla", "vllm-project/FlashMLA", "a8f794d1251cbfd88a5011445dd5582289c727e4", "FLASH_MLA_SRC_DIR"),
               _git("qutlass", "IST-DASLab/qutlass.git", "e74319e3405ce6d71965732880f5dc1f52371f64", "QUTLASS_SRC_DIR"),
               _git("deepgemm", "deepseek-ai/DeepGEMM.git", "8b1392b978f5a03c828dd1711090d7fb50958b8a", "DEEPGEMM_SRC_DIR"),
               _git("fmha-sm100", "vllm-project/MSA.git", "087c161814d4d9c735b46c21212a09e5f8eb92fa", "FMHA_SM100_SRC_DIR"),
               _git("tml-fa4", "vllm-project/tml-fa4.git", "b206834606ed5b5f21f8eed6b0683f528ea9cf7d", "TML_FA4_SRC_DIR"),
               _git("flashkda", "vllm-project/FlashKDA.git", "053de1b716ef3255873e02d2d28f4adf09951978", "FLASH_KDA_SRC_DIR"),
               _triton_kernels("v3.5.1")),
}

#: On ROCm the CMake clones triton alone (0.28: ROCm/triton, "Pinned from release/internal/3.6.x").
ROCM_DOWNLOADS: dict[str, tuple[ExtraSource, ...]] = {
    "0.16.0": (_triton_kernels("v3.5.0"),),  # triton_kernels.cmake: DEFAULT_TRITON_KERNELS_TAG
    "0.18.1": (_triton_kernels("v3.6.0"),),  # triton_kernels.cmake: DEFAULT_TRITON_KERNELS_TAG
    "0.19.1": (_triton_kernels("v3.6.0"),),  # triton_kernels.cmake: DEFAULT_TRITON_KERNELS_TAG
    "0.26.0": (_triton_kernels("v3.5.1"),),  # triton_kernels.cmake: DEFAULT_TRITON_KERNELS_TAG
    "0.28.0": (_triton_kernels("", "ROCm/triton.git", "0f380657dbf3ee86eb57558ff71df24f03b5d4e7"),),  # triton_kernels.cmake, rocm branch
}

#: On x86_64 CPUs, cmake/cpu_extension.cmake clones oneDNN (FETCHCONTENT_SOURCE_DIR_ONEDNN, read from $ENV, skips it).
CPU_DOWNLOADS: dict[str, tuple[ExtraSource, ...]] = {
    version: (ExtraSource(name="onednn", url=_GH + "oneapi-src/oneDNN.git", ref=tag, env=("FETCHCONTENT_SOURCE_DIR_ONEDNN",)),)
    for version, tag in {"0.16.0": "v3.10", "0.18.1": "v3.10", "0.19.1": "v3.10", "0.26.0": "v3.10", "0.28.0": "v3.13"}.items()
}


def _downloads(table: dict[str, tuple[ExtraSource, ...]], ctx: RecipeContext) -> tuple[ExtraSource, ...]:
    if str(ctx.version) not in table:
        raise ConfigError(f"vllm {ctx.version} on {ctx.variant.label}: recipes/vllm.py does not know what its CMake downloads "
                          f"(known: {', '.join(table)}); add them from its cmake/external_projects/*.cmake")
    return table[str(ctx.version)]


@recipe.extra_sources("cuda")
def extra_sources_cuda(ctx: RecipeContext) -> tuple[ExtraSource, ...]:
    return _downloads(CUDA_DOWNLOADS, ctx)


@recipe.extra_sources("rocm")
def extra_sources_rocm(ctx: RecipeContext) -> tuple[ExtraSource, ...]:
    return _downloads(ROCM_DOWNLOADS, ctx)


@recipe.extra_sources("cpu")
def extra_sources_cpu(ctx: RecipeContext) -> tuple[ExtraSource, ...]:
    return _downloads(CPU_DOWNLOADS, ctx)
