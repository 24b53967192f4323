"""torchaudio: audio ops for torch, built from the pytorch/audio release tag (PyPI has wheels only).

The pinned releases (2.9-2.11) build one torch C++ extension (tools/setup_helpers/extension.py);
sox, ffmpeg and kaldi are gone, so BUILD_SOX/USE_FFMPEG no longer exist. Its switches default to what
the installed torch was built with (`torch.backends.cuda.is_built()`), which is set explicitly here:

- cuda: USE_CUDA=1 adds the .cu sources (iir, rnnt, forced_align) and the CUDA CTC decoder,
  compiled for TORCH_CUDA_ARCH_LIST; libtorchaudio is declared as a kernel-carrying module.
- rocm: USE_ROCM=1, USE_CUDA=0, as ROCm's own wheel build does (TheRock build_prod_wheels.py). In
  these releases get_ext_modules() adds GPU sources only under USE_CUDA, so the ROCm wheel carries
  no HIP code and declares no kernels.
- cpu, tpu, gaudi, spyre: the generic CPU build (vllm-gaudi's README installs the CPU torchaudio).

BUILD_VERSION replaces version.txt + "+<git sha>" so the wheel's version is the pin.
"""

from wheelwright import Recipe, RecipeContext
from wheelwright.recipes import cuda_arch_list, GitSource

recipe = Recipe("torchaudio", source=GitSource(url="https://github.com/pytorch/audio", tag="v{version}"))


def _common(ctx: RecipeContext) -> dict[str, str]:
    return {
        "BUILD_VERSION": str(ctx.version),  # setup.py _get_version(): os.getenv("BUILD_VERSION") replaces version.txt + "+<sha>"
        "MAX_JOBS": str(ctx.jobs),  # torch/utils/cpp_extension.py: MAX_JOBS caps the ninja jobs of BuildExtension
    }


@recipe.env()
def env(ctx: RecipeContext) -> dict[str, str]:
    return {
        **_common(ctx),
        "USE_CUDA": "0",  # tools/setup_helpers/extension.py: _USE_CUDA = _get_build("USE_CUDA", torch.backends.cuda.is_built() ...)
        "USE_ROCM": "0",  # tools/setup_helpers/extension.py: _USE_ROCM = _get_build("USE_ROCM", ...)
    }


@recipe.env("cuda")
def env_cuda(ctx: RecipeContext) -> dict[str, str]:
    return {
        **_common(ctx),
        "USE_CUDA": "1",  # tools/setup_helpers/extension.py: _USE_CUDA -> CUDAExtension with the .cu sources
        "USE_ROCM": "0",  # tools/setup_helpers/extension.py: _USE_ROCM
        "BUILD_CUDA_CTC_DECODER": "1",  # tools/setup_helpers/extension.py: _get_build("BUILD_CUDA_CTC_DECODER", _USE_CUDA)
        "TORCH_CUDA_ARCH_LIST": cuda_arch_list(ctx.variant.archs),  # tools/setup_helpers/extension.py reads it; torch/utils/cpp_extension.py emits -gencode
    }


@recipe.env("rocm")
def env_rocm(ctx: RecipeContext) -> dict[str, str]:
    return {
        **_common(ctx),
        "USE_ROCM": "1",  # ROCm/TheRock external-builds/pytorch/build_prod_wheels.py do_build_pytorch_audio(): USE_ROCM=1
        "USE_CUDA": "0",  # same: USE_CUDA=0 (nvcc sources would not build against a HIP torch)
    }


@recipe.kernels("cuda")
def kernels_cuda(ctx: RecipeContext) -> list[str]:
    return ["torchaudio/lib/libtorchaudio*.so"]  # tools/setup_helpers/extension.py: extension "torchaudio.lib.libtorchaudio" holds the .cu kernels
