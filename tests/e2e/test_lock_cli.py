"""`nox -s lock-cpu` through the CLI: pip-compile pins the tree with hashes into constraints/."""

from __future__ import annotations

import subprocess
import sys

from helpers import copy_project


def test_lock_writes_a_hashed_constraints_file_the_build_can_include(tmp_path):
    project = copy_project(tmp_path / "project")
    run = subprocess.run([sys.executable, "-m", "wheelwright", "--project", str(project), "lock", "--variant", "cpu", "jinja2"],
                         capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stderr
    lock = project / "constraints" / "cpu.lock.txt"
    text = lock.read_text()
    assert "nox -s lock-cpu" in text and "jinja2==" in text and "markupsafe==" in text and "--hash=sha256:" in text
    from wheelwright.config.constraints import load_constraints

    pinned = load_constraints([lock])
    assert str(pinned.specifier_for("markupsafe")).startswith("==")
    matrix = subprocess.run([sys.executable, "-m", "wheelwright", "--project", str(project), "matrix", "--json"], capture_output=True, text=True)
    assert '"cpu": "cpu.lock.txt"' in matrix.stdout
