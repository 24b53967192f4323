"""markupsafe: a C extension built through its real recipe, installed from our index, and imported."""

from __future__ import annotations

import hashlib
import json
import subprocess
import zipfile

import pytest
from helpers import copy_project, isolated_install, wheelwright

from wheelwright.config.interpreters import available_versions


pytestmark = pytest.mark.xdist_group("markupsafe")


@pytest.mark.parametrize("python", ["3.11", "3.12"])
def test_markupsafe_ships_its_speedups(tmp_path, python):
    if python not in available_versions((python,)):
        pytest.skip(f"python{python} is not installed here")
    project = copy_project(tmp_path / "project")
    output = tmp_path / "out"
    run = wheelwright(project, "--python", python, "markupsafe", output=output)
    assert run.returncode == 0, run.stderr[-3000:]
    tag = "cp" + python.replace(".", "")
    wheels = list((output / "simple" / "markupsafe").glob(f"markupsafe-*-{tag}-{tag}-*manylinux_2_*_x86_64.whl"))
    assert len(wheels) == 1, list((output / "simple" / "markupsafe").iterdir())
    with zipfile.ZipFile(wheels[0]) as zf:
        assert any(n.startswith("markupsafe/_speedups.") and n.endswith(".so") for n in zf.namelist())
        assert any(n.endswith(".dist-info/sboms/wheelwright.cdx.json") for n in zf.namelist())
    sbom = json.loads((output / "sbom" / f"{wheels[0].name}.cdx.json").read_text())
    assert sbom["metadata"]["component"]["hashes"][0]["content"] == hashlib.sha256(wheels[0].read_bytes()).hexdigest()
    from wheelwright.config.interpreters import find_interpreter

    venv_python = isolated_install(tmp_path, output / "simple", "markupsafe", python=str(find_interpreter(python).path))
    out = subprocess.run([str(venv_python), "-c", "import markupsafe._speedups as s; print(s.__file__)"], capture_output=True, text=True)
    assert out.returncode == 0 and "_speedups" in out.stdout, out.stderr


def test_one_plan_builds_markupsafe_for_two_interpreters(tmp_path):
    """--python 3.11,3.12: one plan, a platform wheel per interpreter, the pure build tools built once and
    shared; each interpreter installs its own wheel from the one index and imports the C extension."""
    if not {"3.11", "3.12"} <= set(available_versions(("3.11", "3.12"))):
        pytest.skip("needs python3.11 and python3.12")
    project = copy_project(tmp_path / "project")
    output = tmp_path / "out"
    run = wheelwright(project, "--python", "3.11,3.12", "markupsafe", output=output)
    assert run.returncode == 0, run.stderr[-3000:]
    report = json.loads((output / "report.json").read_text())["nodes"]
    markupsafe = {n: r for n, r in report.items() if n.startswith("markupsafe==")}
    assert sorted(r["status"] for r in markupsafe.values()) == ["built", "built"]
    assert {r["wheel"].split("-")[2] for r in markupsafe.values()} == {"cp311", "cp312"}
    tools = {n: r for n, r in report.items() if n.startswith("setuptools==")}
    assert sorted(r["status"] for r in tools.values()) == ["built", "shared"]  # a pure build tool: built once
    assert len({r["wheel"] for r in tools.values()}) == 1
    plan = json.loads((output / "plan.json").read_text())
    assert plan["pythons"] == ["3.11", "3.12"]
    from wheelwright.config.interpreters import find_interpreter

    for python in ("3.11", "3.12"):
        venv = isolated_install(tmp_path / python, output / "simple", "markupsafe", python=str(find_interpreter(python).path))
        out = subprocess.run([str(venv), "-c", "import markupsafe._speedups"], capture_output=True, text=True)
        assert out.returncode == 0, out.stderr
