"""`wheelwright check-reproducible` on real compiled packages: markupsafe, pyyaml (libyaml grafted) and cffi, with
their build tools, rebuilt under another build path, umask 0002, TZ, locale, HOME, user, hostname and --jobs, are
bit-identical to the published wheels, and the result is recorded in the index manifest."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
from helpers import SHARED_CACHE, copy_project

pytestmark = pytest.mark.xdist_group("markupsafe")


def test_markupsafe_pyyaml_cffi_are_bit_identical_under_every_perturbation(tmp_path):
    project = copy_project(tmp_path / "project")
    output = tmp_path / "out"
    run = subprocess.run([sys.executable, "-m", "wheelwright", "--project", str(project), "check-reproducible", "--variant", "cpu",
                          "--output-dir", str(output), "--cache-dir", str(SHARED_CACHE), "markupsafe", "pyyaml", "cffi"],
                         capture_output=True, text=True, timeout=2400)
    assert run.returncode == 0, run.stdout[-4000:] + run.stderr[-2000:]
    lines = run.stdout.strip().splitlines()
    assert "umask 0o2" in lines[0] and "TZ=Pacific/Kiritimati" in lines[0] and "USER=reprotest" in lines[0]
    checked = [line for line in lines if line.startswith(("identical ", "DIFFERS "))]
    assert {line.split()[1].split("-")[0] for line in checked} >= {"markupsafe", "pyyaml", "cffi", "setuptools", "pycparser"}
    assert all(line.startswith("identical ") for line in checked) and lines[-1].endswith("difference classes: none")
    manifest = json.loads((output / "index.json").read_text())["wheels"]
    assert all(entry["reproducible"] == {"identical": True, "classes": []} for name, entry in manifest.items()
               if name.split("-")[0] in {"markupsafe", "pyyaml", "cffi"})
