"""`nox -s plan-rocm-vllm` on a machine with no ROCm and no way to reach GitHub: the plan still shows
the article's rocm-7.1 stack with its upstream sources and ROCm settings, and says what it could not check."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
from helpers import copy_project

pytestmark = pytest.mark.xdist_group("requests")


def test_plan_rocm_vllm_shows_the_rocm_71_stack(tmp_path):
    project = copy_project(tmp_path / "project")
    run = subprocess.run([sys.executable, "-m", "wheelwright", "--project", str(project), "plan", "--variant", "rocm", "vllm"],
                         capture_output=True, text=True, timeout=1200)
    assert run.returncode == 0, run.stderr[-3000:]
    plan = json.loads((project / "build" / "rocm-7.1" / "build-plan.json").read_text())
    packages = {p["name"]: p for p in plan["packages"]}
    expected = {"torch": "2.10.0", "triton": "3.6.0", "amd-aiter": "0.1.10.post2"}
    assert {name: packages[name]["version"] for name in expected} == expected
    assert packages["torch"]["source"].startswith("git https://github.com/pytorch/pytorch tag v2.10.0")
    assert "aotriton" not in packages  # recipes/aotriton.py: not built from source; torch takes its pinned release tarballs
    assert packages["torch"]["extra_sources"][0].startswith(
        "aotriton: https://github.com/ROCm/aotriton/releases/download/0.11.2b/aotriton-0.11.2b-manylinux_2_28_x86_64-rocm7.1-shared.tar.gz "
        "@ sha256 fee36beb3ea4 -> AOTRITON_INSTALLED_PREFIX")
    assert packages["torch"]["links"] == ["torch/lib/libtorch_hip.so -> libamdhip64.so*, libMIOpen.so*, libhipblaslt.so*, libaotriton_v2.so*"]
    assert packages["torch"]["requires"].count("triton==3.6.0") == 1  # upstream's requirement and the recipe's: one line
    assert packages["amd-aiter"]["source"].startswith("git https://github.com/ROCm/aiter tag v0.1.10.post2")
    assert "torch==2.10.0 (build-system)" in packages["amd-aiter"]["build_requires"]  # else PREBUILD_KERNELS is skipped silently
    assert packages["vllm"]["extra_sources"] == ["triton: https://github.com/triton-lang/triton.git @ v3.6.0 (commit not pinned) -> TRITON_KERNELS_SRC_DIR"]
    torch_env = packages["torch"]["env"]
    assert torch_env["USE_ROCM"] == "1" and torch_env["PYTORCH_ROCM_ARCH"].startswith("gfx90a;gfx942")
    assert packages["triton"]["env"]["TRITON_OFFLINE_BUILD"] == "1"
    assert packages["vllm"]["env"]["VLLM_TARGET_DEVICE"] == "rocm"
    assert "0.17.0" <= packages["vllm"]["version"] < "0.19.0"
    assert any("source not fetched" in note for note in packages["torch"]["unchecked"])
    order = [p["name"] for p in plan["packages"]]
    assert order.index("torch") < order.index("vllm") and order.index("torch") < order.index("amd-aiter")
    assert plan["toolchain_needed"] is True and plan["builder_image"] == "docker.io/rocm/dev-ubuntu-22.04:7.1-complete"
    assert "hipcc" in run.stdout and "NOT CHECKED" in run.stdout
