"""The requests tree, built for real from PyPI sdists with every build backend built from source too."""

from __future__ import annotations

import difflib
import json
import shutil
import subprocess
import sys
import tarfile
import zipfile

import pytest
from helpers import SHARED_CACHE, copy_project, isolated_install, wheelwright


pytestmark = pytest.mark.xdist_group("requests")

BACKENDS = {"setuptools", "flit-core", "hatchling"}


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    root = tmp_path_factory.mktemp("requests")
    project = copy_project(root / "project")
    output = root / "out"
    run = wheelwright(project, "requests", output=output)
    assert run.returncode == 0, run.stderr[-3000:]
    shutil.copy(output / "plan.json", root / "cold-plan.json")  # the plan the first build executed, before anything was recorded
    return project, output


def _graph(output):
    return json.loads((output / "graph.json").read_text())


def _report(output):
    return json.loads((output / "report.json").read_text())["nodes"]


def test_whole_tree_and_its_backends_come_from_source(built):
    _, output = built
    graph = _graph(output)
    names = {n["name"] for n in graph["nodes"]}
    assert {"requests", "urllib3", "idna", "certifi", "charset-normalizer"} <= names
    assert BACKENDS <= names, "build backends must be built from source too"
    for node in graph["nodes"]:
        assert node["source"]["url"].endswith((".tar.gz", ".zip")) and len(node["source"]["sha256"]) == 64
        assert node["wheel"] and list((output / "simple" / node["name"]).glob(node["wheel"]))
        assert (output / "logs" / f"{node['name']}-{node['version']}.log").exists()
    kinds = {e["kind"] for e in graph["edges"]}
    assert kinds == {"toplevel", "install", "build-system", "build-backend"}
    assert set(s["status"] for s in _report(output).values()) == {"built"}
    order = json.loads((output / "build-order.json").read_text())
    assert sorted(order) == sorted(n["id"] for n in graph["nodes"])
    position = {node: i for i, node in enumerate(order)}
    for edge in graph["edges"]:
        if edge["kind"] in ("build-system", "build-backend"):
            assert position[edge["child"]] < position[edge["parent"]], edge


def test_installs_and_imports_from_our_index_alone(built, tmp_path):
    _, output = built
    python = isolated_install(tmp_path, output / "simple", "requests")
    code = "import requests, urllib3, idna, certifi, charset_normalizer; print(requests.__version__, requests.__file__)"
    out = subprocess.run([str(python), "-c", code], capture_output=True, text=True, check=True).stdout
    version = next(n["version"] for n in _graph(output)["nodes"] if n["name"] == "requests")
    assert out.startswith(version) and str(tmp_path / "venv") in out


def test_unchanged_rerun_builds_nothing(built):
    project, output = built
    run = wheelwright(project, "requests", output=output)
    assert run.returncode == 0, run.stderr
    assert set(s["status"] for s in _report(output).values()) == {"cached"}


@pytest.mark.skipif(subprocess.run(["unshare", "--net", "true"], capture_output=True).returncode != 0, reason="needs unshare --net")
def test_the_plan_is_the_graph_the_build_ran(built):
    """Parity on a real tree: the cold plan only grew (through the planner) into the graph the build wrote,
    and a warm `wheelwright plan` is that graph exactly: nodes, versions and typed edges, with every cache key."""
    from wheelwright.plan.graph import BuildGraph

    project, output = built
    after = BuildGraph.from_json((output / "graph.json").read_text())
    cold = BuildGraph.from_json((output.parent / "cold-plan.json").read_text())
    assert cold.shape()[0] <= after.shape()[0] and cold.shape()[1] <= after.shape()[1]
    assert {"setuptools", "flit-core"} <= {n.name for n in cold.nodes.values()}  # build backends are planned before any build
    run = subprocess.run([sys.executable, "-m", "wheelwright", "--project", str(project), "plan", "--output-dir", str(output),
                          "--cache-dir", str(SHARED_CACHE), "requests"], capture_output=True, text=True, timeout=600)
    assert run.returncode == 0, run.stderr[-3000:]
    warm = BuildGraph.from_json((output / "plan.json").read_text())
    assert warm.shape() == after.shape() and not warm.frontier()
    assert all(n.cache_key and n.wheel_sha256 for n in warm.nodes.values())


def test_offline_rebuild_with_no_network_at_all_gives_the_same_wheels(built, tmp_path):
    """The air-gapped builder: the whole process in a network namespace, sources from the cache only.
    (Before the patch test below, which leaves patched wheels in the shared output.)"""
    project, output = built
    command = [sys.executable, "-m", "wheelwright", "--project", str(project), "build", "--offline", "--output-dir", str(tmp_path / "offline"),
               "--cache-dir", str(SHARED_CACHE), "requests"]
    run = subprocess.run(["unshare", "--net", "--", *command], capture_output=True, text=True, timeout=1800)
    assert run.returncode == 0, run.stderr[-3000:]
    assert json.loads((tmp_path / "offline" / "report.json").read_text())["offline"] is True

    def wheels(root):
        return {p.name: p.read_bytes() for p in (root / "simple").rglob("*.whl")}

    assert wheels(tmp_path / "offline") == wheels(output)


def test_changed_patch_rebuilds_that_package_and_what_builds_on_it(built):
    project, output = built
    patch = project / "patches" / "flit-core" / "0001-mark.patch"
    patch.parent.mkdir(parents=True, exist_ok=True)
    before = _graph(output)
    patch.write_text(_append_line_patch(before, "flit-core", "flit_core/__init__.py", "# patched by the cache test\n"))
    try:
        run = wheelwright(project, "requests", output=output)
    finally:
        patch.unlink()
    assert run.returncode == 0, run.stderr
    after = _graph(output)
    sha = lambda graph: {n["id"]: n["wheel_sha256"] for n in graph["nodes"]}
    changed = {n for n, digest in sha(after).items() if sha(before)[n] != digest}
    flit = next(n["id"] for n in after["nodes"] if n["name"] == "flit-core")
    assert flit in changed
    # Rebuilt: flit-core, and every package whose build environment holds a wheel that changed.
    # A rebuilt wheel that comes out byte-identical (reproducible builds) stops the ripple there.
    expected = {flit} | {n["id"] for n in after["nodes"] if _build_needs(after, n["id"]) & changed}
    statuses = _report(output)
    assert {n for n, s in statuses.items() if s["status"] == "built"} == expected
    direct = {n["id"] for n in after["nodes"] if flit in _build_needs(after, n["id"])}
    assert direct <= expected and any(n.startswith("idna==") for n in direct)
    assert not any(n.startswith(("certifi==", "setuptools==")) for n in expected)
    assert {s["status"] for n, s in statuses.items() if n not in expected} == {"cached"}


def _append_line_patch(graph, name, member, line):
    """A patch that changes a file the wheel ships, made from the real cached sdist."""
    node = next(n for n in graph["nodes"] if n["name"] == name)
    archive = next(SHARED_CACHE.glob(f"sdists/*/{node['source']['sha256']}/*"))
    with tarfile.open(archive) as tar:
        top = tar.getnames()[0].split("/")[0]
        original = tar.extractfile(f"{top}/{member}").read().decode().splitlines(keepends=True)
    return "".join(difflib.unified_diff(original, original + [line], f"a/{member}", f"b/{member}"))


def _build_needs(graph, node):
    children = lambda parent, kinds: [e["child"] for e in graph["edges"] if e["parent"] == parent and e["kind"] in kinds]
    seen, stack = set(), children(node, ("build-system", "build-backend"))
    while stack:
        current = stack.pop()
        if current not in seen:
            seen.add(current)
            stack.extend(children(current, ("install",)))
    return seen


def test_only_rebuilds_one_package_from_the_index(built):
    project, output = built
    run = wheelwright(project, "--only", "idna", output=output)
    assert run.returncode == 0, run.stderr
    statuses = {n: s["status"] for n, s in _report(output).items()}
    assert [n for n, s in statuses.items() if s == "built"] == [n for n in statuses if n.startswith("idna==")]
    assert {s for n, s in statuses.items() if not n.startswith("idna==")} == {"index"}


def test_every_wheel_has_a_valid_cyclonedx_sbom_embedded_and_beside_the_index(built):
    from cyclonedx.schema import SchemaVersion
    from cyclonedx.validation.json import JsonStrictValidator

    project, output = built
    validator = JsonStrictValidator(SchemaVersion.V1_6)
    graph = _graph(output)
    for node in graph["nodes"]:
        wheel = next((output / "simple" / node["name"]).glob(node["wheel"]))
        published = (output / "sbom" / f"{wheel.name}.cdx.json").read_text()
        assert validator.validate_str(published) is None, wheel.name
        document = json.loads(published)
        main = document["metadata"]["component"]
        assert main["purl"].startswith(f"pkg:pypi/{node['name']}@{node['version']}?") and "variant=cpu" in main["purl"]
        assert main["hashes"][0]["content"] == node["wheel_sha256"]
        ancestor = main["pedigree"]["ancestors"][0]
        assert ancestor["hashes"][0]["content"] == node["source"]["sha256"]
        names = {c["name"] for c in document["components"]}
        assert {"python", "gcc"} <= names and "cpu.txt" in names
        with zipfile.ZipFile(wheel) as zf:
            embedded = [n for n in zf.namelist() if n.endswith(".dist-info/sboms/wheelwright.cdx.json")]
            assert len(embedded) == 1 and validator.validate_str(zf.read(embedded[0]).decode()) is None
    requests_sbom = json.loads(next((output / "sbom").glob("requests-*.whl.cdx.json")).read_text())
    runtime = {c["name"]: c["version"] for c in requests_sbom["components"] if c.get("scope") == "required"}
    versions = {n["name"]: n["version"] for n in graph["nodes"]}
    assert runtime == {name: versions[name] for name in ("certifi", "charset-normalizer", "idna", "urllib3")}
    stack = (output / "sbom" / "stack.cdx.json").read_text()
    assert validator.validate_str(stack) is None
    assert len(json.loads(stack)["components"]) >= len(graph["nodes"])


def test_licence_report_names_every_package(built):
    project, output = built
    run = subprocess.run([sys.executable, "-m", "wheelwright", "--project", str(project), "licenses", "--variant", "cpu", "--strict",
                          "--output-dir", str(output)], capture_output=True, text=True)
    graph = _graph(output)
    for node in graph["nodes"]:
        assert node["name"] in run.stdout
    assert ("UNKNOWN" in run.stdout) == (run.returncode == 1), run.stdout

