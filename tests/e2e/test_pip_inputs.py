"""Real PyPI inputs read the way pip reads them, and an index whose files never change, through the CLI."""

from __future__ import annotations

import hashlib
import json
import tarfile
import urllib.request

import pytest
from helpers import SHARED_CACHE, copy_project, isolated_install, wheelwright

pytestmark = pytest.mark.xdist_group("pip-inputs")


def _sdist(name: str, version: str) -> tuple[str, str]:
    """(url, sha256) of a release's sdist, as PyPI's JSON simple API states it."""
    request = urllib.request.Request(f"https://pypi.org/simple/{name}/", headers={"Accept": "application/vnd.pypi.simple.v1+json"})
    with urllib.request.urlopen(request, timeout=60) as response:
        files = json.load(response)["files"]
    entry = next(f for f in files if f["filename"] == f"{name}-{version}.tar.gz")
    return entry["url"], entry["hashes"]["sha256"]


def _nodes(output) -> dict[str, dict]:
    return {n["name"]: n for n in json.loads((output / "graph.json").read_text())["nodes"]}


def test_a_requirements_file_with_markers_a_direct_url_and_an_unknown_extra(tmp_path):
    project = copy_project(tmp_path / "project")
    url, sha = _sdist("idna", "3.6")
    (tmp_path / "pins.txt").write_text('packaging==24.2 ; sys_platform == "win32"  # must not pin packaging on Linux\n')
    (tmp_path / "reqs.txt").write_text(f"# real inputs\nsix; sys_platform == 'win32'\nidna @ {url}#sha256={sha}\npackaging[nope]\n-c pins.txt\n")
    output = tmp_path / "out"
    run = wheelwright(project, "-r", str(tmp_path / "reqs.txt"), output=output)
    assert run.returncode == 0, run.stderr
    nodes = _nodes(output)
    assert "six" not in nodes and "ignoring six: markers" in run.stderr
    assert nodes["idna"]["version"] == "3.6" and nodes["idna"]["source"] == {**nodes["idna"]["source"], "kind": "url", "url": url, "sha256": sha}
    assert nodes["packaging"]["version"] != "24.2"
    assert f"packaging {nodes['packaging']['version']} does not provide the extra 'nope'" in run.stderr
    python = isolated_install(tmp_path, output / "simple", "idna==3.6", "packaging")
    assert python.exists()
    run = wheelwright(project, f"idna @ {url}", output=output)  # https without #sha256 is refused, in one line
    assert run.returncode == 2 and "must pin its content with #sha256=" in run.stderr


def test_a_local_source_directory_is_a_local_source_with_its_hash(tmp_path):
    project = copy_project(tmp_path / "project")
    url, sha = _sdist("idna", "3.7")
    archive = tmp_path / "idna-3.7.tar.gz"
    with urllib.request.urlopen(url, timeout=120) as response:
        archive.write_bytes(response.read())
    assert hashlib.sha256(archive.read_bytes()).hexdigest() == sha
    with tarfile.open(archive) as tar:
        tar.extractall(tmp_path / "src", filter="data")
    output = tmp_path / "out"
    run = wheelwright(project, str(tmp_path / "src" / "idna-3.7"), output=output)
    assert run.returncode == 0, run.stderr
    source = _nodes(output)["idna"]["source"]
    assert source["kind"] == "local" and source["local_path"] == str(tmp_path / "src" / "idna-3.7") and len(source["sha256"]) == 64
    [sbom] = (output / "sbom").glob("idna-3.7-*.whl.cdx.json")
    [ancestor] = json.loads(sbom.read_text())["metadata"]["component"]["pedigree"]["ancestors"]
    assert ancestor["hashes"][0]["content"] == source["sha256"]
    assert {"name": "wheelwright:role", "value": "source-local"} in ancestor["properties"]


def test_switching_toplevel_sets_never_changes_a_published_file(tmp_path):
    """typing-extensions caps flit-core below 4, packaging (a build tool of iniconfig's) does not: asked together
    and apart, packaging used to be rebuilt with another flit-core and replaced under the same file name."""
    project = copy_project(tmp_path / "project")
    output = tmp_path / "out"

    def files() -> dict[str, str]:
        return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in (output / "simple").glob("*/*.whl")}

    assert wheelwright(project, "typing-extensions", "iniconfig", output=output).returncode == 0
    first = files()
    for args in (("iniconfig",), ("typing-extensions", "iniconfig")):
        run = wheelwright(project, *args, output=output)
        assert run.returncode == 0, run.stderr
        report = json.loads((output / "report.json").read_text())
        assert {n["status"] for n in report["nodes"].values()} == {"cached"}, report["nodes"]
        assert files() == first
    manifest = json.loads((output / "index.json").read_text())["wheels"]
    assert set(manifest) == set(first) and all(manifest[name]["sha256"] == sha for name, sha in first.items())
    assert SHARED_CACHE.exists()
