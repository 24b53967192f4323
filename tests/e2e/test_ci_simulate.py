"""The generated workflow run without GitHub (`wheelwright ci simulate`): every job in a fresh clone with an empty
cache, seeing only the artifacts of the jobs it needs. The merged index of the distributed build must be
byte-identical, wheel for wheel, to a single-machine build of the same requirements."""

from __future__ import annotations

import hashlib
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from gpuproject import recipe, sdist
from helpers import REPO, SHARED_CACHE

pytestmark = pytest.mark.xdist_group("ci-simulate")


def _repo(tmp_path: Path) -> Path:
    """A clone of this repository (what each simulated job clones in turn), with the generated files committed."""
    repo = tmp_path / "repo"
    subprocess.run(["git", "clone", "--quiet", str(REPO), str(repo)], check=True)
    for folder in ("src", "recipes", "patches", "constraints", "tests"):  # the working tree under test, committed or not
        shutil.copytree(REPO / folder, repo / folder, dirs_exist_ok=True, ignore=shutil.ignore_patterns("__pycache__", "*.egg-info"))
    for name in ("variants.toml", "renames.toml", "pyproject.toml"):
        shutil.copy(REPO / name, repo / name)
    return repo


def _commit(repo: Path) -> None:
    subprocess.run(["git", "-C", str(repo), "add", "-A"], check=True)
    subprocess.run(["git", "-C", str(repo), "-c", "user.name=t", "-c", "user.email=t@t", "commit", "--quiet", "-m", "generated"], check=True)


def _wheelwright(repo: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "wheelwright", "--project", str(repo), *args], capture_output=True, text=True, timeout=3600)


def _wheels(simple: Path) -> dict[str, str]:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(simple.glob("*/*.whl"))}


def _distributed_equals_single(tmp_path: Path, variant: str, label: str, *requirements: str, index: tuple[str, ...] = (),
                               prepare=lambda repo: None) -> dict[str, str]:
    repo = _repo(tmp_path)
    prepare(repo)
    run = _wheelwright(repo, "ci", "generate", "--variant", variant, "--cache-dir", str(SHARED_CACHE), *index, *requirements)
    assert run.returncode == 0, run.stderr
    _commit(repo)
    run = _wheelwright(repo, "ci", "simulate", str(repo / ".github" / "workflows" / f"wheelwright-{label}.yml"), "--output-dir", str(tmp_path / "sim"))
    assert run.returncode == 0, run.stderr[-4000:]
    run = _wheelwright(repo, "build", "--variant", variant, "--output-dir", str(tmp_path / "single"), "--cache-dir", str(SHARED_CACHE), *index, *requirements)
    assert run.returncode == 0, run.stderr[-4000:]
    distributed, single = _wheels(tmp_path / "sim" / "simple"), _wheels(tmp_path / "single" / "simple")
    assert distributed == single
    assert (tmp_path / "sim" / "index.json").is_file() and (tmp_path / "sim" / "sbom" / "stack.cdx.json").is_file()
    assert (tmp_path / "sim" / "licenses.txt").read_text().count("\n") >= len(single)
    return distributed


def test_the_requests_tree_markupsafe_and_pyyaml_distributed_equal_one_machine(tmp_path):
    wheels = _distributed_equals_single(tmp_path, "cpu", "cpu", "requests", "markupsafe", "pyyaml")
    assert any(name.startswith("markupsafe-") and "manylinux" in name for name in wheels)
    assert any(name.lower().startswith("pyyaml-") for name in wheels) and any(n.startswith("requests-") for n in wheels)


def test_the_gpu_project_for_cuda_distributed_equals_one_machine(tmp_path, fake_pypi):
    if shutil.which("nvcc") is None:
        pytest.skip("nvcc is not installed (NVIDIA's pip packages)")
    fake_pypi.add_file("gpukern", *sdist())

    def prepare(repo: Path) -> None:
        (repo / "recipes" / "gpukern.py").write_text(recipe(with_env=True))
        variants = repo / "variants.toml"  # only archs this machine's nvcc compiles in seconds (the real row has eight)
        text = variants.read_text().replace('archs = ["sm_75", "sm_80", "sm_86", "sm_89", "sm_90", "sm_100", "sm_110", "sm_120"]', 'archs = ["sm_80", "sm_90"]')
        assert 'archs = ["sm_80", "sm_90"]' in text
        variants.write_text(text)

    wheels = _distributed_equals_single(tmp_path, "cuda", "cuda-13.0", "gpukern", index=("--index-url", fake_pypi.url), prepare=prepare)
    assert [n for n in wheels if n.startswith("gpukern-")]


def test_a_job_missing_a_need_fails_in_the_simulation(tmp_path):
    repo = _repo(tmp_path)
    run = _wheelwright(repo, "ci", "generate", "--variant", "cpu", "--cache-dir", str(SHARED_CACHE), "idna")
    assert run.returncode == 0, run.stderr
    workflow = repo / ".github" / "workflows" / "wheelwright-cpu.yml"
    document = yaml.safe_load(workflow.read_text())
    idna = next(job for name, job in document["jobs"].items() if name.startswith("build-idna"))
    assert idna["needs"]
    del idna["needs"]  # flit-core's job may now run after it, or not at all before it
    workflow.write_text(yaml.safe_dump(document, sort_keys=False))
    _commit(repo)
    run = _wheelwright(repo, "ci", "simulate", str(workflow), "--output-dir", str(tmp_path / "sim"))
    assert run.returncode == 1
    assert "build-idna" in run.stderr and "no artifact 'wheelwright-flit-core" in run.stderr, run.stderr[-3000:]
