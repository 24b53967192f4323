"""torch-scatter: PyG's scatter/segment CUDA kernels, built from the PyPI sdist (2.1.2).

Read from the 2.1.2 sdist's setup.py:

- it declares no build-system and imports torch at the top, so torch must already be in the build
  environment (`build_requires`); pip's fallback backend (setuptools' legacy build_meta) runs it;
- `WITH_CUDA` is true only when `torch.cuda.is_available()`, i.e. when a GPU is visible, and otherwise
  the extensions are CPU-only *without an error*; `FORCE_CUDA=1` is what turns the CUDA extensions on
  on a build machine (suffixes `['cuda', 'cpu']`);
- every `csrc/*.cpp` becomes `torch_scatter._<name>_<suffix>`; the ones with a `csrc/cuda/<name>_cuda.cu`
  are `_scatter_cuda`, `_segment_csr_cuda` and `_segment_coo_cuda` (`_version_cuda` has no device code);
  `BuildExtension.with_options(no_python_abi_suffix=True)` names them `_scatter_cuda.so`, not
  `_scatter_cuda.cpython-312-…so`;
- the arch list comes from torch's `TORCH_CUDA_ARCH_LIST` (torch/utils/cpp_extension.py
  `_get_cuda_arch_flags`); nvcc flags from `NVCC_FLAGS`; `use_ninja=False`, so MAX_JOBS is not read.

The toolkit root (CUDA_HOME, which torch otherwise guesses from where `nvcc` sits) comes from the
variant's toolchain probe, and the headers of torch's nvidia-* wheels from the variant's
`build_env_paths` (variants.toml), not from here: every torch extension needs them the same way.
"""

from wheelwright import Recipe, RecipeContext
from wheelwright.recipes import cuda_arch_list

recipe = Recipe("torch-scatter", variants=("cuda",))  # other variants would build the CPU-only extensions described above


@recipe.build_requires("cuda")
def build_requires(ctx: RecipeContext) -> list[str]:
    return ["torch"]  # setup.py line 8: `import torch`; the version is the variant's torch pin (constraints/cuda-*.txt)


@recipe.requires("cuda")
def requires(ctx: RecipeContext) -> list[str]:
    # setup.py: install_requires = []; yet every module needs libc10.so and libtorch*.so, and the _cuda ones
    # libcudart.so.13, none of which the wheel grafts: torch (and through it nvidia-cuda-runtime) must come with it
    return ["torch"]


@recipe.env("cuda")
def env(ctx: RecipeContext) -> dict[str, str]:
    return {
        "FORCE_CUDA": "1",  # setup.py: suffices = ['cuda', 'cpu'] without a visible GPU
        "TORCH_CUDA_ARCH_LIST": cuda_arch_list(ctx.variant.archs),  # torch/utils/cpp_extension.py: -gencode per arch
    }


@recipe.kernels("cuda")
def kernels(ctx: RecipeContext) -> list[str]:
    # setup.py: the extensions compiled with csrc/cuda/<name>_cuda.cu; each must carry every arch of the variant
    return ["torch_scatter/_scatter_cuda.so", "torch_scatter/_segment_csr_cuda.so", "torch_scatter/_segment_coo_cuda.so"]
