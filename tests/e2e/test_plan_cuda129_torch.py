"""`plan --variant cuda --accelerator-version 12.9 torch`: the from-source CUDA 12.9 torch requires the CUDA 12.9
runtime wheels its constraints pin (not the CUDA 12.8 pins of PyPI's torch 2.9.1 METADATA, which conflict with them),
builds against the same wheels, takes them as NVIDIA's binary wheels, and must link the libraries it decided on."""

from __future__ import annotations

import json
import subprocess
import sys

from helpers import SHARED_CACHE, copy_project


def test_the_cuda_12_9_torch_requires_and_links_its_rows_cuda_wheels(tmp_path):
    project = copy_project(tmp_path / "project")
    run = subprocess.run([sys.executable, "-m", "wheelwright", "--project", str(project), "plan", "--variant", "cuda",
                          "--accelerator-version", "12.9", "--cache-dir", str(SHARED_CACHE), "torch"],
                         capture_output=True, text=True, timeout=900)
    assert run.returncode == 0, run.stderr[-3000:]
    packages = {p["name"]: p for p in json.loads((project / "build" / "cuda-12.9" / "build-plan.json").read_text())["packages"]}
    torch = packages["torch"]
    nvidia = sorted(r for r in torch["requires"] if r.startswith("nvidia-"))
    assert len(nvidia) == 15 and "nvidia-cuda-runtime-cu12==12.9.79" in nvidia and "nvidia-cudnn-cu12==9.10.2.21" in nvidia
    assert not [r for r in torch["requires"] if "==12.8." in r]  # PyPI's CUDA 12.8 pins are replaced, not kept beside ours
    assert "triton==3.5.1" in torch["requires"]
    assert {f"{r} (build-system)" for r in nvidia} <= set(torch["build_requires"])
    assert torch["env"]["PYTORCH_EXTRA_INSTALL_REQUIREMENTS"].count(" | ") == 15  # triton + the 15 wheels, one list
    assert torch["links"][0].startswith("torch/lib/libtorch_cuda.so -> libcudart.so.*, libcublas.so.*, libcudnn.so.*")
    assert packages["nvidia-cudnn-cu12"]["source"].startswith("prebuilt vendor wheel from https://pypi.org/simple")
