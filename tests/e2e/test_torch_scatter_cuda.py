"""torch-scatter 2.1.2 (and xformers 0.0.35) from PyPI sdists for cuda-13.0, against PyPI's torch 2.11.0 (CUDA 13.0) taken prebuilt.

The plan (metadata only, seconds) runs in CI. The builds fetch ~3 GB of torch and nvidia-* wheels and compile for
minutes to tens of minutes, so they are marked gpu_stack (pytest --gpu-stack): the recipe's build, its kernels
read by NVIDIA's cuobjdump, and the article's bug on a real package: built the way a build machine without a GPU
builds it when nobody sets FORCE_CUDA, the wheel is CPU-only, and verify refuses it.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
import zipfile

import pytest
from helpers import SHARED_CACHE, copy_project, wheelwright
from payload_fixtures import cuobjdump, cuobjdump_images

from wheelwright.config.interpreters import available_versions

pytestmark = [pytest.mark.xdist_group("cuda-prebuilt"),
              pytest.mark.skipif("3.12" not in available_versions(("3.12",)), reason="python3.12 (the GPU machine's interpreter) is not installed here")]

KERNEL_MODULES = ("torch_scatter/_scatter_cuda.so", "torch_scatter/_segment_csr_cuda.so", "torch_scatter/_segment_coo_cuda.so")
ARGS = ("--variant", "cuda", "--python", "3.12", "--archs", "sm_90", "torch-scatter==2.1.2")


def test_the_plan_builds_torch_scatter_against_the_prebuilt_torch_with_one_setuptools(tmp_path):
    project = copy_project(tmp_path / "project")
    run = subprocess.run([sys.executable, "-m", "wheelwright", "--project", str(project), "plan", "--output-dir", str(tmp_path / "out"),
                          "--cache-dir", str(SHARED_CACHE), *ARGS], capture_output=True, text=True, timeout=900)
    assert run.returncode == 0, run.stderr[-3000:]
    plan = json.loads((tmp_path / "out" / "plan.json").read_text())
    nodes = {n["id"]: n for n in plan["nodes"]}
    scatter = nodes["torch-scatter==2.1.2"]
    env = dict(scatter["recipe"]["env"])
    assert env["FORCE_CUDA"] == "1" and env["TORCH_CUDA_ARCH_LIST"] == "9.0"  # --archs sm_90 narrowed the variant's eight
    assert sorted(module for module, _ in scatter["recipe"]["kernels"]) == sorted(KERNEL_MODULES)
    build = {e["child"] for e in plan["edges"] if e["parent"] == scatter["id"] and e["kind"] == "build-system"}
    assert "torch==2.11.0" in build and nodes["torch==2.11.0"]["source"]["kind"] == "prebuilt"
    # torch's own runtime (typing-extensions, nvidia-cublas…) is in the build environment: its METADATA is read, not guessed
    installed = {e["child"] for e in plan["edges"] if e["parent"] == "torch==2.11.0" and e["kind"] == "install"}
    closure, stack = set(), ["torch==2.11.0"]
    while stack:
        parent = stack.pop()
        children = {e["child"] for e in plan["edges"] if e["parent"] == parent and e["kind"] == "install"} - closure
        closure |= children
        stack += children
    assert any(n.startswith("nvidia-cublas==") for n in closure) and any(n.startswith("typing-extensions==") for n in installed)
    # one setuptools in that environment: the default build-system requirement takes the one torch's `setuptools<82` chose
    (torch_setuptools,) = [n for n in installed if n.startswith("setuptools==")]
    assert f"setuptools=={nodes[torch_setuptools]['version']}" in build


@pytest.mark.gpu_stack
def test_torch_scatter_builds_for_sm_90_and_cuobjdump_finds_its_kernels(tmp_path):
    out = tmp_path / "out"
    run = wheelwright(copy_project(tmp_path / "project"), *ARGS, output=out)
    assert run.returncode == 0, run.stderr[-4000:]
    (wheel,) = (out / "simple" / "torch-scatter").glob("torch_scatter-2.1.2-cp312-cp312-*.whl")
    report = json.loads((out / "report.json").read_text())
    assert report["archs"] == ["sm_90"]
    node = report["nodes"]["torch-scatter==2.1.2"]
    assert node["status"] == "built"
    tool = cuobjdump()
    with zipfile.ZipFile(wheel) as archive:
        for module in KERNEL_MODULES:
            path = tmp_path / module.replace("/", "_")
            path.write_bytes(archive.read(module))
            assert cuobjdump_images(tool, path)["sass", "sm_90"] >= 1, module  # NVIDIA's tool, not ours, sees sm_90 code
    log = (out / "logs" / "torch-scatter-2.1.2.log").read_text()
    assert re.search(r"CUDA_HOME=/\S+", log) and "nvidia/cu13/include" in log


@pytest.mark.gpu_stack
def test_without_force_cuda_the_silent_cpu_only_wheel_is_refused_and_not_published(tmp_path):
    """setup.py: WITH_CUDA only when torch.cuda.is_available(); no GPU on a build machine, no FORCE_CUDA: CPU-only."""
    project = copy_project(tmp_path / "project")
    recipe = project / "recipes" / "torch_scatter.py"
    text = recipe.read_text()
    recipe.write_text(text.replace('"FORCE_CUDA": "1",', ""))
    variants = project / "variants.toml"
    variants.write_text(variants.read_text().replace('env = { USE_CUDA = "1", FORCE_CUDA = "1" }', 'env = { USE_CUDA = "1" }'))
    assert '"FORCE_CUDA": "1"' not in recipe.read_text() and 'FORCE_CUDA = "1"' not in variants.read_text()
    out = tmp_path / "out"
    run = wheelwright(project, *ARGS, output=out)
    assert run.returncode == 4  # verification failed (README: Exit codes)
    assert re.search(r"torch_scatter-2\.1\.2-cp312-cp312-\S+\.whl: GPU kernels missing for variant cuda-13\.0: "
                     r"torch_scatter/_scatter_cuda\.so carries no CUDA code; missing sm_90", run.stderr), run.stderr[-3000:]
    assert not list((out / "simple").glob("torch-scatter/*.whl"))
    index = json.loads((out / "index.json").read_text())
    assert not [name for name, entry in index["wheels"].items() if entry["project"] == "torch-scatter"]
    assert index["wheels"]  # the rest of the tree (torch, its runtime, the build tools) was published


@pytest.mark.gpu_stack
def test_xformers_builds_for_sm_90_with_its_own_kernels(tmp_path):
    """The stretch of the same pipeline: xformers 0.0.35 from its sdist (one extension, xformers/_C.so; `wheel` in its
    build environment through the recipe, since its setup.py imports wheel.bdist_wheel); numpy from source with it."""
    out = tmp_path / "out"
    run = wheelwright(copy_project(tmp_path / "project"), "--variant", "cuda", "--python", "3.12", "--archs", "sm_90", "xformers==0.0.35",
                      output=out)
    assert run.returncode == 0, run.stderr[-4000:]
    node = json.loads((out / "report.json").read_text())["nodes"]["xformers==0.0.35"]
    assert node["status"] == "built" and node["gpu_payload"] == ["xformers/_C.so: sm_90"]
    (wheel,) = (out / "simple" / "xformers").glob("xformers-0.0.35-py39-none-*.whl")
    module = tmp_path / "_C.so"
    with zipfile.ZipFile(wheel) as archive:
        module.write_bytes(archive.read("xformers/_C.so"))
    assert cuobjdump_images(cuobjdump(), module)["sass", "sm_90"] >= 1


@pytest.mark.gpu_stack
def test_the_torch_recipe_s_links_hold_for_pypis_cuda_torch_and_name_what_it_lacks(tmp_path):
    """recipes/torch.py's `links` (cuDNN, cuSPARSELt, cuFile, NCCL, NVSHMEM decided on, never detected) read against the
    real torch 2.11.0 CUDA wheel that PyPI publishes (the same check a from-source build gets): every declared library is
    linked; a library it was built without (cuDSS, off in PyPI's wheels) is named with what it does link."""
    from packaging.version import Version

    from helpers import REPO

    from wheelwright.config.constraints import load_constraints
    from wheelwright.config.variants import load_variants, select_variant
    from wheelwright.recipes import load_recipe
    from wheelwright.recipes.book import context
    from wheelwright.stages.linkage import missing_links

    run = wheelwright(copy_project(tmp_path / "project"), "--variant", "cuda", "--python", "3.12", "torch==2.11.0", output=tmp_path / "out")
    assert run.returncode == 0, run.stderr[-3000:]  # the prebuilt torch, sha256-verified, into our index
    (wheel,) = (tmp_path / "out" / "simple" / "torch").glob("torch-2.11.0-*.whl")
    variant = select_variant(load_variants(REPO / "variants.toml"), "cuda", "13.0")
    pins = load_constraints([REPO / "constraints" / c for c in variant.constraints]).exact_pins()
    links = load_recipe(REPO / "recipes", "torch").links(context("torch", Version("2.11.0"), variant, "3.12", pins=pins))
    assert missing_links(wheel, links) == []
    (lacking,) = missing_links(wheel, {"torch/lib/libtorch_cuda.so": ["libcudnn.so.*", "libcudss.so*"]})
    assert lacking.startswith("torch/lib/libtorch_cuda.so does not link libcudss.so* (it links ") and "libcudnn.so.9" in lacking
