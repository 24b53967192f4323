"""A build environment is one consistent install: one version per project, the toolkit's real root, and the headers
and libraries its wheels bring on the compiler's search paths."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from wheelwright.config.toolchain import ToolchainError, toolchain_env
from wheelwright.config.variants import ToolCheck, Variant
from wheelwright.errors import ResolutionError
from wheelwright.plan.buildenvs import unify_build_environment
from wheelwright.plan.graph import Edge, NodeSpec, SourceRef
from wheelwright.sandbox.buildenv import build_env_paths


def _nodes(*ids: str) -> dict[str, NodeSpec]:
    out = {}
    for node in ids:
        name, version = node.split("==")
        out[node] = NodeSpec(id=node, name=name, version=version, python="3.12", source=SourceRef(kind="sdist", url="", filename=""))
    return out


def test_a_build_requirement_moves_to_the_version_its_tools_runtime_chose():
    """torch-scatter's default `setuptools>=40.8.0` picked the newest; torch (in the same environment) wants <82."""
    nodes = _nodes("ext==1.0", "setuptools==84.2.1", "setuptools==81.0.0", "torch==2.11.0")
    edges = {Edge("ext==1.0", "setuptools==84.2.1", "build-system", "setuptools>=40.8.0"),
             Edge("ext==1.0", "torch==2.11.0", "build-system", "torch"),
             Edge("torch==2.11.0", "setuptools==81.0.0", "install", "setuptools<82")}
    assert unify_build_environment("ext==1.0", nodes, edges)
    assert Edge("ext==1.0", "setuptools==81.0.0", "build-system", "setuptools>=40.8.0") in edges
    assert not any(e.child == "setuptools==84.2.1" for e in edges)
    assert not unify_build_environment("ext==1.0", nodes, edges)  # settled: nothing more to move


def test_no_version_fits_every_requirement_names_each():
    nodes = _nodes("ext==1.0", "setuptools==84.2.1", "setuptools==81.0.0", "torch==2.11.0")
    edges = {Edge("ext==1.0", "setuptools==84.2.1", "build-system", "setuptools>=83"),
             Edge("ext==1.0", "torch==2.11.0", "build-system", "torch"),
             Edge("torch==2.11.0", "setuptools==81.0.0", "install", "setuptools<82")}
    with pytest.raises(ResolutionError, match=r"ext==1.0: its build environment needs one setuptools.*ext==1.0 wants 'setuptools>=83' \(84.2.1\); torch==2.11.0 wants 'setuptools<82'"):
        unify_build_environment("ext==1.0", nodes, edges)


def test_an_environment_with_one_version_each_is_left_alone():
    nodes = _nodes("ext==1.0", "setuptools==84.2.1", "wheel==0.45")
    edges = {Edge("ext==1.0", "setuptools==84.2.1", "build-system", "setuptools"), Edge("ext==1.0", "wheel==0.45", "build-system", "wheel")}
    before = set(edges)
    assert not unify_build_environment("ext==1.0", nodes, edges)
    assert edges == before


def _fake_nvcc(tmp_path: Path, top: str) -> Path:
    tool = tmp_path / "nvcc"
    tool.write_text(f"#!/bin/sh\necho '#$ _NVVM_BRANCH_=nvvm'\necho '#$ TOP={top}'\n")
    tool.chmod(tool.stat().st_mode | stat.S_IXUSR)
    return tool


def _variant(tool: Path) -> Variant:
    check = ToolCheck(name="nvcc", root_env="CUDA_HOME", root_command=(str(tool), "--dryrun"), root_pattern=r"^#\$ TOP=(\S+)")
    return Variant(name="cuda", version="13.0", description="", toolchain=(check,))


def test_the_toolkit_root_is_what_the_tool_reports_resolved(tmp_path):
    """A wrapper in /usr/local/bin execs the real nvcc: its TOP (…/bin/..), resolved, is CUDA_HOME."""
    (tmp_path / "cuda-13.0" / "bin").mkdir(parents=True)
    tool = _fake_nvcc(tmp_path, f"{tmp_path}/cuda-13.0/bin/..")
    assert toolchain_env(_variant(tool)) == {"CUDA_HOME": str(tmp_path / "cuda-13.0")}


def test_an_unreadable_toolkit_root_stops_the_run_naming_the_command(tmp_path):
    tool = _fake_nvcc(tmp_path, f"{tmp_path}/nowhere")
    with pytest.raises(ToolchainError, match=r"nvcc: CUDA_HOME not readable from `.*nvcc --dryrun`: '.*nowhere' is not a directory"):
        toolchain_env(_variant(tool))


def test_the_build_environments_wheels_lead_the_search_paths(tmp_path):
    site = tmp_path / "site-packages"
    for part in ("nvidia/cu13/include", "nvidia/cudnn/include", "nvidia/cu13/lib"):
        (site / part).mkdir(parents=True)
    (site / "nvidia" / "README").write_text("not a directory")
    found = build_env_paths({"CPATH": ("nvidia/*/include",), "LIBRARY_PATH": ("nvidia/*/lib",), "LD_RUN_PATH": ("nvidia/*/none",)},
                            site, {"CPATH": "/opt/mine"})
    assert found == {"CPATH": f"{site}/nvidia/cu13/include:{site}/nvidia/cudnn/include:/opt/mine", "LIBRARY_PATH": f"{site}/nvidia/cu13/lib"}
