"""xformers: memory-efficient attention kernels, built from the PyPI sdist.

This is the article's failure. xformers' setup.py compiles GPU code only when it believes a GPU
toolchain is wanted, and otherwise builds a CPU-only `xformers/_C.so` *without an error*:

- CUDA branch: `torch.cuda.is_available() ... or FORCE_CUDA == "1" or TORCH_CUDA_ARCH_LIST != ""`;
  a builder has no GPU, so FORCE_CUDA and the arch list are what turn kernels on.
- ROCm branch: `torch.version.hip and XFORMERS_CK_FLASH_ATTN == "1" and (torch.cuda.is_available()
  or HIP_ARCHITECTURES != "")`; with no GPU and no HIP_ARCHITECTURES the HIP kernels are skipped
  silently. That is how a ROCm wheel once shipped with no HIP code at all.

Both variants therefore set their switches explicitly, and declare `xformers/_C.so` as a module that
must carry code for every arch of the variant, so a wheel that skipped compilation is refused.
Other variants are not built at all (`variants=`): xformers is in no cpu/tpu/gaudi/spyre constraints
file, and there it could only be the silent CPU-only build described above.

Unverified: a downstream spec for xformers 0.0.35 notes that the PyPI sdist omits
third_party/composable_kernel_tiled, which the ROCm branch compiles against; if so, the rocm build
of the sdist fails (loudly) until the tree is patched in.
"""

from wheelwright import Recipe, RecipeContext
from wheelwright.recipes import cuda_arch_list

recipe = Recipe("xformers", variants=("cuda", "rocm"))  # source=None: the PyPI sdist; elsewhere it would be the silent CPU-only _C.so


@recipe.env("cuda")
def env_cuda(ctx: RecipeContext) -> dict[str, str]:
    return {
        "FORCE_CUDA": "1",  # setup.py get_extensions(): os.getenv("FORCE_CUDA", "0") == "1" selects CUDAExtension without a GPU
        "TORCH_CUDA_ARCH_LIST": cuda_arch_list(ctx.variant.archs),  # setup.py: flash-attention arch flags; torch/utils/cpp_extension.py: -gencode per arch
        "MAX_JOBS": str(ctx.jobs),  # torch/utils/cpp_extension.py: MAX_JOBS caps the ninja jobs of BuildExtension
        "XFORMERS_BUILD_TYPE": "Release",  # setup.py get_extra_nvcc_flags_for_build_type(); release wheels report build.env.XFORMERS_BUILD_TYPE: Release
    }


@recipe.env("rocm")
def env_rocm(ctx: RecipeContext) -> dict[str, str]:
    return {
        "HIP_ARCHITECTURES": " ".join(ctx.variant.archs),  # setup.py: os.getenv("HIP_ARCHITECTURES", "native").split() -> --offload-arch; non-empty enables HIP without a GPU
        "PYTORCH_ROCM_ARCH": ";".join(ctx.variant.archs),  # torch/utils/cpp_extension.py _get_rocm_arch_flags(): --offload-arch for hipcc
        "XFORMERS_CK_FLASH_ATTN": "1",  # setup.py: os.getenv("XFORMERS_CK_FLASH_ATTN", "1") == "1" gates the CK (HIP) kernels
        "FORCE_CUDA": "0",  # setup.py: FORCE_CUDA == "1" would take the CUDA branch (nvcc) even with a ROCm torch
        "MAX_JOBS": str(ctx.jobs),  # torch/utils/cpp_extension.py: MAX_JOBS caps the ninja jobs of BuildExtension
        "XFORMERS_BUILD_TYPE": "Release",  # setup.py get_extra_nvcc_flags_for_build_type(); recorded in xformers/cpp_lib.json like release wheels
    }


@recipe.build_requires("cuda", "rocm")
def build_requires(ctx: RecipeContext) -> list[str]:
    # setup.py (0.0.35): `from wheel.bdist_wheel import bdist_wheel`, else None, and its bdist_wheel_abi_none (the
    # py39-none tag) derives from it: without `wheel` the build fails. pyproject.toml lists only setuptools and torch,
    # and setuptools >= 70.1 no longer asks for wheel in get_requires_for_build_wheel.
    return ["wheel"]


@recipe.kernels("cuda", "rocm")
def kernels(ctx: RecipeContext) -> list[str]:
    # setup.py (0.0.35) get_extensions(): one extension, "xformers._C" (no_python_abi_suffix: xformers/_C.so), whose
    # CUDA sources are xformers/csrc/**/*.cu (sparse24, swiglu; attention calls torch's own CUTLASS kernels when
    # attn_compat says torch has them). No FlashAttention-3 extension is built any more.
    return ["xformers/_C.so"]
