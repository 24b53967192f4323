"""torchvision: image ops and I/O for torch, built from the pytorch/vision release tag (PyPI has
wheels only).

setup.py compiles the CUDA (or, on a ROCm torch, the hipified) sources only when
`torch.cuda.is_available() ... or FORCE_CUDA`; a builder has no GPU, so without FORCE_CUDA=1 the
wheel silently comes out CPU-only. ROCm is told apart by the torch it builds against
(IS_ROCM = torch.version.hip is not None), and setup.py hipifies ops/cuda itself, so rocm needs no
prepare step. BUILD_VERSION replaces version.txt + "+<git sha>" so the wheel's version is the pin.

cpu, tpu, gaudi and spyre all build against a CPU torch and take the generic function; they get no
function of their own, which would make Wheelwright demand their toolchains for a CPU build.

Image codecs are required, not detected: setup.py (TORCHVISION_USE_PNG/JPEG/WEBP/NVJPEG, default "1") warns and
builds torchvision/image.so without a codec whose header or library it does not find. Each is switched on and
declared in `links`, so an image.so that does not link libpng16, libjpeg, libwebp (and on CUDA libnvjpeg, as
PyPI's torchvision 0.26.0 wheel's image.so does) fails the build naming the library. On ROCm, nvJPEG is off (TheRock)
and so is rocJPEG: the pinned tags' support for it was not read here (pytorch/vision is out of reach), so it is
not claimed.
"""

from wheelwright import Recipe, RecipeContext
from wheelwright.recipes import cuda_arch_list, GitSource

recipe = Recipe("torchvision", source=GitSource(url="https://github.com/pytorch/vision", tag="v{version}"))


def _common(ctx: RecipeContext) -> dict[str, str]:
    return {
        "BUILD_VERSION": str(ctx.version),  # setup.py get_version(): os.getenv("BUILD_VERSION") replaces version.txt + "+<sha>"
        "MAX_JOBS": str(ctx.jobs),  # torch/utils/cpp_extension.py: MAX_JOBS caps the ninja jobs of BuildExtension
        "TORCHVISION_USE_PNG": "1",  # setup.py: USE_PNG = os.getenv("TORCHVISION_USE_PNG", "1") == "1" (found through libpng-config)
        "TORCHVISION_USE_JPEG": "1",  # setup.py: USE_JPEG (jpeglib.h in TORCHVISION_INCLUDE or /usr/include)
        "TORCHVISION_USE_WEBP": "1",  # setup.py: USE_WEBP (webp/decode.h)
    }


CODECS = ["libpng16.so*", "libjpeg.so*", "libwebp.so*"]  # PyPI's 0.26.0 wheel: image.so NEEDED libpng16, libjpeg, libwebp (grafted)


@recipe.links()
def links(ctx: RecipeContext) -> dict[str, list[str]]:
    return {"torchvision/image.so": CODECS}


@recipe.links("cuda")
def links_cuda(ctx: RecipeContext) -> dict[str, list[str]]:
    return {"torchvision/image.so": [*CODECS, "libnvjpeg.so*"]}  # the wheel's image.so also links libnvjpeg.so.13


@recipe.env()
def env(ctx: RecipeContext) -> dict[str, str]:
    return {
        **_common(ctx),
        "FORCE_CUDA": "0",  # setup.py: FORCE_CUDA = os.getenv("FORCE_CUDA", "0") == "1"; CPU-only extension
    }


@recipe.env("cuda")
def env_cuda(ctx: RecipeContext) -> dict[str, str]:
    return {
        **_common(ctx),
        "FORCE_CUDA": "1",  # setup.py: BUILD_CUDA_SOURCES = (torch.cuda.is_available() and ...) or FORCE_CUDA
        "TORCHVISION_USE_NVJPEG": "1",  # setup.py: USE_NVJPEG needs CUDA_HOME/include/nvjpeg.h and FORCE_CUDA without a GPU
        "TORCH_CUDA_ARCH_LIST": cuda_arch_list(ctx.variant.archs),  # torch/utils/cpp_extension.py _get_cuda_arch_flags(): one -gencode per arch
    }


@recipe.env("rocm")
def env_rocm(ctx: RecipeContext) -> dict[str, str]:
    return {
        **_common(ctx),
        "FORCE_CUDA": "1",  # setup.py: BUILD_CUDA_SOURCES also gates the hipified sources (IS_ROCM); ROCm/TheRock build_prod_wheels.py sets it
        "PYTORCH_ROCM_ARCH": ";".join(ctx.variant.archs),  # torch/utils/cpp_extension.py _get_rocm_arch_flags(): --offload-arch per target
        "TORCHVISION_USE_NVJPEG": "0",  # setup.py: USE_NVJPEG = os.getenv("TORCHVISION_USE_NVJPEG", "1") == "1"; TheRock build_prod_wheels.py sets 0 on ROCm
        "TORCHVISION_USE_ROCJPEG": "0",  # setup.py (newer tags): USE_ROCJPEG default "1"; off by decision until the pinned tags are read
    }


@recipe.kernels("cuda", "rocm")
def kernels(ctx: RecipeContext) -> list[str]:
    return ["torchvision/_C*.so"]  # setup.py make_C_extension(): CUDAExtension("torchvision._C") carries the ops/cuda (ops/hip) kernels
