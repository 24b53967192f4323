"""pyyaml through the whole pipeline: its recipe forces the libyaml extension, auditwheel grafts the
system libyaml, the SBOM lists the grafted library, and the repaired wheel installs and imports."""

from __future__ import annotations

import json
import subprocess
import zipfile
from pathlib import Path

import pytest
from helpers import copy_project, isolated_install, wheelwright

pytestmark = [
    pytest.mark.xdist_group("markupsafe"),
    pytest.mark.skipif(not Path("/usr/include/yaml.h").exists(), reason="needs libyaml-dev (.ci/run installs it: apt-get install libyaml-dev)"),
]


def test_pyyaml_grafts_libyaml_and_says_so(tmp_path):
    from cyclonedx.schema import SchemaVersion
    from cyclonedx.validation.json import JsonStrictValidator

    project = copy_project(tmp_path / "project")
    output = tmp_path / "out"
    run = wheelwright(project, "pyyaml", output=output)
    assert run.returncode == 0, run.stderr[-3000:]
    (wheel,) = (output / "simple" / "pyyaml").glob("*.whl")
    assert "manylinux" in wheel.name
    with zipfile.ZipFile(wheel) as zf:
        libs = [n for n in zf.namelist() if n.startswith("pyyaml.libs/libyaml-")]
    assert len(libs) == 1
    published = (output / "sbom" / f"{wheel.name}.cdx.json").read_text()
    assert JsonStrictValidator(SchemaVersion.V1_6).validate_str(published) is None
    grafted = [c for c in json.loads(published)["components"]
               if {"name": "wheelwright:role", "value": "grafted-library"} in c.get("properties", [])]
    assert [c["name"] for c in grafted] == ["libyaml-0.so.2"] and grafted[0]["hashes"][0]["content"]
    python = isolated_install(tmp_path, output / "simple", "pyyaml")
    out = subprocess.run([str(python), "-c", "import yaml; print(yaml.__with_libyaml__, yaml.load('a: 1', Loader=yaml.CLoader))"],
                         capture_output=True, text=True)
    assert out.returncode == 0 and out.stdout.strip() == "True {'a': 1}", out.stderr


def test_a_library_the_variant_never_grafts_must_come_with_a_requirement_or_the_host(tmp_path):
    """The same real build, on a cpu variant that never grafts libyaml and declares no host runtime for it: the wheel
    would import only where libyaml happens to be installed, so it is refused naming the library, and not published."""
    project = copy_project(tmp_path / "project")
    variants = project / "variants.toml"
    variants.write_text(variants.read_text().replace("[variant.cpu]\n", '[variant.cpu]\nnever_graft = ["libyaml-0.so*"]\n', 1))
    output = tmp_path / "out"
    run = wheelwright(project, "pyyaml", output=output)
    assert run.returncode != 0
    assert "needs libraries that installing it does not bring on cpu: libyaml-0.so.2 (no wheel of its build environment has it, " \
           "and the variant's system_runtime does not list it)" in run.stderr, run.stderr[-3000:]
    assert not list((output / "simple").glob("pyyaml/*.whl"))
