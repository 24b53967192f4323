"""torch: PyTorch itself, built from its release tag with every backend switch spelled out.

PyPI has no usable sdist of torch, so the source is the pytorch/pytorch tag (with its submodules).
Nothing is left to autodetection: torch's CMake turns CUDA, ROCm, cuDNN, NCCL and XPU on when it
finds them, so a builder that happens to carry another vendor's toolkit would silently produce a
different wheel. Every switch is therefore set for every variant:

- cpu, and the variants whose accelerator is not torch's business, take the generic CPU build below:
  tpu (torch-xla's README installs the XLA backend on a CPU torch==2.9.0), spyre (sendnn-inference's
  pyproject.toml takes torch from download.pytorch.org/whl/cpu), gaudi (Habana ships its own torch
  build in the vault index next to habana-torch-plugin, constraints/gaudi-1.24.0.txt; if Wheelwright
  builds torch there at all, upstream torch can only be the CPU build). They get no function of their
  own on purpose: a variant-specific hook makes Wheelwright demand that variant's toolchain (hl-smi…)
  for what is a plain CPU build.
- cuda: CUDA + cuDNN + NCCL, TORCH_CUDA_ARCH_LIST from the variant's sm_* archs.
- rocm: hipify the tree first (prepare), then ROCm + RCCL, PYTORCH_ROCM_ARCH from the gfx* archs,
  flash/mem-efficient attention through AOTriton taken from a separately built prefix instead of the
  prebuilt tarball torch's CMake would otherwise download mid-build.

Runtime requirements: upstream's wheels get triton (and, on CUDA, the nvidia-*/cuda-toolkit wheels) only through
PYTORCH_EXTRA_INSTALL_REQUIREMENTS (setup.py splits it on "|"; .github/scripts/generate_binary_build_matrix.py holds
the lists per CUDA version). The recipe builds the same list from the variant's constraint pins (a missing pin is an
error naming it), declares it as the node's `requires` and passes it in that variable: one list, so the plan, the
wheel's METADATA and pip agree. On CUDA the same wheels are build requirements too (their headers and libraries are
what torch links: build_env_paths puts nvidia/*/include and lib on CPATH/LIBRARY_PATH).

Optional libraries are decided, never detected: torch's CMake turns cuDNN, cuSPARSELt, cuFile, NVSHMEM (CUDA) or
MIOpen, hipBLASLt (ROCm) off with a warning when it does not find them. Each wanted one is switched on and declared in
`links`, so a wheel whose libtorch_cuda.so/libtorch_hip.so does not link it fails the build. cuDSS is off, as in
PyPI's wheels (no nvidia-cudss requirement; libtorch_cuda.so of torch 2.11.0 does not link it).

AOTriton on ROCm: the ROCm/aotriton release tarball torch's cmake/External/aotriton.cmake would download mid-build
is an extra source instead, by the sha256 that file lists, and AOTRITON_INSTALLED_PREFIX points at it; never at
whatever a builder has in /opt/aotriton. (recipes/aotriton.py says why AOTriton is not built from source.)

Not pinned: the tags' commits (no way to verify them from here).
"""

from __future__ import annotations

import sys

from packaging.version import Version

from wheelwright import Recipe, RecipeContext
from wheelwright.errors import ConfigError
from wheelwright.recipes import ExtraSource, GitSource, cuda_arch_list

recipe = Recipe("torch", source=GitSource(url="https://github.com/pytorch/pytorch", tag="v{version}"))

#: .github/scripts/generate_binary_build_matrix.py PYTORCH_EXTRA_INSTALL_REQUIREMENTS: the wheels of a CUDA 12 torch
#: (2.9: the "12.6"/"12.8" lists), versions from the constraints.
CUDA12_WHEELS = ("nvidia-cuda-nvrtc-cu12", "nvidia-cuda-runtime-cu12", "nvidia-cuda-cupti-cu12", "nvidia-cudnn-cu12",
                 "nvidia-cublas-cu12", "nvidia-cufft-cu12", "nvidia-curand-cu12", "nvidia-cusolver-cu12", "nvidia-cusparse-cu12",
                 "nvidia-cusparselt-cu12", "nvidia-nccl-cu12", "nvidia-nvshmem-cu12", "nvidia-nvtx-cu12", "nvidia-nvjitlink-cu12",
                 "nvidia-cufile-cu12")
#: torch 2.11.0's METADATA on CUDA 13: one cuda-toolkit with extras for the toolkit's libraries, the rest as wheels.
CUDA13_TOOLKIT_EXTRAS = "cublas,cudart,cufft,cufile,cupti,curand,cusolver,cusparse,nvjitlink,nvrtc,nvtx"
CUDA13_WHEELS = ("nvidia-cudnn-cu13", "nvidia-cusparselt-cu13", "nvidia-nccl-cu13", "nvidia-nvshmem-cu13")

_AOTRITON = "https://github.com/ROCm/aotriton/releases/download/"
#: cmake/External/aotriton.cmake with __AOTRITON_VER "0.11.2b" (torch 2.10): __AOTRITON_SHA256_LIST per ROCm, the runtime tarball
#: aotriton-<ver>-manylinux_2_28_x86_64-rocm<R>-shared.tar.gz. 0.11b (torch 2.9.1, rocm-6.4): not read here, so not declared.
AOTRITON_RUNTIME: dict[tuple[str, str], str] = {
    ("0.11.2b0", "6.4"): "6b51d8479c85b902334e4f5518f404a8f5d563fd8d4732cb8b621ed4b45c2876",  # aotriton.cmake __AOTRITON_SHA256_LIST
    ("0.11.2b0", "7.1"): "fee36beb3ea484ce18155bbafe026c577fd6705e4469e59405b260bd74b8cc10",  # aotriton.cmake __AOTRITON_SHA256_LIST
}
#: The same file's __AOTRITON_IMAGE_LIST / __AOTRITON_IMAGE_SHA256_LIST: the kernel images, one tarball per GPU family.
AOTRITON_IMAGES: dict[str, dict[str, str]] = {"0.11.2b0": {
    "amd-gfx90a": "fe9f04b66bf52ac27cd025e1d89cfd04974dd3fb3ae076192f783641a4d80fdf",  # aotriton.cmake __AOTRITON_IMAGE_SHA256_LIST
    "amd-gfx942": "0a7bcee19d3bb6d548732248c3234f7b92736c2ab7a7aae65294b87a7fd64c06",  # aotriton.cmake __AOTRITON_IMAGE_SHA256_LIST
    "amd-gfx950": "c1ba3bfe84217fd67df3dd1f8b67c80a7f7b33d0ad4d74b41d6567036e032ace",  # aotriton.cmake __AOTRITON_IMAGE_SHA256_LIST
    "amd-gfx11xx": "839299637fccb13fbe3e7823d57d1b2dcd0e0bed78abbcb7005ea5f4fd82b928",  # aotriton.cmake __AOTRITON_IMAGE_SHA256_LIST
    "amd-gfx120x": "0a4ff324bffdac0c2fde87a8a7f70563d3c84a80ad4e8f31345f2b40a1384e95",  # aotriton.cmake __AOTRITON_IMAGE_SHA256_LIST
}}


def _aotriton_image(arch: str) -> str:
    return "amd-gfx11xx" if arch.startswith("gfx11") else "amd-gfx120x" if arch.startswith("gfx120") else f"amd-{arch}"


def _common(ctx: RecipeContext) -> dict[str, str]:
    return {
        "MAX_JOBS": str(ctx.jobs),  # setup.py header: "MAX_JOBS: maximum number of compile jobs"
        "BUILD_TEST": "0",  # setup.py header: "BUILD_TEST=0 disables the test build"
        "USE_XPU": "0",  # CMakeLists.txt: option(USE_XPU "Use XPU" ON); forwarded by tools/setup_helpers/cmake.py (USE_* prefix)
        "PYTORCH_BUILD_VERSION": str(ctx.version),  # tools/generate_torch_version.py: replaces version.txt (+git<sha>)
        "PYTORCH_BUILD_NUMBER": "1",  # tools/generate_torch_version.py: asserted set with the version; >1 would add .postN
    }


@recipe.env()
def env(ctx: RecipeContext) -> dict[str, str]:
    """The CPU build: cpu, and tpu/gaudi/spyre whose accelerator plugs into a CPU torch."""
    return {
        **_common(ctx),
        "USE_CUDA": "0",  # setup.py header: "USE_CUDA=0 disables CUDA build"
        "USE_ROCM": "0",  # CMakeLists.txt: cmake_dependent_option(USE_ROCM "Use ROCm" ON "LINUX OR WIN32" OFF)
        "USE_NCCL": "0",  # CMakeLists.txt: cmake_dependent_option(USE_NCCL ... "USE_CUDA OR USE_ROCM;UNIX;NOT APPLE" OFF)
    }


def _marker(ctx: RecipeContext) -> str:
    # torch 2.9.1's and 2.10.0's METADATA: ...; platform_system == "Linux" and platform_machine == "x86_64"; 2.11.0's: platform_system == "Linux"
    return 'platform_system == "Linux"' + (' and platform_machine == "x86_64"' if ctx.version < Version("2.11") else "")


def _triton(ctx: RecipeContext) -> list[str]:
    """torch's METADATA: triton==<pin> (pytorch-triton-rocm on ROCm, where the constraints pin it); none on a CPU torch."""
    name = "pytorch-triton-rocm" if ctx.variant.name == "rocm" and ctx.pinned("pytorch-triton-rocm") else "triton"
    version = ctx.pinned(name) if ctx.variant.name in ("cuda", "rocm") else None
    return [f"{name}=={version}; {_marker(ctx)}"] if version else []


def _cuda_wheels(ctx: RecipeContext) -> list[str]:
    major = (ctx.variant.version or "").split(".")[0]
    if major == "12" and ctx.version < Version("2.11"):
        return [f"{name}=={ctx.pin(name)}; {_marker(ctx)}" for name in CUDA12_WHEELS]
    if major == "13" and ctx.version >= Version("2.11"):
        return [f"cuda-toolkit[{CUDA13_TOOLKIT_EXTRAS}]=={ctx.pin('cuda-toolkit')}; {_marker(ctx)}",
                f"cuda-bindings>=13.0.3,<14; {_marker(ctx)}",  # torch 2.11.0 METADATA: cuda-bindings<14,>=13.0.3
                *(f"{name}=={ctx.pin(name)}; {_marker(ctx)}" for name in CUDA13_WHEELS)]
    raise ConfigError(f"torch {ctx.version} on {ctx.variant.label}: recipes/torch.py knows the CUDA runtime wheels of torch 2.9-2.10 "
                      "on CUDA 12 and 2.11 on CUDA 13 (generate_binary_build_matrix.py); add this pairing's")


@recipe.requires("cuda")
def requires_cuda(ctx: RecipeContext) -> list[str]:
    return [*_triton(ctx), *_cuda_wheels(ctx)]


@recipe.requires("rocm")
def requires_rocm(ctx: RecipeContext) -> list[str]:
    return _triton(ctx)  # the ROCm libraries come with the host's ROCm install (variants.toml system_runtime)


@recipe.build_requires("cuda")
def build_requires_cuda(ctx: RecipeContext) -> list[str]:
    return _cuda_wheels(ctx)  # the headers and libraries the build links: the same wheels the wheel will require


def _extra_install_requirements(requires: list[str]) -> str:
    return " | ".join(requires)  # setup.py: os.getenv("PYTORCH_EXTRA_INSTALL_REQUIREMENTS", "").split("|")


@recipe.env("cuda")
def env_cuda(ctx: RecipeContext) -> dict[str, str]:
    return {
        **_common(ctx),
        "PYTORCH_EXTRA_INSTALL_REQUIREMENTS": _extra_install_requirements(requires_cuda(ctx)),  # setup.py; .ci/manywheel/build_cuda.sh
        "USE_CUDA": "1",  # setup.py header: "USE_CUDA=0 disables CUDA build" (on here, not left to detection)
        "USE_ROCM": "0",  # CMakeLists.txt: USE_ROCM defaults ON on Linux
        "USE_CUDNN": "1",  # setup.py header: "USE_CUDNN=0 disables the cuDNN build"; CMake turns it off with a warning if cuDNN is absent
        "USE_CUSPARSELT": "1",  # CMakeLists.txt: cmake_dependent_option(USE_CUSPARSELT ...); found or silently off, hence `links`
        "USE_CUFILE": "1",  # CMakeLists.txt: cmake_dependent_option(USE_CUFILE ...); PyPI's libtorch_cuda.so links libcufile.so.0
        "USE_NVSHMEM": "1",  # CMakeLists.txt: cmake_dependent_option(USE_NVSHMEM ...); PyPI's wheel has torch/lib/libtorch_nvshmem.so
        "USE_CUDSS": "0",  # CMakeLists.txt: option USE_CUDSS; PyPI's wheels have no nvidia-cudss requirement
        "USE_NCCL": "1",  # CMakeLists.txt: cmake_dependent_option(USE_NCCL "Use NCCL" ON ...)
        "USE_SYSTEM_NCCL": "1",  # .ci/manywheel/build_cuda.sh: link the nvidia-nccl wheel's libnccl.so.2, not a static build of the submodule
        "TORCH_CUDA_ARCH_LIST": cuda_arch_list(ctx.variant.archs),  # setup.py header: ie `TORCH_CUDA_ARCH_LIST="6.0;7.0"`; .ci/manywheel/build_cuda.sh
        "USE_FLASH_ATTENTION": "1",  # setup.py header: "USE_FLASH_ATTENTION=0 disables building flash attention"
        "USE_MEM_EFF_ATTENTION": "1",  # setup.py header: "USE_MEM_EFF_ATTENTION=0 disables building memory efficient attention"
    }


@recipe.env("rocm")
def env_rocm(ctx: RecipeContext) -> dict[str, str]:
    return {
        **_common(ctx),
        "USE_ROCM": "1",  # CMakeLists.txt: cmake_dependent_option(USE_ROCM "Use ROCm" ON ...)
        "USE_CUDA": "0",  # ROCm/TheRock external-builds/pytorch/build_prod_wheels.py: env["USE_CUDA"] = "OFF" for ROCm wheels
        "USE_NCCL": "1",  # CMakeLists.txt: USE_NCCL on "USE_CUDA OR USE_ROCM" (RCCL on ROCm)
        "PYTORCH_EXTRA_INSTALL_REQUIREMENTS": _extra_install_requirements(requires_rocm(ctx)),  # setup.py; .ci/manywheel/build_rocm.sh
        "PYTORCH_ROCM_ARCH": ";".join(ctx.variant.archs),  # setup.py header: ie `PYTORCH_ROCM_ARCH="gfx900;gfx906"`
        "USE_MIOPEN": "1",  # CMakeLists.txt: USE_MIOPEN (the ROCm cuDNN); found or silently off, hence `links`
        "USE_FLASH_ATTENTION": "1",  # setup.py header; on ROCm this builds SDPA flash attention on AOTriton (TheRock build_prod_wheels.py)
        "USE_MEM_EFF_ATTENTION": "1",  # setup.py header; TheRock build_prod_wheels.py sets it together with USE_FLASH_ATTENTION
        # AOTRITON_INSTALLED_PREFIX comes with the aotriton extra source (cmake/External/aotriton.cmake: if(DEFINED ENV{...}))
    }


@recipe.prepare("rocm")
def hipify(ctx: RecipeContext) -> None:
    """ROCm builds start by translating the CUDA sources to HIP in place (README.md: "Only run this
    if you're compiling for ROCm: python tools/amd_build/build_amd.py"; vLLM's docker/Dockerfile.rocm_base
    does the same before setup.py bdist_wheel)."""
    if ctx.source_dir is None:
        raise RuntimeError("hipify needs the unpacked source tree")
    script = ctx.source_dir / "tools" / "amd_build" / "build_amd.py"
    if not script.is_file():
        raise RuntimeError(f"{script} not found: not a PyTorch source tree, cannot hipify")
    ctx.run([sys.executable, str(script.relative_to(ctx.source_dir))])  # no network, scrubbed env, output in the log


@recipe.kernels("cuda")
def kernels_cuda(ctx: RecipeContext) -> list[str]:
    return ["torch/lib/libtorch_cuda.so"]  # the CUDA half of ATen; a torch without it is a CPU torch


@recipe.kernels("rocm")
def kernels_rocm(ctx: RecipeContext) -> list[str]:
    return ["torch/lib/libtorch_hip.so"]  # the hipified ATen; absent or empty means USE_ROCM silently fell off


@recipe.extra_sources("rocm")
def extra_sources_rocm(ctx: RecipeContext) -> list[ExtraSource]:
    version = ctx.pin("aotriton")  # constraints/rocm-*.txt: the AOTriton release torch's aotriton.cmake pins
    rocm = ctx.variant.version or ""
    if (version, rocm) not in AOTRITON_RUNTIME:
        raise ConfigError(f"torch {ctx.version} on {ctx.variant.label}: recipes/torch.py has no sha256 for the AOTriton {version} "
                          f"runtime tarball for ROCm {rocm} (copy it from the tag's cmake/External/aotriton.cmake)")
    release = version.replace("b0", "b")  # release 0.11.2b is version 0.11.2b0 (recipes/aotriton.py)
    runtime = ExtraSource(name="aotriton", url=f"{_AOTRITON}{release}/aotriton-{release}-manylinux_2_28_x86_64-rocm{rocm}-shared.tar.gz",
                          sha256=AOTRITON_RUNTIME[(version, rocm)], env=("AOTRITON_INSTALLED_PREFIX",))
    images = AOTRITON_IMAGES.get(version, {})
    wanted = sorted({_aotriton_image(a) for a in ctx.variant.archs} & set(images))  # gfx115x has no image in 0.11.2b
    return [runtime, *(ExtraSource(name=f"aotriton-{image}", url=f"{_AOTRITON}{release}/aotriton-{release}-images-{image}.tar.gz",
                                   sha256=images[image], into="aotriton") for image in wanted)]


@recipe.links("cuda")
def links_cuda(ctx: RecipeContext) -> dict[str, list[str]]:
    # PyPI's torch 2.11.0: libtorch_cuda.so NEEDED libcudnn.so.9, libcusparseLt.so.0, libcufile.so.0, libnccl.so.2, libcublas*;
    # libtorch_nvshmem.so NEEDED libnvshmem_host.so.3 (readelf -d of the wheel's torch/lib)
    return {"torch/lib/libtorch_cuda.so": ["libcudart.so.*", "libcublas.so.*", "libcudnn.so.*", "libcusparseLt.so.*", "libcufile.so.*",
                                           "libnccl.so.*"],
            "torch/lib/libtorch_nvshmem.so": ["libnvshmem_host.so.*"]}


@recipe.links("rocm")
def links_rocm(ctx: RecipeContext) -> dict[str, list[str]]:
    # the ROCm counterparts torch's CMake could drop: MIOpen, hipBLASLt, and the AOTriton of the extra source
    return {"torch/lib/libtorch_hip.so": ["libamdhip64.so*", "libMIOpen.so*", "libhipblaslt.so*", "libaotriton_v2.so*"]}


CUDA_RUNTIME_WHEELS = ("nvidia-*", "cuda-toolkit", "cuda-bindings", "cuda-pathfinder")


@recipe.drop_requires()
def drop_requires(ctx: RecipeContext) -> dict[str, str]:
    # PyPI's torch wheels add the CUDA runtime wheels through PYTORCH_EXTRA_INSTALL_REQUIREMENTS (.ci/manywheel/build_cuda.sh)
    return dict.fromkeys(CUDA_RUNTIME_WHEELS, f"a {ctx.variant.name} torch links no CUDA library; PyPI's default wheel is the CUDA build")


@recipe.drop_requires("cuda")
def drop_requires_cuda(ctx: RecipeContext) -> dict[str, str]:
    # Replaced, not dropped: PyPI's METADATA describes PyPI's own CUDA build (torch 2.9.1: CUDA 12.8's nvidia-*-cu12==12.8.x),
    # and this variant's torch links the CUDA of its row; requires_cuda adds that row's wheels back (an add wins over a drop).
    why = f"replaced by the {ctx.variant.label} pins of the same wheels (requires_cuda): PyPI's METADATA pins its own CUDA build's"
    return dict.fromkeys(("nvidia-*", "cuda-toolkit", "cuda-bindings"), why)
