"""cuda 13.0 takes PyPI's torch 2.11.0 (its CUDA 13.0 build) as a declared prebuilt, with the runtime pieces PyPI
serves only as wheels, and builds torch's pure-Python dependencies from source. The plan reads only metadata (a few
MB); building it fetches ~3 GB of wheels and stays out of the default run."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
from helpers import SHARED_CACHE, copy_project

from wheelwright.config.interpreters import available_versions

pytestmark = pytest.mark.xdist_group("cuda-prebuilt")


def test_torch_and_its_wheel_only_runtime_are_prebuilt_and_the_rest_from_source(tmp_path):
    if "3.12" not in available_versions(("3.12",)):
        pytest.skip("python3.12 (the GPU machine's interpreter) is not installed here")
    project = copy_project(tmp_path / "project")
    run = subprocess.run([sys.executable, "-m", "wheelwright", "--project", str(project), "plan", "--variant", "cuda", "--python", "3.12",
                          "--output-dir", str(tmp_path / "out"), "--cache-dir", str(SHARED_CACHE), "torch==2.11.0"],
                         capture_output=True, text=True, timeout=900)
    assert run.returncode == 0, run.stderr[-3000:]
    nodes = {n["name"]: n for n in json.loads((tmp_path / "out" / "plan.json").read_text())["nodes"]}
    prebuilt = {name for name, n in nodes.items() if n["source"]["kind"] == "prebuilt"}
    assert {"torch", "triton", "cuda-toolkit", "cuda-bindings", "nvidia-cudnn-cu13", "nvidia-nccl-cu13", "nvidia-nvshmem-cu13",
            "nvidia-cusparselt-cu13", "nvidia-cublas", "nvidia-cuda-runtime"} <= prebuilt
    assert nodes["torch"]["version"] == "2.11.0" and nodes["torch"]["source"]["filename"].endswith("cp312-cp312-manylinux_2_28_x86_64.whl")
    assert all(len(nodes[name]["source"]["sha256"]) == 64 for name in prebuilt)
    assert all(nodes[name]["source"]["kind"] == "sdist" for name in ("filelock", "sympy", "networkx", "jinja2", "fsspec", "typing-extensions"))
    assert nodes["triton"]["version"] == "3.6.0"
