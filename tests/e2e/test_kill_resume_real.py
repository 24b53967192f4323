"""SIGKILL at random points of a real tree build (attrs: 15 packages from PyPI sdists, its hatchling,
hatch-vcs, setuptools-scm… backends built from source too), then a resume, gives the index an
uninterrupted run gives: the same files with the same hashes."""

from __future__ import annotations

import hashlib
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from helpers import SHARED_CACHE, copy_project

pytestmark = pytest.mark.xdist_group("kill-real")


def _command(project: Path, output: Path) -> list[str]:
    return [sys.executable, "-m", "wheelwright", "--project", str(project), "build", "--output-dir", str(output),
            "--cache-dir", str(SHARED_CACHE), "attrs"]


def _index(output: Path) -> dict[str, str]:
    simple = output / "simple"
    return {str(p.relative_to(simple)): hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(simple.rglob("*")) if p.is_file()}


def test_sigkill_at_random_points_then_resume_gives_the_uninterrupted_index(tmp_path):
    project = copy_project(tmp_path / "project")
    started = time.monotonic()
    reference = subprocess.run(_command(project, tmp_path / "reference"), capture_output=True, text=True, timeout=1800)
    duration = time.monotonic() - started
    assert reference.returncode == 0, reference.stderr[-3000:]
    expected = _index(tmp_path / "reference")
    assert len([k for k in expected if k.endswith(".whl")]) >= 10

    seed = int(os.environ.get("WHEELWRIGHT_KILL_SEED", time.time_ns() % 100_000))
    points = sorted(random.Random(seed).uniform(0.5, 0.9 * duration) for _ in range(5))
    for number, kill_after in enumerate(points):
        where = f"seed {seed}, kill {number} at {kill_after:.1f}s of {duration:.1f}s"
        output = tmp_path / f"killed-{number}"
        process = subprocess.Popen(_command(project, output), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
        time.sleep(kill_after)
        os.killpg(process.pid, signal.SIGKILL)  # the whole job, backends included, as a cancelled CI job or the OOM killer would
        process.wait()
        partial = _index(output) if (output / "simple").exists() else {}
        assert not [k for k in partial if k.endswith(".tmp") and not Path(k).name.startswith(".")], where
        for path, digest in partial.items():  # whatever a kill left published is complete and correct
            if path.endswith(".whl"):
                assert expected[path] == digest, where
        resumed = subprocess.run(_command(project, output), capture_output=True, text=True, timeout=1800)
        assert resumed.returncode == 0, f"{where}: {resumed.stderr[-3000:]}"
        assert _index(output) == expected, where
