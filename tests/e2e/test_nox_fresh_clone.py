"""`nox -l` on a fresh clone before `pip install`: never a traceback; one line saying what to run (the engine's
dependencies are missing from a bare nox), a misspelt session gets a "did you mean", and no library's debug
logging reaches the terminal through the DEBUG root logger nox sets up."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys

from helpers import REPO, copy_project


def test_nox_l_before_pip_install_says_what_to_run(tmp_path):
    venv = tmp_path / "bare"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PIP_", "PYTHON"))} | {"PIP_CONFIG_FILE": "/dev/null"}
    subprocess.run([str(venv / "bin" / "pip"), "install", "--quiet", "--isolated", "nox"], check=True, env=env)
    project = copy_project(tmp_path / "clone")
    shutil.copytree(REPO / "src", project / "src", ignore=shutil.ignore_patterns("__pycache__", "*.egg-info"))
    shutil.copy(REPO / "noxfile.py", project)
    listed = subprocess.run([str(venv / "bin" / "nox"), "-l"], cwd=project, capture_output=True, text=True, env=env, timeout=300)
    assert "Traceback" not in listed.stderr + listed.stdout
    lines = [line for line in (listed.stderr + listed.stdout).splitlines() if line.strip()]
    assert lines[-1].startswith("nox: the engine's dependencies are not installed") and "pip install -e '.[test]'" in lines[-1], lines


def test_a_misspelt_session_gets_a_suggestion(tmp_path):
    project = copy_project(tmp_path / "clone")
    shutil.copy(REPO / "noxfile.py", project)
    run = subprocess.run([sys.executable, "-m", "nox", "-s", "build-cpuu"], cwd=project, capture_output=True, text=True, timeout=300)
    assert run.returncode != 0 and "nox: no session 'build-cpuu' (did you mean 'build-cpu'?)" in run.stderr


def test_no_library_debug_logging_reaches_the_terminal(tmp_path):
    """The noxfile's process imports what the engine imports; cyclonedx's py_serializable logs ~800 lines at DEBUG on
    import, and nox's root handler would print them all. The noxfile, plus that import and a stray debug line, lists quietly."""
    project = copy_project(tmp_path / "clone")
    noxfile = (REPO / "noxfile.py").read_text()
    noxfile += "\nimport logging\nimport cyclonedx.model.bom  # noqa: E402,F401\nlogging.getLogger('somelib').debug('LEAKED-DEBUG')\n"
    noxfile += "logging.getLogger('somelib').warning('KEPT-WARNING')\n"
    (project / "noxfile.py").write_text(noxfile)
    run = subprocess.run([sys.executable, "-m", "nox", "-l"], cwd=project, capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stderr
    assert "Registering" not in run.stderr and "LEAKED-DEBUG" not in run.stderr, run.stderr[:2000]
    assert "KEPT-WARNING" in run.stderr and "* build-cpu" in run.stdout
