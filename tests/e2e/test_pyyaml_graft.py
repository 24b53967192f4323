"""pyyaml through the whole pipeline: its recipe forces the libyaml extension, auditwheel grafts the
system libyaml, the SBOM lists the grafted library, and the repaired wheel installs and imports."""

from __future__ import annotations

import json
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
from helpers import copy_project, isolated_install, wheelwright

pytestmark = [
    pytest.mark.xdist_group("markupsafe"),
    pytest.mark.skipif(not Path("/usr/include/yaml.h").exists(), reason="needs libyaml-dev (.ci/run installs it: apt-get install libyaml-dev)"),
]


def minimum_elements(document: dict) -> None:
    """NTIA's minimum elements: author of the SBOM data and a timestamp; per component a name, a version, a unique
    identifier (bom-ref, purl); the dependency relationships. Suppliers are asserted where the metadata names one."""
    assert document["metadata"]["authors"] and document["metadata"]["timestamp"] and document["metadata"]["tools"]
    components = [document["metadata"]["component"], *document.get("components", [])]
    refs = [c["bom-ref"] for c in components]
    assert len(refs) == len(set(refs))
    for component in components:
        assert component["name"] and component.get("version"), component["name"]
        assert component.get("purl") or component.get("hashes") or component["type"] == "application", component["name"]
    assert document["dependencies"]


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
    # where it came from, as the builder's package manager says: Debian's libyaml-0-2, its version, its DEP-5 licence
    assert grafted[0]["purl"].startswith("pkg:deb/") and "/libyaml-0-2@" in grafted[0]["purl"] and grafted[0]["version"]
    assert grafted[0]["licenses"] == [{"expression": "MIT", "acknowledgement": "declared"}] and grafted[0]["supplier"]["name"]
    document = json.loads(published)
    assert document["metadata"]["component"]["supplier"] == {"name": "Kirill Simonov"}  # pyyaml's METADATA Author
    minimum_elements(document)
    minimum_elements(json.loads((output / "sbom" / "stack.cdx.json").read_text()))
    with zipfile.ZipFile(wheel) as zf:
        assert [n for n in zf.namelist() if "/sboms/" in n and not n.endswith("/")] == [f"pyyaml-{wheel.name.split('-')[1]}.dist-info/sboms/wheelwright.cdx.json"]  # auditwheel's folded
    strict = subprocess.run([sys.executable, "-m", "wheelwright", "--project", str(project), "licenses", "--strict", "--output-dir", str(output)],
                            capture_output=True, text=True)
    assert strict.returncode == 0, strict.stdout + strict.stderr  # every licence known, the grafted libyaml's included
    log = (output / "logs" / f"pyyaml-{wheel.name.split('-')[1]}.log").read_text()
    assert "# links and files: every declared library linked" in log  # the recipe's `links`: yaml/_yaml*.so -> libyaml-0.so*
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
    assert run.returncode == 4  # verification failed (README: Exit codes)
    assert "needs libraries that installing it does not bring on cpu: libyaml-0.so.2 (no wheel of its build environment has it, " \
           "and the variant's system_runtime does not list it)" in run.stderr, run.stderr[-3000:]
    assert not list((output / "simple").glob("pyyaml/*.whl"))


def test_a_library_the_recipe_wants_linked_but_the_build_left_out_fails_the_build(tmp_path):
    """What torch's CMake does with a cuDNN it cannot find (turns it off, warns, builds on), on a real extension: the
    recipe declares a library the built module does not link, and the wheel is refused naming it, before publishing."""
    project = copy_project(tmp_path / "project")
    recipe = project / "recipes" / "pyyaml.py"
    recipe.write_text(recipe.read_text().replace('["libyaml-0.so*"]', '["libyaml-0.so*", "libwebp.so*"]'))
    output = tmp_path / "out"
    run = wheelwright(project, "pyyaml", output=output)
    assert run.returncode == 4  # verification failed (README: Exit codes)
    assert "lacks what recipes/pyyaml.py declares for cpu: yaml/_yaml.cpython-" in run.stderr, run.stderr[-3000:]
    assert "does not link libwebp.so* (it links " in run.stderr and "libyaml-0.so.2" in run.stderr
    assert not list((output / "simple").glob("pyyaml/*.whl"))
