"""`check-reproducible` on fake projects: a build that lets its environment into the wheel (build path, hostname,
TZ, user) is caught with the class of the difference and exit 1; the umask no longer reaches a wheel's bytes; an
honest build is identical; results land in reproducible.json, report.json and the index manifest."""

from __future__ import annotations

import json

import pytest
from fakepypi import FakeProject

from wheelwright.cli import main


def _check(workspace, capsys, *requirements: str):
    code = main(["--project", str(workspace.root), "check-reproducible", "--variant", "cpu", "--cache-dir", str(workspace.cache),
                 "--index-url", workspace.index_url, "--jobs", "2", *requirements])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_an_honest_build_is_identical_and_the_result_is_recorded(workspace, fake_pypi, capsys):
    fake_pypi.add(FakeProject("honest", leak=["umask"]))  # setuptools-style modes: the umask must not matter
    code, out, err = _check(workspace, capsys, "honest")
    assert code == 0, out + err
    assert "identical honest-1.0-py3-none-any.whl" in out and out.strip().splitlines()[-1] == "1 wheels checked, 1 identical; difference classes: none"
    assert "umask 0o2" in out and "TZ=Pacific/Kiritimati" in out
    manifest = json.loads((workspace.output / "index.json").read_text())
    assert manifest["wheels"]["honest-1.0-py3-none-any.whl"]["reproducible"] == {"identical": True, "classes": []}
    assert json.loads((workspace.output / "report.json").read_text())["reproducible"]["identical"] == 1
    assert json.loads((workspace.output / "reproducible.json").read_text())["checked"] == 1
    stack = json.loads((workspace.output / "sbom" / "stack.cdx.json").read_text())
    (honest,) = [c for c in stack["components"] if {"name": "wheelwright:wheel-file", "value": "honest-1.0-py3-none-any.whl"} in c["properties"]]
    assert {"name": "wheelwright:reproducible", "value": "identical"} in honest["properties"]
    from cyclonedx.schema import SchemaVersion
    from cyclonedx.validation.json import JsonStrictValidator

    assert JsonStrictValidator(SchemaVersion.V1_6).validate_str(json.dumps(stack)) is None


@pytest.mark.parametrize("leak, kind", [("cwd", "embedded absolute path"), ("tz", "content"), ("user", "content"), ("hostname", "content")])
def test_a_build_that_leaks_its_environment_is_caught_with_the_class(workspace, fake_pypi, capsys, leak, kind):
    fake_pypi.add(FakeProject("leaky", leak=[leak]))
    code, out, err = _check(workspace, capsys, "leaky")
    if leak == "hostname" and "hostname unchanged" in out:
        pytest.skip("this machine gives the rebuild no UTS namespace of its own")
    assert code == 1, out + err
    (line,) = [line for line in out.splitlines() if line.startswith("DIFFERS   leaky-1.0-py3-none-any.whl: ")]
    assert kind in line and "RECORD" in line, out  # the leak, and RECORD which follows it
    assert f"    leaky/leak_{leak}.txt: {kind}" in out.splitlines()
    print(out)
    entry = json.loads((workspace.output / "index.json").read_text())["wheels"]["leaky-1.0-py3-none-any.whl"]["reproducible"]
    assert entry["identical"] is False and kind in entry["classes"]
