"""Variants as data: the matrix, its selection, toolchain checks, and the version-matrix table."""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path

import pytest
from helpers import REPO

from wheelwright.cli import main
from wheelwright.config.constraints import load_constraints
from wheelwright.errors import ConfigError
from wheelwright.config.toolchain import ToolchainError, check_toolchain, require_toolchain
from wheelwright.config.variants import PayloadKind, ToolCheck, every_variant, load_variants, select_variant

SPECS = load_variants(REPO / "variants.toml")


def test_every_required_variant_has_versions_archs_and_constraint_files():
    assert {"cpu", "cuda", "rocm", "gaudi", "tpu", "spyre"} <= set(SPECS)
    assert set(SPECS["rocm"].versions) >= {"6.4", "7.1"} and set(SPECS["cuda"].versions) >= {"12.9", "13.0"}
    for variant in every_variant(SPECS):
        for name in variant.constraints:
            assert (REPO / "constraints" / name).is_file(), f"{variant.label}: constraints/{name} missing"
        if variant.name in ("cuda", "rocm"):
            assert variant.archs and variant.builder_image and variant.toolchain
    assert select_variant(SPECS, "rocm").label == "rocm-7.1"
    assert select_variant(SPECS, "rocm", "6.4").archs[:2] == ("gfx90a", "gfx942")
    assert all(a.startswith("sm_") for a in select_variant(SPECS, "cuda", "12.9").archs)
    assert any("libamdhip64.so" in p for p in select_variant(SPECS, "rocm").never_graft)


def test_rocm_71_holds_exactly_the_articles_pins():
    constraints = load_constraints([REPO / "constraints" / "rocm-7.1.txt"])
    own = {name: lines for name, lines in constraints.by_name.items() if any(c.origin.startswith("rocm-7.1.txt:") for c in lines)}
    pins = {name: str(constraints.specifier_for(name)) for name in own}
    assert pins == {
        "aotriton": "==0.11.2b0", "amd-aiter": "==0.1.10.post2", "triton": "==3.6.0", "torch": "==2.10.0",
        "torchaudio": "==2.10.0", "torchvision": "==0.25.0", "vllm": "<0.19.0,>=0.17.0", "xformers": "==0.0.34",
    }
    assert str(load_constraints([REPO / "constraints" / "rocm-6.4.txt"]).specifier_for("torch")) == "==2.9.1"


def test_selection_errors_name_the_input():
    with pytest.raises(ConfigError, match=r"variant 'rocm' has no accelerator version '5\.0'; known: 6\.4, 7\.1"):
        select_variant(SPECS, "rocm", "5.0")
    with pytest.raises(ConfigError, match="unknown variant 'metal'"):
        select_variant(SPECS, "metal")
    with pytest.raises(ConfigError, match="has no accelerator versions"):
        select_variant(SPECS, "cpu", "1.0")


def test_versions_change_the_cache_fingerprint():
    assert select_variant(SPECS, "rocm", "6.4").fingerprint() != select_variant(SPECS, "rocm", "7.1").fingerprint()


def test_gpu_payload_is_an_enum_and_an_unknown_one_names_file_family_and_choices(tmp_path):
    assert select_variant(SPECS, "cuda").gpu_payload is PayloadKind.CUDA and select_variant(SPECS, "rocm").gpu_payload is PayloadKind.HIP
    assert select_variant(SPECS, "cpu").gpu_payload is PayloadKind.NONE and select_variant(SPECS, "gaudi").gpu_payload is PayloadKind.VENDOR
    assert [k for k in PayloadKind if k.requires_kernels] == [PayloadKind.CUDA, PayloadKind.HIP]
    path = tmp_path / "variants.toml"
    path.write_text('[variant.cuda]\ndescription = "CUDA"\ngpu_payload = "cdua"\n')
    with pytest.raises(ConfigError) as error:
        load_variants(path)
    assert str(error.value) == f"{path}: [variant.cuda] is malformed: gpu_payload 'cdua' is not one of none, cuda, hip, vendor"


def _fake_tool(directory: Path, name: str, output: str) -> None:
    path = directory / name
    path.write_text(f"#!/bin/sh\necho '{output}'\n")
    path.chmod(path.stat().st_mode | stat.S_IEXEC)


def test_toolchain_reads_versions_and_names_builder_image(tmp_path, monkeypatch):
    _fake_tool(tmp_path, "hipcc", "HIP version: 6.4.43482-0f2d60242")
    monkeypatch.setenv("PATH", f"{tmp_path}{os.pathsep}{os.environ['PATH']}")
    monkeypatch.setenv("ROCM_PATH", str(tmp_path))
    (tmp_path / "lib").mkdir()
    (tmp_path / "lib" / "libamdhip64.so.6.4.43482").write_text("")
    rocm64, rocm71 = select_variant(SPECS, "rocm", "6.4"), select_variant(SPECS, "rocm", "7.1")
    assert all(s.ok for s in check_toolchain(rocm64)), check_toolchain(rocm64)
    with pytest.raises(ToolchainError) as error:
        require_toolchain(rocm71)
    message = str(error.value)
    assert message.startswith("variant rocm-7.1: hipcc 6.4 found at") and "need ==7.1.*" in message
    assert "build inside docker.io/rocm/dev-ubuntu-22.04:7.1-complete" in message


def test_missing_tool_is_reported(monkeypatch, tmp_path):
    monkeypatch.setenv("PATH", str(tmp_path))
    variant = select_variant(SPECS, "rocm")
    statuses = check_toolchain(variant)
    assert statuses[0].found is None and statuses[0].describe() == "hipcc not found (need ==7.1.*)"
    assert ToolCheck(name="x").kind == "tool"


def test_matrix_shows_where_stacks_diverge(capsys):
    assert main(["--project", str(REPO), "matrix", "--json"]) == 0
    matrix = json.loads(capsys.readouterr().out)
    assert {"cpu", "rocm-7.1", "rocm-6.4", "cuda-13.0", "cuda-12.9"} <= set(matrix["variants"])
    assert matrix["packages"]["torch"]["rocm-7.1"] == "2.10.0" and matrix["packages"]["torch"]["rocm-6.4"] == "2.9.1"
    assert "torch" in matrix["differs"]
    assert main(["--project", str(REPO), "matrix"]) == 0
    text = capsys.readouterr().out
    assert any(line.startswith("*") and "torch " in line for line in text.splitlines())


def test_variants_command_lists_every_point(capsys):
    assert main(["--project", str(REPO), "variants"]) == 0
    out = capsys.readouterr().out
    assert "rocm-7.1\t" in out and "rocm-6.4\t" in out and "cuda-12.9\t" in out and out.startswith("cpu\t")
