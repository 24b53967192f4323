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

FlashAttention-3 (0.0.33.post2 and 0.0.34: extension xformers.flash_attn_3._C, Hopper and Ampere only): its wgmma
kernels need the arch-specific target sm_90a; from a plain "9.0" in TORCH_CUDA_ARCH_LIST nvcc emits sm_90 code in
which they compile to traps, and setup.py does not add the "a" itself (it picks "8.0 9.0a" only when the variable is
unset, by asking the GPU). Upstream's wheels_build.yml builds with "... 8.0 9.0a". So sm_90 becomes 9.0a, and verify
demands sm_90a SASS in flash_attn_3/_C.so. 0.0.35 no longer builds FA3 (it loads the flash_attn_3 package instead).

ROCm: the sdists lack third_party/composable_kernel_tiled (a git submodule the HIP sources include), so the rocm
build takes the git tag with its submodules (`sources=`); HIP_ARCHITECTURES is what upstream builds ROCm wheels for
(wheels_build.yml: 'gfx90a gfx942'), narrowed to the variant's archs, and verify holds the kernels to those.
"""

from packaging.version import Version

from wheelwright import Recipe, RecipeContext
from wheelwright.recipes import GitSource, cuda_arch_list

recipe = Recipe("xformers", variants=("cuda", "rocm"),  # the PyPI sdist on cuda; elsewhere it would be the silent CPU-only _C.so
                sources={"rocm": GitSource(url="https://github.com/facebookresearch/xformers", tag="v{version}")})

#: .github/workflows/wheels_build.yml: HIP_ARCHITECTURES 'gfx90a gfx942' (identical at v0.0.33.post2, v0.0.34, v0.0.35).
ROCM_ARCHS = ("gfx90a", "gfx942")
#: setup.py get_flash_attention3_extensions(): FA3 compiles for 8.0 and 9.0a, other entries of the list are dropped.
FA3_ARCHS = ("sm_80", "sm_90a")


def _has_fa3(ctx: RecipeContext) -> bool:
    return ctx.version < Version("0.0.35")  # 0.0.35's setup.py has no FA3 extension any more


def _rocm_archs(ctx: RecipeContext) -> list[str]:
    return [a for a in ctx.variant.archs if a in ROCM_ARCHS]


@recipe.env("cuda")
def env_cuda(ctx: RecipeContext) -> dict[str, str]:
    return {
        "FORCE_CUDA": "1",  # setup.py get_extensions(): os.getenv("FORCE_CUDA", "0") == "1" selects CUDAExtension without a GPU
        # setup.py: FA3 arch flags come from this list as written ("9.0a" needed); torch/utils/cpp_extension.py: -gencode per arch
        "TORCH_CUDA_ARCH_LIST": cuda_arch_list(tuple("sm_90a" if a == "sm_90" and _has_fa3(ctx) else a for a in ctx.variant.archs)),  # wheels_build.yml
        "MAX_JOBS": str(ctx.jobs),  # torch/utils/cpp_extension.py: MAX_JOBS caps the ninja jobs of BuildExtension
        "XFORMERS_BUILD_TYPE": "Release",  # setup.py get_extra_nvcc_flags_for_build_type(); release wheels report build.env.XFORMERS_BUILD_TYPE: Release
    }


@recipe.env("rocm")
def env_rocm(ctx: RecipeContext) -> dict[str, str]:
    return {
        "HIP_ARCHITECTURES": " ".join(_rocm_archs(ctx)),  # setup.py: os.getenv("HIP_ARCHITECTURES", "native").split() -> --offload-arch; non-empty enables HIP without a GPU
        "PYTORCH_ROCM_ARCH": ";".join(_rocm_archs(ctx)),  # torch/utils/cpp_extension.py _get_rocm_arch_flags() adds --offload-arch per entry: the same archs
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


@recipe.kernels("cuda")
def kernels_cuda(ctx: RecipeContext) -> dict[str, list[str]]:
    # setup.py get_extensions(): "xformers._C" (no_python_abi_suffix: xformers/_C.so) for every arch; up to 0.0.34 also
    # "xformers.flash_attn_3._C" (PyPI's 0.0.33.post2 and 0.0.34 wheels: xformers/flash_attn_3/_C.so, 355 MB)
    modules: dict[str, list[str]] = {"xformers/_C.so": []}
    if _has_fa3(ctx):
        modules["xformers/flash_attn_3/_C.so"] = list(FA3_ARCHS)
    return modules


@recipe.kernels("rocm")
def kernels_rocm(ctx: RecipeContext) -> dict[str, list[str]]:
    return {"xformers/_C.so": _rocm_archs(ctx)}  # the CK kernels, for the archs HIP_ARCHITECTURES names
