"""The AI-stack recipes (torch, triton, aotriton, amd-aiter, xformers, flash-attn, vllm, torchvision,
torchaudio): each hook called per variant, offline, with the key settings asserted."""

from __future__ import annotations

import ast
import dataclasses
import re
import textwrap
from pathlib import Path

import pytest
from helpers import REPO
from packaging.version import Version

from wheelwright.cli import main
from wheelwright.errors import ConfigError
from wheelwright.recipes import GitSource, RecipeContext, UrlSource, call_hook_safely, load_recipe
from wheelwright.config.constraints import load_constraints
from wheelwright.config.variants import Variant, every_variant, load_variants, select_variant

RECIPES = REPO / "recipes"
SPECS = load_variants(REPO / "variants.toml")
AI_STACK = ("torch", "triton", "aotriton", "amd-aiter", "xformers", "flash-attn", "vllm", "torchvision", "torchaudio")
FROM_UPSTREAM = ("torch", "triton", "aotriton", "amd-aiter", "torchvision", "torchaudio")  # no usable sdist on PyPI
FROM_PYPI = ("vllm", "xformers", "flash-attn")
VARIANTS = every_variant(SPECS)  # every family, every accelerator version
JOBS = 7


def pins(variant: Variant) -> dict[str, str]:
    """What RecipeContext.pin() reads in a run: the row's exact constraint pins."""
    return load_constraints([REPO / "constraints" / c for c in variant.constraints]).exact_pins()


def ctx(name: str, variant: Variant, version: str | None = None, source_dir: Path | None = None) -> RecipeContext:
    """A hook's context for the version the row pins (1.2.3 where it pins none)."""
    pinned = pins(variant)
    return RecipeContext(name=name, version=Version(version or pinned.get(name, "1.2.3")), variant=variant, python_version="3.11",
                         source_dir=source_dir, jobs=JOBS, pins=pinned)


def env(name: str, variant: Variant, version: str | None = None) -> dict[str, str]:
    return dict(load_recipe(RECIPES, name).env(ctx(name, variant, version)))


def kernels(name: str, variant: Variant) -> tuple[str, ...]:
    return tuple(load_recipe(RECIPES, name).kernels(ctx(name, variant)))


def variants_of(family: str) -> list[Variant]:
    return [v for v in VARIANTS if v.name == family]


def torch_arch_list(variant: Variant) -> str:
    """The expected TORCH_CUDA_ARCH_LIST, spelled out: sm_75 -> 7.5, sm_100 -> 10.0."""
    return ";".join(f"{a[3:-1]}.{a[-1]}" for a in variant.archs)


# ----- every recipe -------------------------------------------------------------------------


@pytest.mark.parametrize("name", AI_STACK)
def test_every_recipe_imports_has_a_docstring_and_hooks_that_run_for_every_variant(name):
    loaded = load_recipe(RECIPES, name)
    assert loaded.path is not None and loaded.recipe.name == name
    assert (ast.get_docstring(ast.parse(loaded.path.read_text())) or "").strip(), f"recipes/{loaded.path.name} has no docstring"
    for variant in VARIANTS:
        context = ctx(name, variant)
        environment = loaded.env(context)
        assert all(isinstance(k, str) and isinstance(v, str) for k, v in environment.items())
        assert "None" not in environment.values(), f"{name} on {variant.label}: a setting rendered as None"
        settings = loaded.config_settings(context)
        assert settings is None or all(isinstance(v, str) for v in settings.values())
        assert all(isinstance(p, str) and p for p in loaded.kernels(context))


@pytest.mark.parametrize("name", AI_STACK)
def test_every_setting_carries_a_one_line_source_comment(name):
    """Each `"KEY": value,` line of a hook cites where upstream reads it."""
    path = load_recipe(RECIPES, name).path
    assert path is not None
    setting = re.compile(r'^\s+"[A-Za-z0-9_.\-]+":\s')
    bare = [line.strip() for line in path.read_text().splitlines() if setting.match(line) and "  # " not in line]
    assert not bare, f"recipes/{path.name}: settings without a source comment: {bare}"


@pytest.mark.parametrize("name", FROM_UPSTREAM)
def test_packages_without_a_usable_sdist_declare_an_upstream_source(name):
    source = load_recipe(RECIPES, name).recipe.source
    assert isinstance(source, GitSource | UrlSource)
    assert source.url.startswith("https://github.com/")


@pytest.mark.parametrize("name", FROM_PYPI)
def test_packages_with_an_sdist_build_from_pypi(name):
    assert load_recipe(RECIPES, name).recipe.source is None


def test_tags_resolve_for_the_pinned_versions():
    source = {name: load_recipe(RECIPES, name).recipe.source for name in FROM_UPSTREAM}
    assert source["torch"].ref("2.10.0") == "v2.10.0"
    assert source["triton"].ref("3.6.0") == "v3.6.0"
    assert source["torchvision"].ref("0.25.0") == "v0.25.0"
    assert source["torchaudio"].ref("2.10.0") == "v2.10.0"
    assert source["aotriton"].ref("0.11.2b0") == "0.11.2b"
    assert source["amd-aiter"].ref("0.1.10.post2") == "v0.1.10.post2"
    assert load_recipe(RECIPES, "amd-aiter").recipe.renamed_from == ("aiter",)


def test_the_recipes_command_lists_the_stack(capsys):
    assert main(["--project", str(REPO), "recipes"]) == 0
    listed = capsys.readouterr().out.split()
    assert set(AI_STACK) <= set(listed)


# ----- torch --------------------------------------------------------------------------------


@pytest.mark.parametrize("variant", variants_of("rocm"), ids=lambda v: v.label)
def test_torch_rocm_builds_hip_for_the_variants_gfx_targets(variant):
    settings = env("torch", variant, "2.10.0")
    assert settings["USE_ROCM"] == "1" and settings["USE_CUDA"] == "0" and settings["USE_MIOPEN"] == "1"
    assert settings["PYTORCH_ROCM_ARCH"] == ";".join(variant.archs)
    assert settings["USE_FLASH_ATTENTION"] == settings["USE_MEM_EFF_ATTENTION"] == "1"
    assert "AOTRITON_INSTALLED_PREFIX" not in settings  # it comes with the aotriton extra source, never a builder's /opt/aotriton
    assert settings["USE_XPU"] == "0" and settings["BUILD_TEST"] == "0" and settings["MAX_JOBS"] == str(JOBS)
    assert (settings["PYTORCH_BUILD_VERSION"], settings["PYTORCH_BUILD_NUMBER"]) == ("2.10.0", "1")
    assert kernels("torch", variant) == ("torch/lib/libtorch_hip.so",)
    links = load_recipe(RECIPES, "torch").links(ctx("torch", variant))
    assert {"libMIOpen.so*", "libhipblaslt.so*", "libaotriton_v2.so*"} <= set(links["torch/lib/libtorch_hip.so"])


def test_torch_rocm_takes_aotriton_from_its_pinned_release_tarballs():
    variant = select_variant(SPECS, "rocm", "7.1")
    extras = load_recipe(RECIPES, "torch").extra_sources(ctx("torch", variant))
    runtime, *images = extras
    assert runtime.url.endswith("/0.11.2b/aotriton-0.11.2b-manylinux_2_28_x86_64-rocm7.1-shared.tar.gz") and runtime.sha256
    assert runtime.env == ("AOTRITON_INSTALLED_PREFIX",)
    assert {e.name for e in images} == {"aotriton-amd-gfx90a", "aotriton-amd-gfx942", "aotriton-amd-gfx950", "aotriton-amd-gfx11xx",
                                        "aotriton-amd-gfx120x"}
    assert all(e.into == "aotriton" and e.sha256 for e in images)
    with pytest.raises(ConfigError, match="no sha256 for the AOTriton 0.11b0 runtime tarball for ROCm 6.4"):  # not read here: refused
        load_recipe(RECIPES, "torch").extra_sources(ctx("torch", select_variant(SPECS, "rocm", "6.4")))


@pytest.mark.parametrize("variant", variants_of("cuda"), ids=lambda v: v.label)
def test_torch_cuda_turns_the_sm_archs_into_torch_cuda_arch_list(variant):
    settings = env("torch", variant)
    assert settings["TORCH_CUDA_ARCH_LIST"] == torch_arch_list(variant)
    assert settings["USE_CUDA"] == settings["USE_CUDNN"] == settings["USE_NCCL"] == settings["USE_CUSPARSELT"] == "1"
    assert settings["USE_CUFILE"] == settings["USE_NVSHMEM"] == "1" and settings["USE_CUDSS"] == "0"
    assert settings["USE_ROCM"] == "0" and settings["USE_XPU"] == "0"
    assert kernels("torch", variant) == ("torch/lib/libtorch_cuda.so",)


def test_torch_requires_triton_and_its_cuda_wheels_from_the_constraints_in_one_list():
    cuda12 = ctx("torch", select_variant(SPECS, "cuda", "12.9"))
    loaded = load_recipe(RECIPES, "torch")
    requires = loaded.requires(cuda12)
    assert requires[0] == 'triton==3.5.1; platform_system == "Linux" and platform_machine == "x86_64"'  # torch 2.9.1's METADATA
    assert 'nvidia-cudnn-cu12==9.10.2.21; platform_system == "Linux" and platform_machine == "x86_64"' in requires
    assert len(requires) == 16 and loaded.build_requires(cuda12) == requires[1:]  # it links what it requires
    assert dict(loaded.env(cuda12))["PYTORCH_EXTRA_INSTALL_REQUIREMENTS"] == " | ".join(requires)
    assert "nvidia-cudnn-cu12" in cuda12.pins_read  # read pins enter the node's cache key
    cuda13 = loaded.requires(ctx("torch", select_variant(SPECS, "cuda", "13.0")))
    assert cuda13[:2] == ('triton==3.6.0; platform_system == "Linux"',
                          'cuda-toolkit[cublas,cudart,cufft,cufile,cupti,curand,cusolver,cusparse,nvjitlink,nvrtc,nvtx]==13.0.2; platform_system == "Linux"')
    rocm = ('triton==3.6.0; platform_system == "Linux" and platform_machine == "x86_64"',)  # torch 2.10.0's METADATA, as PyPI has it
    assert loaded.requires(ctx("torch", select_variant(SPECS, "rocm", "7.1"))) == rocm
    reasons = loaded.drop_reasons(cuda12)  # PyPI's CUDA 12.8 pins are replaced by the row's, each with the reason
    assert set(reasons) == {"nvidia-*", "cuda-toolkit", "cuda-bindings"} and all("replaced by the cuda-12.9 pins" in r for r in reasons.values())
    unpinned = dataclasses.replace(cuda12, pins={k: v for k, v in cuda12.pins.items() if k != "nvidia-nccl-cu12"})
    with pytest.raises(ConfigError, match="needs a == pin of nvidia-nccl-cu12 in the cuda-12.9 constraints"):
        loaded.requires(unpinned)


def test_torch_cuda_arch_list_spelling():
    assert env("torch", select_variant(SPECS, "cuda", "13.0"))["TORCH_CUDA_ARCH_LIST"] == "7.5;8.0;8.6;8.9;9.0;10.0;11.0;12.0"
    assert env("torch", select_variant(SPECS, "cuda", "12.9"))["TORCH_CUDA_ARCH_LIST"] == "7.0;7.5;8.0;8.9;9.0;10.0;12.0"
    hopper = dataclasses.replace(select_variant(SPECS, "cuda", "13.0"), archs=("sm_90a", "sm_100"))
    assert env("torch", hopper)["TORCH_CUDA_ARCH_LIST"] == "9.0a;10.0"


@pytest.mark.parametrize("family", ["cpu", "tpu", "gaudi", "spyre"])
def test_torch_is_a_cpu_build_where_the_accelerator_plugs_in_elsewhere(family):
    variant = select_variant(SPECS, family)
    settings = env("torch", variant, "2.9.0")
    assert settings["USE_CUDA"] == settings["USE_ROCM"] == settings["USE_NCCL"] == "0"
    assert settings["PYTORCH_BUILD_VERSION"] == "2.9.0"
    assert "TORCH_CUDA_ARCH_LIST" not in settings and "PYTORCH_ROCM_ARCH" not in settings
    assert kernels("torch", variant) == ()
    assert load_recipe(RECIPES, "torch").recipe.variants() == {"cuda", "rocm"}  # no toolchain demanded for CPU builds


def _fake_pytorch_tree(root: Path) -> Path:
    script = root / "tools" / "amd_build" / "build_amd.py"
    script.parent.mkdir(parents=True)
    script.write_text(textwrap.dedent("""\
        import os, pathlib
        pathlib.Path("hipified.marker").write_text(os.getcwd())
    """))
    return root


def test_torch_rocm_prepare_runs_the_hipify_script_in_the_source_tree(tmp_path):
    tree = _fake_pytorch_tree(tmp_path / "pytorch")
    load_recipe(RECIPES, "torch").prepare(ctx("torch", select_variant(SPECS, "rocm"), source_dir=tree))
    marker = tree / "hipified.marker"
    assert marker.is_file() and Path(marker.read_text()) == tree  # ran, with the tree as working directory


@pytest.mark.parametrize("family", ["cpu", "cuda", "tpu", "gaudi", "spyre"])
def test_torch_prepare_hipifies_only_for_rocm(tmp_path, family):
    tree = _fake_pytorch_tree(tmp_path / "pytorch")
    load_recipe(RECIPES, "torch").prepare(ctx("torch", select_variant(SPECS, family), source_dir=tree))
    assert not (tree / "hipified.marker").exists()


def test_torch_rocm_prepare_fails_loudly(tmp_path):
    loaded = load_recipe(RECIPES, "torch")
    rocm = select_variant(SPECS, "rocm")
    with pytest.raises(ConfigError, match="build_amd.py not found"):
        call_hook_safely("recipes/torch.py prepare", lambda: loaded.prepare(ctx("torch", rocm, source_dir=tmp_path)))
    broken = _fake_pytorch_tree(tmp_path / "broken")
    (broken / "tools" / "amd_build" / "build_amd.py").write_text("import sys\nprint('no hipify for you')\nsys.exit(3)\n")
    with pytest.raises(ConfigError, match=r"failed \(exit 3\): no hipify for you"):
        call_hook_safely("recipes/torch.py prepare", lambda: loaded.prepare(ctx("torch", rocm, source_dir=broken)))


# ----- triton -------------------------------------------------------------------------------


@pytest.mark.parametrize("variant", VARIANTS, ids=lambda v: v.label)
def test_triton_never_downloads_its_dependencies_mid_build(variant):
    settings = env("triton", variant)
    assert settings["TRITON_OFFLINE_BUILD"] == "1"
    assert settings["LLVM_SYSPATH"] and settings["JSON_SYSPATH"]  # offline, each dependency needs its syspath
    assert settings["MAX_JOBS"] == str(JOBS)
    assert kernels("triton", variant) == ()  # a compiler: no GPU code of its own


def test_triton_backend_specific_settings():
    cuda = env("triton", select_variant(SPECS, "cuda"))
    assert cuda["TRITON_PTXAS_PATH"].endswith("/bin/ptxas") and cuda["TRITON_CUPTI_INCLUDE_PATH"]
    rocm = env("triton", select_variant(SPECS, "rocm"))
    assert rocm["TRITON_BUILD_PROTON"] == "OFF" and "TRITON_PTXAS_PATH" not in rocm
    variant = select_variant(SPECS, "rocm")
    moved = dataclasses.replace(variant, env={**variant.env, "LLVM_SYSPATH": "/srv/llvm"})
    assert env("triton", moved)["LLVM_SYSPATH"] == "/srv/llvm"


# ----- vllm ---------------------------------------------------------------------------------


@pytest.mark.parametrize(("family", "device"), [("cpu", "cpu"), ("cuda", "cuda"), ("rocm", "rocm"), ("tpu", "tpu"),
                                                ("gaudi", "empty"), ("spyre", "empty")])
def test_vllm_names_its_target_device_per_variant(family, device):
    for variant in variants_of(family):
        settings = env("vllm", variant, "0.17.1")
        assert settings["VLLM_TARGET_DEVICE"] == device
        assert settings["VLLM_VERSION_OVERRIDE"] == "0.17.1"  # no +cu130/+rocm710/+empty suffix on the wheel
        assert "VLLM_USE_PRECOMPILED" not in settings


def test_vllm_gpu_archs_and_kernels():
    for variant in variants_of("cuda"):
        assert env("vllm", variant)["TORCH_CUDA_ARCH_LIST"] == torch_arch_list(variant)
        assert {"vllm/_C*.abi3.so", "vllm/vllm_flash_attn/_vllm_fa3_C*.so"} <= set(kernels("vllm", variant))  # as PyPI's wheels name them
    for variant in variants_of("rocm"):
        assert env("vllm", variant)["PYTORCH_ROCM_ARCH"] == ";".join(variant.archs)
        assert {"vllm/_C*.abi3.so", "vllm/_rocm_C.abi3.so"} <= set(kernels("vllm", variant))
    for family in ("cpu", "tpu", "gaudi", "spyre"):
        assert kernels("vllm", select_variant(SPECS, family)) == ()


# ----- xformers -----------------------------------------------------------------------------


def test_xformers_declares_its_kernels_for_cuda_and_rocm_only():
    for variant in VARIANTS:
        declared = kernels("xformers", variant)
        assert ("xformers/_C.so" in declared) == (variant.name in ("cuda", "rocm")), variant.label
    cuda = load_recipe(RECIPES, "xformers").kernels(ctx("xformers", select_variant(SPECS, "cuda")))
    assert cuda == {"xformers/_C.so": ()}  # 0.0.35's setup.py builds one extension; FlashAttention-3 is no longer one of its own
    older = load_recipe(RECIPES, "xformers").kernels(ctx("xformers", select_variant(SPECS, "cuda", "12.9")))  # 0.0.33.post2
    assert older == {"xformers/_C.so": (), "xformers/flash_attn_3/_C.so": ("sm_80", "sm_90a")}  # wgmma needs sm_90a code
    assert load_recipe(RECIPES, "xformers").build_requires(ctx("xformers", select_variant(SPECS, "cuda"))) == ("wheel",)


def test_flash_attn_and_aiter_declare_the_arch_subsets_they_really_build():
    fa = load_recipe(RECIPES, "flash-attn").kernels(ctx("flash-attn", select_variant(SPECS, "cuda", "12.9")))
    assert fa == {"flash_attn_2_cuda*.so": ("sm_80", "sm_89", "sm_90", "sm_100", "sm_120")}  # no sm_70/sm_75 kernels exist
    aiter = load_recipe(RECIPES, "amd-aiter")
    assert aiter.kernels(ctx("amd-aiter", select_variant(SPECS, "rocm"))) == {"aiter/jit/*.so": ("gfx942", "gfx950")}
    assert aiter.build_requires(ctx("amd-aiter", select_variant(SPECS, "rocm"))) == ("torch",)  # else PREBUILD_KERNELS is skipped


@pytest.mark.parametrize("variant", variants_of("rocm"), ids=lambda v: v.label)
def test_xformers_rocm_cannot_silently_skip_hip(variant):
    """The article's failure: no GPU on the builder and no HIP_ARCHITECTURES -> no HIP kernels, no error."""
    settings = env("xformers", variant)
    assert settings["HIP_ARCHITECTURES"].split() == ["gfx90a", "gfx942"]  # what upstream builds ROCm wheels for
    assert settings["PYTORCH_ROCM_ARCH"] == "gfx90a;gfx942"
    assert isinstance(load_recipe(RECIPES, "xformers").recipe.source_for("rocm"), GitSource)  # the sdist lacks composable_kernel_tiled
    assert settings["XFORMERS_CK_FLASH_ATTN"] == "1"
    assert settings["FORCE_CUDA"] == "0"  # FORCE_CUDA=1 would send a ROCm torch down the nvcc branch


@pytest.mark.parametrize("variant", variants_of("cuda"), ids=lambda v: v.label)
def test_xformers_cuda_forces_the_cuda_build(variant):
    settings = env("xformers", variant)
    fa3 = variant.version == "12.9"  # 0.0.33.post2 builds FlashAttention-3: 9.0a, not 9.0
    assert settings["FORCE_CUDA"] == "1" and settings["TORCH_CUDA_ARCH_LIST"] == torch_arch_list(variant).replace("9.0", "9.0a" if fa3 else "9.0")
    assert settings["MAX_JOBS"] == str(JOBS)


# ----- flash-attn ---------------------------------------------------------------------------


def test_flash_attn_builds_instead_of_downloading():
    for variant in variants_of("cuda") + variants_of("rocm"):
        settings = env("flash-attn", variant)
        assert settings["FLASH_ATTENTION_FORCE_BUILD"] == "TRUE"
        assert "FLASH_ATTENTION_SKIP_CUDA_BUILD" not in settings
        assert kernels("flash-attn", variant) == ("flash_attn_2_cuda*.so",)
    assert env("flash-attn", select_variant(SPECS, "cuda", "12.9"))["FLASH_ATTN_CUDA_ARCHS"] == "80;90;100;120"
    assert env("flash-attn", select_variant(SPECS, "cuda", "13.0"))["FLASH_ATTN_CUDA_ARCHS"] == "80;90;100;120"  # 2.8.3.post2 has no sm_110 gencode
    fa13 = load_recipe(RECIPES, "flash-attn").kernels(ctx("flash-attn", select_variant(SPECS, "cuda", "13.0")))
    assert fa13 == {"flash_attn_2_cuda*.so": ("sm_80", "sm_86", "sm_89", "sm_90", "sm_100", "sm_120")}
    assert env("flash-attn", select_variant(SPECS, "rocm", "7.1"))["GPU_ARCHS"] == "gfx90a;gfx942;gfx950"
    assert env("flash-attn", select_variant(SPECS, "rocm", "7.1"))["BUILD_TARGET"] == "rocm"
    assert env("flash-attn", select_variant(SPECS, "cpu")) == {}


# ----- torchvision / torchaudio -------------------------------------------------------------


def test_torchvision_forces_gpu_sources_without_a_gpu():
    cuda = select_variant(SPECS, "cuda")
    settings = env("torchvision", cuda, "0.26.0")
    assert (settings["FORCE_CUDA"], settings["BUILD_VERSION"]) == ("1", "0.26.0")
    assert settings["TORCH_CUDA_ARCH_LIST"] == torch_arch_list(cuda)
    rocm = select_variant(SPECS, "rocm")
    settings = env("torchvision", rocm, "0.25.0")
    assert settings["FORCE_CUDA"] == "1" and settings["PYTORCH_ROCM_ARCH"] == ";".join(rocm.archs)
    assert env("torchvision", select_variant(SPECS, "cpu"))["FORCE_CUDA"] == "0"
    assert kernels("torchvision", cuda) == kernels("torchvision", rocm) == ("torchvision/_C*.so",)


def test_torchaudio_backend_switches():
    cuda = env("torchaudio", select_variant(SPECS, "cuda"), "2.11.0")
    assert (cuda["USE_CUDA"], cuda["USE_ROCM"], cuda["BUILD_VERSION"]) == ("1", "0", "2.11.0")
    rocm = env("torchaudio", select_variant(SPECS, "rocm"))
    assert (rocm["USE_ROCM"], rocm["USE_CUDA"]) == ("1", "0")
    for family in ("cpu", "tpu", "gaudi", "spyre"):
        assert env("torchaudio", select_variant(SPECS, family))["USE_CUDA"] == "0"
    assert kernels("torchaudio", select_variant(SPECS, "cuda")) == ("torchaudio/lib/libtorchaudio*.so",)
    assert kernels("torchaudio", select_variant(SPECS, "rocm")) == ()  # no HIP sources in the pinned releases


# ----- aotriton / amd-aiter -----------------------------------------------------------------


@pytest.mark.parametrize("name", ["aotriton", "amd-aiter"])
def test_rocm_only_libraries_have_hooks_for_rocm_only(name):
    loaded = load_recipe(RECIPES, name)
    assert loaded.recipe.variants() == {"rocm"}
    for variant in VARIANTS:
        if variant.name != "rocm":
            context = ctx(name, variant)
            assert (loaded.env(context), loaded.config_settings(context), loaded.kernels(context)) == ({}, None, {})


def test_aotriton_targets_the_variants_gfx_archs():
    for variant in variants_of("rocm"):
        settings = load_recipe(RECIPES, "aotriton").config_settings(ctx("aotriton", variant))
        assert settings["cmake.define.AOTRITON_TARGET_ARCH"] == ";".join(variant.archs)
        assert settings["cmake.define.AOTRITON_GPU_BUILD_TIMEOUT"] == "0"
        assert settings["cmake.define.AOTRITON_NO_PYTHON"] == "ON"


def test_aiter_prebuilds_its_kernels_for_cdna3_and_cdna4():
    assert env("amd-aiter", select_variant(SPECS, "rocm", "7.1")) == {
        "BUILD_TARGET": "rocm", "PREBUILD_KERNELS": "1", "GPU_ARCHS": "gfx942;gfx950", "MAX_JOBS": str(JOBS)}
    assert env("amd-aiter", select_variant(SPECS, "rocm", "6.4"))["GPU_ARCHS"] == "gfx942"  # no gfx950 before ROCm 7


def test_triton_bundles_the_nvidia_tools_an_offline_build_would_leave_out(tmp_path):
    """TRITON_OFFLINE_BUILD downloads nothing, so ptxas & co would be missing from the wheel: the cuda prepare hook copies
    them from the builder's toolkit into third_party/nvidia/backend (triton.backends.nvidia), and `ships` requires them."""
    cuda = tmp_path / "cuda"
    for tool in ("ptxas", "cuobjdump", "nvdisasm"):
        (cuda / "bin").mkdir(parents=True, exist_ok=True)
        (cuda / "bin" / tool).write_text(f"#!/bin/sh\necho {tool}\n")
    (cuda / "include" / "crt").mkdir(parents=True)
    (cuda / "include" / "cuda.h").write_text("/* cuda.h */\n")
    (cuda / "extras" / "CUPTI" / "include").mkdir(parents=True)
    (cuda / "extras" / "CUPTI" / "include" / "cupti.h").write_text("/* cupti */\n")
    (cuda / "extras" / "CUPTI" / "lib64").mkdir(parents=True)
    (cuda / "extras" / "CUPTI" / "lib64" / "libcupti.so.13").write_text("elf\n")
    tree = tmp_path / "triton"
    (tree / "third_party" / "nvidia" / "backend").mkdir(parents=True)
    variant = select_variant(SPECS, "cuda", "12.9")
    variant = dataclasses.replace(variant, env={**variant.env, "CUDA_HOME": str(cuda)})
    loaded = load_recipe(RECIPES, "triton")
    loaded.prepare(ctx("triton", variant, source_dir=tree))
    backend = tree / "third_party" / "nvidia" / "backend"
    assert sorted(p.name for p in (backend / "bin").iterdir()) == ["cuobjdump", "nvdisasm", "ptxas"]
    assert (backend / "include" / "cuda.h").is_file() and (backend / "include" / "cupti.h").is_file()
    assert (backend / "lib" / "cupti" / "libcupti.so.13").is_file()
    assert "triton/backends/nvidia/bin/ptxas" in loaded.ships(ctx("triton", variant))
    (cuda / "bin" / "nvdisasm").unlink()
    with pytest.raises(RuntimeError, match="nvdisasm not found: triton's wheel bundles it"):
        loaded.prepare(ctx("triton", variant, source_dir=tree))
