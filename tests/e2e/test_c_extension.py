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
    sbom = json.loads((project / "sbom" / "cpu" / f"{wheels[0].name}.cdx.json").read_text())
    assert sbom["metadata"]["component"]["hashes"][0]["content"] == hashlib.sha256(wheels[0].read_bytes()).hexdigest()
    from wheelwright.config.interpreters import find_interpreter

    venv_python = isolated_install(tmp_path, output / "simple", "markupsafe", python=str(find_interpreter(python).path))
    out = subprocess.run([str(venv_python), "-c", "import markupsafe._speedups as s; print(s.__file__)"], capture_output=True, text=True)
    assert out.returncode == 0 and "_speedups" in out.stdout, out.stderr
