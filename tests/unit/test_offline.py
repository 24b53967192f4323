"""--offline: a builder with no network at all (an air-gapped host, the GPU machine) rebuilds from a
filled cache, and a cache miss names exactly what is missing."""

from __future__ import annotations

import hashlib
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from fakepypi import FakeProject
from helpers import copy_project

from wheelwright.cli import main

TREE = [FakeProject("app", build_requires=["tool"], requires_dist=["lib"]), FakeProject("tool"), FakeProject("lib")]


def _build(project: Path, output: Path, cache: Path, url: str, *extra: str, no_network: bool = False) -> subprocess.CompletedProcess:
    command = [sys.executable, "-m", "wheelwright", "--project", str(project), "build", "--output-dir", str(output),
               "--cache-dir", str(cache), "--index-url", url, "--jobs", "2", *extra, "app"]
    if no_network:  # a network namespace of our own: not even the fake index on loopback is reachable
        command = ["unshare", "--net", "--", *command]
    return subprocess.run(command, capture_output=True, text=True)


def _wheels(output: Path) -> dict[str, str]:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted((output / "simple").rglob("*.whl"))}


def _can_unshare() -> bool:
    return subprocess.run(["unshare", "--net", "true"], capture_output=True).returncode == 0


needs_netns = pytest.mark.skipif(not _can_unshare(), reason="needs unshare --net (root or user namespaces)")


@needs_netns
def test_offline_rebuild_without_any_network_matches_the_online_build(tmp_path, fake_pypi):
    fake_pypi.add(*TREE)
    project = copy_project(tmp_path / "project")
    online = _build(project, tmp_path / "online", tmp_path / "cache", fake_pypi.url)
    assert online.returncode == 0, online.stderr
    offline = _build(project, tmp_path / "offline", tmp_path / "cache", fake_pypi.url, "--offline", no_network=True)
    assert offline.returncode == 0, offline.stderr
    assert _wheels(tmp_path / "offline") == _wheels(tmp_path / "online")
    assert len(_wheels(tmp_path / "offline")) == 3


@needs_netns
def test_offline_with_a_missing_sdist_names_it_and_publishes_nothing(tmp_path, fake_pypi):
    fake_pypi.add(*TREE)
    project = copy_project(tmp_path / "project")
    assert _build(project, tmp_path / "online", tmp_path / "cache", fake_pypi.url).returncode == 0
    for archive in list((tmp_path / "cache" / "sdists").rglob("lib-1.0.tar.gz")):
        shutil.rmtree(archive.parent)
    result = _build(project, tmp_path / "offline", tmp_path / "cache", fake_pypi.url, "--offline", no_network=True)
    assert result.returncode == 1
    error = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert len(error) == 1 and "lib-1.0.tar.gz: not in the source cache" in error[0] and "--offline" in error[0], result.stderr
    assert not list((tmp_path / "offline" / "simple").rglob("lib-*.whl"))


def test_refresh_and_offline_together_are_refused(workspace, capsys):
    code = main(["--project", str(workspace.root), "build", "--cache-dir", str(workspace.cache), "--refresh", "--offline", "ok"])
    assert code == 1 and "error: --refresh and --offline contradict each other" in capsys.readouterr().err


def _tamper(cache: Path, filename: str) -> Path:
    [archive] = list((cache / "sdists").rglob(filename))
    archive.write_bytes(archive.read_bytes()[:-8] + b"TAMPERED")
    return archive


def test_a_tampered_cache_file_is_refused_and_fetched_again(tmp_path, fake_pypi):
    fake_pypi.add(*TREE)
    project = copy_project(tmp_path / "project")
    assert _build(project, tmp_path / "first", tmp_path / "cache", fake_pypi.url).returncode == 0
    archive = _tamper(tmp_path / "cache", "lib-1.0.tar.gz")
    again = _build(project, tmp_path / "second", tmp_path / "cache", fake_pypi.url)
    assert again.returncode == 0, again.stderr
    assert hashlib.sha256(archive.read_bytes()).hexdigest() == archive.parent.name  # the good copy is back
    assert _wheels(tmp_path / "second") == _wheels(tmp_path / "first")


def test_offline_a_tampered_cache_file_is_refused_and_named(tmp_path, fake_pypi):
    fake_pypi.add(*TREE)
    project = copy_project(tmp_path / "project")
    assert _build(project, tmp_path / "first", tmp_path / "cache", fake_pypi.url).returncode == 0
    archive = _tamper(tmp_path / "cache", "lib-1.0.tar.gz")
    result = _build(project, tmp_path / "offline", tmp_path / "cache", fake_pypi.url, "--offline")
    assert result.returncode == 1 and f"error: lib-1.0.tar.gz: the cached copy {archive} fails its sha256 check" in result.stderr
    assert not (tmp_path / "offline" / "simple" / "lib").exists()
