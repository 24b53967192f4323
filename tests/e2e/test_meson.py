"""meson-python and meson built from their PyPI sdists for cpu, installed from our index alone, and run.

meson's sdist carries Cargo.toml files as test data ("test cases/rust/..."): it is a setuptools package,
not a Rust one, so nothing may run cargo for it (crates.io is out of reach here, so `cargo vendor` fails).
"""

from __future__ import annotations

import json
import shutil
import subprocess

import pytest
from helpers import copy_project, isolated_install, wheelwright

pytestmark = [
    pytest.mark.xdist_group("meson"),
    pytest.mark.skipif(shutil.which("ninja") is None, reason="meson-python builds itself with meson, which needs ninja"),
]


def test_meson_python_and_meson_build_from_source_and_run(tmp_path):
    project = copy_project(tmp_path / "project")
    output = tmp_path / "out"
    run = wheelwright(project, "--variant", "cpu", "meson-python", output=output)
    assert run.returncode == 0, run.stderr[-3000:]
    report = json.loads((output / "report.json").read_text())["nodes"]
    names = {node.split("==")[0] for node in report}
    assert {"meson-python", "meson", "pyproject-metadata", "packaging"} <= names, sorted(names)
    [meson] = [node for node in report if node.startswith("meson==")]
    log = (output / "logs" / f"{meson.replace('==', '-')}.log").read_text()
    assert "# cargo vendor" not in log and "# vendored" not in log and "CARGO_HOME=" not in log  # its Cargo.toml files are test data

    python = isolated_install(tmp_path, output / "simple", "meson", "meson-python")
    out = subprocess.run([str(python), "-c", "import mesonpy; print(mesonpy.__file__)"], capture_output=True, text=True)
    assert out.returncode == 0 and "mesonpy" in out.stdout, out.stderr
    version = subprocess.run([str(python.parent / "meson"), "--version"], capture_output=True, text=True)
    assert version.returncode == 0 and version.stdout.strip()[:1].isdigit(), version.stderr
    assert meson.split("==")[1] == version.stdout.strip()
