"""SIGKILL in the middle of a tree build, then a resume, gives the same index as an uninterrupted run."""

from __future__ import annotations

import hashlib
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from fakepypi import FakeProject
from helpers import copy_project

SLOW_TREE = [
    FakeProject("base", sleep=0.5),
    FakeProject("mid", build_requires=["base"], requires_dist=["leaf"], sleep=0.5),
    FakeProject("leaf", sleep=0.5),
    FakeProject("top", build_requires=["mid"], requires_dist=["leaf"], sleep=0.5),
]


def _command(project: Path, output: Path, cache: Path, url: str) -> list[str]:
    return [sys.executable, "-m", "wheelwright", "--project", str(project), "build", "--output-dir", str(output),
            "--cache-dir", str(cache), "--index-url", url, "--jobs", "2", "top"]


def _index_state(output: Path) -> dict[str, str]:
    simple = output / "simple"
    return {str(p.relative_to(simple)): hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(simple.rglob("*")) if p.is_file()}


def test_sigkill_then_resume_matches_an_uninterrupted_run(tmp_path, fake_pypi):
    fake_pypi.add(*SLOW_TREE)
    project = copy_project(tmp_path / "project")
    reference = tmp_path / "reference"
    subprocess.run(_command(project, reference, tmp_path / "cache", fake_pypi.url), check=True, capture_output=True)
    expected = _index_state(reference)
    assert len([k for k in expected if k.endswith(".whl")]) == 4

    for kill_after in (0.3, 1.0, 1.8, 2.6, 3.4):  # seconds into the run: before, during and between builds
        output = tmp_path / f"killed-{kill_after}"
        process = subprocess.Popen(_command(project, output, tmp_path / "cache", fake_pypi.url), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(kill_after)
        os.kill(process.pid, signal.SIGKILL)
        process.wait()
        partial = _index_state(output) if (output / "simple").exists() else {}
        assert not [k for k in partial if k.endswith(".tmp") and "/." not in k]
        for path, digest in partial.items():  # whatever a kill left published is complete and correct
            if path.endswith(".whl"):
                assert expected[path] == digest
        resumed = subprocess.run(_command(project, output, tmp_path / "cache", fake_pypi.url), capture_output=True, text=True)
        assert resumed.returncode == 0, resumed.stderr
        assert _index_state(output) == expected, kill_after
