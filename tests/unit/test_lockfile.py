"""Locks without the network: pip-compile against a file:// index of tiny wheels made here."""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import os
import sys
import zipfile
from pathlib import Path

import pytest

from wheelwright.errors import ConfigError, WheelwrightError
from wheelwright.tools.lockfile import (
    LockError,
    LockTool,
    compile_lock,
    explain_failure,
    find_lock_tool,
    input_files,
    isolated_environment,
    parse_pins,
    render_header,
)

INDEX = "https://pypi.org/simple"


def _wheel(name: str, version: str, requires: tuple[str, ...] = ()) -> tuple[str, bytes]:
    dist = name.replace("-", "_")
    info = f"{dist}-{version}.dist-info"
    metadata = f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n" + "".join(f"Requires-Dist: {r}\n" for r in requires)
    files = {
        f"{dist}/__init__.py": "",
        f"{info}/METADATA": metadata,
        f"{info}/WHEEL": "Wheel-Version: 1.0\nGenerator: test\nRoot-Is-Purelib: true\nTag: py3-none-any\n",
        f"{info}/RECORD": "",
    }
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as zf:
        for path, text in files.items():
            zf.writestr(zipfile.ZipInfo(path, (1980, 1, 1, 0, 0, 0)), text)
    return f"{dist}-{version}-py3-none-any.whl", buffer.getvalue()


def _index(root: Path, *projects: tuple[str, str, tuple[str, ...]]) -> str:
    """A PEP 503 tree that pip reads through a file:// URL (it opens each folder's index.html); returns that URL."""
    for name, version, requires in projects:
        filename, data = _wheel(name, version, requires)
        folder = root / name
        folder.mkdir(parents=True, exist_ok=True)
        (folder / filename).write_bytes(data)
        links = "".join(f'<a href="{w.name}#sha256={hashlib.sha256(w.read_bytes()).hexdigest()}">{w.name}</a>\n'
                        for w in sorted(folder.glob("*.whl")))
        (folder / "index.html").write_text(f"<!DOCTYPE html>\n<html><body>\n{links}</body></html>\n")
    return root.resolve().as_uri()


def _sha(root: Path, name: str, version: str) -> str:
    return hashlib.sha256((root / name / f"{name}-{version}-py3-none-any.whl").read_bytes()).hexdigest()


@pytest.fixture
def index(tmp_path: Path) -> tuple[Path, str]:
    root = tmp_path / "index"
    url = _index(root, ("alpha", "1.0", ("beta>=1",)), ("beta", "1.0", ()), ("beta", "2.0", ()),
                 ("gamma", "1.0", ("beta>=2",)))
    return root, url


# --- pure parts ---------------------------------------------------------------------------------

def test_isolated_environment_drops_every_pip_variable():
    env = isolated_environment({"PIP_FIND_LINKS": "/opt/wheels", "PIP_INDEX_URL": "http://x", "PIP_CONSTRAINT": "c",
                                "PATH": "/bin", "PYTHONPATH": "/evil"})
    assert env["PIP_CONFIG_FILE"] == os.devnull
    assert not {k for k in env if k.startswith("PIP_")} - {"PIP_CONFIG_FILE", "PIP_DISABLE_PIP_VERSION_CHECK"}
    assert env["PATH"] == "/bin" and "PYTHONPATH" not in env


def test_parse_pins_reads_pins_with_markers_and_skips_hashes_and_comments():
    text = (
        "# header\njinja2==3.1.6 \\\n    --hash=sha256:aa \\\n    --hash=sha256:bb\n    # via -r requirements.in\n"
        "MarkupSafe==3.0.4 ; python_version >= \"3.9\" \\\n    --hash=sha256:cc\n"
        "\n# The following packages are considered to be unsafe in a requirements file:\nsetuptools==80.0.0 \\\n"
        "    --hash=sha256:dd\n"
    )
    assert parse_pins(text) == {"jinja2": "3.1.6", "markupsafe": "3.0.4", "setuptools": "80.0.0"}


def test_explain_failure_names_the_requirement_in_one_line():
    not_found = ("  ERROR: Could not find a version that satisfies the requirement jinja2<0 (from versions: 2.0, 3.1.6)\n"
                 "Traceback (most recent call last):\n  File \"x\", line 1\n"
                 "pip._internal.exceptions.DistributionNotFound: No matching distribution found for jinja2<0\n")
    message = explain_failure(not_found, ["jinja2<0"], INDEX)
    assert message == f"lock failed: no version of jinja2<0 on {INDEX} fits the requirements and constraints"

    conflict = ("  ERROR: Cannot install -r /tmp/wheelwright-lock-x/requirements.in (line 2) because these package "
                "versions have conflicting dependencies.\nTraceback (most recent call last):\n"
                "pip._vendor.resolvelib.resolvers.ResolutionImpossible: [RequirementInformation(requirement="
                "SpecifierRequirement('MarkupSafe>=2.0'), parent=LinkCandidate('https://x/jinja2-3.1.6.whl'))]\n")
    message = explain_failure(conflict, ["requests", "jinja2>=3"], INDEX)
    assert "jinja2>=3" in message and "MarkupSafe>=2.0" in message and "\n" not in message

    offline = "WARNING: Retrying ... NewConnectionError('Failed to establish a new connection')\nERROR: x\n"
    assert explain_failure(offline, ["a"], INDEX) == f"lock failed: cannot reach the index {INDEX}"

    odd = "Traceback (most recent call last):\n  File \"x\"\nclick.exceptions.BadParameter: something odd\n"
    assert explain_failure(odd, ["a"], INDEX) == "lock failed: pip-compile: click.exceptions.BadParameter: something odd"


def test_header_records_command_tool_date_and_every_input_with_its_sha256(tmp_path):
    (tmp_path / "common.txt").write_text("filelock<=4.2.9\n")
    (tmp_path / "cpu.txt").write_text("# cpu\n-c common.txt\n")
    inputs = input_files([tmp_path / "cpu.txt"])
    assert [p.name for p, _ in inputs] == ["cpu.txt", "common.txt"]
    tool = LockTool(Path(sys.executable), "cpython", "3.11.7", "x86_64", "linux", "7.6.2", "23.2.1")
    header = render_header("nox -s lock-cpu", ["jinja2", "filelock"], inputs, base=tmp_path, tool=tool,
                           index_url=INDEX, today=dt.date(2026, 1, 2))
    first = header.splitlines()[0]
    assert first == "# Generated by `nox -s lock-cpu` with pip-compile (pip-tools 7.6.2, pip 23.2.1) on 2026-01-02."
    assert all(line.startswith("#") for line in header.splitlines())
    digest = hashlib.sha256(b"filelock<=4.2.9\n").hexdigest()
    assert f"#   common.txt {digest}  (included by cpu.txt)" in header
    assert "#   jinja2" in header and "`-c <this file>`" in header and "CPython 3.11.7" in header
    assert str(tmp_path) not in header  # relative names: the lock is committed, machine paths are not


def test_refuses_a_target_python_it_cannot_lock_for(tmp_path):
    fake = tmp_path / "python3.99"
    fake.write_text('#!/bin/sh\necho \'{"implementation": "cpython", "version": [3, 99, 0], "full_version": "3.99.0", '
                    '"machine": "x86_64", "platform": "linux", "pip_tools": null, "pip": null}\'\n')
    fake.chmod(0o755)
    with pytest.raises(ConfigError, match="pip-compile resolves only for the interpreter it runs in"):
        find_lock_tool(fake)
    assert find_lock_tool(Path(sys.executable)).pip_tools_version


def test_bad_inputs_are_config_errors_before_anything_runs(tmp_path):
    with pytest.raises(ConfigError, match="invalid requirement"):
        compile_lock(["not a requirement!"], constraint_files=[], output=tmp_path / "l.txt", header="x")
    with pytest.raises(ConfigError, match="not found"):
        compile_lock(["a"], constraint_files=[tmp_path / "nope.txt"], output=tmp_path / "l.txt", header="x")
    (tmp_path / "cpu.txt").write_text("-c cpu.lock.txt\n")
    (tmp_path / "cpu.lock.txt").write_text("a==1\n")
    for inputs in ([tmp_path / "cpu.lock.txt"], [tmp_path / "cpu.txt"]):
        with pytest.raises(ConfigError, match="freeze"):
            compile_lock(["a"], constraint_files=inputs, output=tmp_path / "cpu.lock.txt", header="x")


# --- real pip-compile, local index ---------------------------------------------------------------

def test_lock_pins_the_tree_with_hashes_under_constraints(tmp_path, index, monkeypatch):
    root, url = index
    # A leak of the caller's pip settings would show: a different index, or a constraint that breaks the lock.
    other = _index(tmp_path / "other", ("beta", "1.5", ()))
    (tmp_path / "poison.txt").write_text("beta<1\n")
    monkeypatch.setenv("PIP_EXTRA_INDEX_URL", other)
    monkeypatch.setenv("PIP_FIND_LINKS", str(tmp_path / "other" / "beta"))
    monkeypatch.setenv("PIP_CONSTRAINT", str(tmp_path / "poison.txt"))
    project = tmp_path / "project"
    (project / "constraints").mkdir(parents=True)
    (project / "constraints" / "common.txt").write_text("beta<2\n")
    (project / "constraints" / "cpu.txt").write_text("-c common.txt\n")
    output = project / "constraints" / "cpu.lock.txt"

    result = compile_lock(["alpha"], constraint_files=[project / "constraints" / "cpu.txt"], output=output,
                          index_url=url, header="nox -s lock-cpu")

    assert result.output == output.resolve() and result.seconds > 0
    assert dict(result.pins) == {"alpha": "1.0", "beta": "1.0"}
    text = output.read_text()
    assert text.startswith("# Generated by `nox -s lock-cpu` with pip-compile (pip-tools ")
    assert f"alpha==1.0 \\\n    --hash=sha256:{_sha(root, 'alpha', '1.0')}\n" in text
    assert f"beta==1.0 \\\n    --hash=sha256:{_sha(root, 'beta', '1.0')}\n" in text
    assert "#   -c common.txt" in text and "# via -r requirements.in" in text
    assert f"Resolved for CPython {sys.version.split()[0]} on linux" in text and f"from {url}" in text
    header = text.replace(url, "<index>")  # the header names the index; no other machine path may show
    assert str(tmp_path) not in header and "/tmp/" not in header and "/opt/" not in header
    assert "--index-url" not in text and "--find-links" not in text
    assert sorted(p.name for p in output.parent.iterdir()) == ["common.txt", "cpu.lock.txt", "cpu.txt"]


def test_failed_lock_raises_one_line_and_leaves_the_old_lock_untouched(tmp_path, index):
    _, url = index
    output = tmp_path / "cpu.lock.txt"
    output.write_text("# the previous lock\nalpha==1.0\n")
    before = output.stat().st_mtime_ns

    with pytest.raises(WheelwrightError) as caught:
        compile_lock(["alpha>=5"], constraint_files=[], output=output, index_url=url, header="nox -s lock-cpu")
    message = str(caught.value)
    assert isinstance(caught.value, LockError) and "\n" not in message
    assert message == f"lock failed: no version of alpha>=5 on {url} fits the requirements and constraints"
    assert "alpha>=5" in caught.value.log
    assert output.read_text() == "# the previous lock\nalpha==1.0\n" and output.stat().st_mtime_ns == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["cpu.lock.txt", "index"]  # no half-written temp file


def test_conflict_with_a_constraint_names_both_sides(tmp_path, index):
    _, url = index
    (tmp_path / "c.txt").write_text("beta<2\n")
    with pytest.raises(LockError) as caught:
        compile_lock(["gamma"], constraint_files=[tmp_path / "c.txt"], output=tmp_path / "l.txt", index_url=url,
                     header="nox -s lock-cpu")
    message = str(caught.value)
    assert "gamma" in message and "beta" in message and "\n" not in message, message
    assert not (tmp_path / "l.txt").exists()


def test_upgrade_false_keeps_the_pins_of_the_existing_lock(tmp_path, index):
    _, url = index
    output = tmp_path / "l.txt"
    output.write_text("# old lock\nalpha==1.0\nbeta==1.0\n")
    kept = compile_lock(["alpha"], constraint_files=[], output=output, index_url=url, header="x", upgrade=False)
    assert dict(kept.pins) == {"alpha": "1.0", "beta": "1.0"}
    fresh = compile_lock(["alpha"], constraint_files=[], output=output, index_url=url, header="x")
    assert dict(fresh.pins) == {"alpha": "1.0", "beta": "2.0"}
