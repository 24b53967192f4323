"""A published file never changes, a package keeps its build environment within an index whichever top-level
set asks for it, and the index's manifest (index.json) always describes simple/."""

from __future__ import annotations

import hashlib
import json
import zipfile

from fakepypi import FakeProject

from wheelwright.plan.requirements import same_requirements


def _files(workspace) -> dict[str, str]:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in workspace.output.glob("simple/*/*.whl")}


def _manifest(workspace) -> dict:
    return json.loads((workspace.output / "index.json").read_text())["wheels"]


def _tool_in(workspace, wheel_glob: str) -> str:
    """Which tool version a wheel was built with, as its manifest entry records it."""
    entry = next(e for name, e in _manifest(workspace).items() if name.startswith(wheel_glob))
    return next(w for w in entry["build_environment"] if w.startswith("tool-"))


def _serve(fake_pypi) -> None:
    # pkg builds with any tool; capper caps it. Asked together, the walk used to hand pkg the capped tool.
    fake_pypi.add(FakeProject("tool", "1.0"), FakeProject("tool", "2.0"), FakeProject("pkg", build_requires=["tool>=1"]),
                  FakeProject("capper", build_requires=["tool<2"]))


def test_switching_toplevel_sets_never_changes_a_published_file(workspace, fake_pypi, capsys):
    _serve(fake_pypi)
    assert workspace.build(capsys, "pkg", "capper").code == 0
    first = _files(workspace)
    assert _tool_in(workspace, "pkg-1.0") == "tool-1.0-py3-none-any.whl"
    run = workspace.build(capsys, "pkg")
    assert run.code == 0, run.err
    assert workspace.statuses()["pkg==1.0"] == "cached"  # the same build environment as when it was published
    assert workspace.build(capsys, "pkg", "capper").code == 0
    assert set(workspace.statuses().values()) == {"cached"}
    assert _files(workspace) == first  # nothing replaced, nothing added
    assert set(_manifest(workspace)) == set(first)


def test_the_other_order_keeps_its_own_environment(workspace, fake_pypi, capsys):
    _serve(fake_pypi)
    assert workspace.build(capsys, "pkg").code == 0
    assert _tool_in(workspace, "pkg-1.0") == "tool-2.0-py3-none-any.whl"
    first = _files(workspace)
    assert workspace.build(capsys, "pkg", "capper").code == 0
    assert workspace.statuses()["pkg==1.0"] == "cached" and workspace.statuses()["capper==1.0"] == "built"
    assert all(_files(workspace)[name] == sha for name, sha in first.items())


def test_a_constraint_that_forces_another_environment_gets_a_build_tag(workspace, fake_pypi, capsys):
    _serve(fake_pypi)
    assert workspace.build(capsys, "pkg").code == 0
    first = _files(workspace)
    workspace.write("constraints/cpu.txt", "-c common.txt\ntool==1.0\n")
    run = workspace.build(capsys, "pkg")
    assert run.code == 0, run.err
    after = _files(workspace)
    assert all(after[name] == sha for name, sha in first.items())  # the untagged wheel is still the one published first
    tagged = workspace.report()["nodes"]["pkg==1.0"]["wheel"]
    assert tagged == "pkg-1.0-1-py3-none-any.whl"
    with zipfile.ZipFile(workspace.output / "simple" / "pkg" / tagged) as zf:
        assert "Build: 1" in zf.read("pkg-1.0.dist-info/WHEEL").decode()
        record = zf.read("pkg-1.0.dist-info/RECORD").decode()
        wheel_line = next(line for line in record.splitlines() if line.startswith("pkg-1.0.dist-info/WHEEL,"))
        digest = hashlib.sha256(zf.read("pkg-1.0.dist-info/WHEEL")).digest()
        assert wheel_line.split(",")[1] == "sha256=" + __import__("base64").urlsafe_b64encode(digest).rstrip(b"=").decode()
    why = _manifest(workspace)[tagged]["build_tag"]["why"]
    assert why == "pkg-1.0-py3-none-any.whl was built with tool-2.0-py3-none-any.whl; this build had tool-1.0-py3-none-any.whl"
    sbom = json.loads((workspace.output / "sbom" / f"{tagged}.cdx.json").read_text())
    assert sbom["metadata"]["component"]["hashes"][0]["content"] == after[tagged]
    assert workspace.build(capsys, "pkg").code == 0  # and again: the tagged wheel is the one on record now
    assert workspace.statuses()["pkg==1.0"] == "cached" and _files(workspace) == after


def test_the_manifest_describes_simple_and_says_which_run(workspace, fake_pypi, capsys):
    _serve(fake_pypi)
    assert workspace.build(capsys, "pkg").code == 0
    manifest, report = _manifest(workspace), workspace.report()
    assert set(manifest) == set(_files(workspace))
    entry = manifest["pkg-1.0-py3-none-any.whl"]
    assert entry["sha256"] == _files(workspace)["pkg-1.0-py3-none-any.whl"] and entry["node"] == "pkg==1.0"
    assert entry["run"] == report["run"] and report["status"] == "ok"
    assert (workspace.output / entry["sbom"]).is_file() and entry["source"]["kind"] == "sdist" and entry["cache_key"]
    assert json.loads((workspace.output / "graph.json").read_text())["run"] == report["run"]
    stack = json.loads((workspace.output / "sbom" / "stack.cdx.json").read_text())
    assert {"name": "wheelwright:run", "value": report["run"]} in stack["metadata"]["component"]["properties"]
    # a second, smaller run: the stack SBOM and the licence report still cover the whole index
    fake_pypi.add(FakeProject("solo"))
    assert workspace.build(capsys, "solo").code == 0
    stack = json.loads((workspace.output / "sbom" / "stack.cdx.json").read_text())
    names = {c["name"] for c in stack["components"] if {"name": "wheelwright:role", "value": "wheel"} in c.get("properties", [])}
    assert {"pkg", "tool", "solo"} <= names
    from wheelwright.cli import main

    assert main(["--project", str(workspace.root), "licenses", "--variant", "cpu"]) == 0
    out = capsys.readouterr().out
    assert "pkg" in out and "solo" in out and f"{len(_files(workspace))} wheels" in out
    # a wheel dropped into simple/ by hand is found and recorded as such
    stray = workspace.output / "simple" / "stray" / "stray-1.0-py3-none-any.whl"
    stray.parent.mkdir()
    stray.write_bytes((workspace.output / "simple" / "solo" / "solo-1.0-py3-none-any.whl").read_bytes())
    run = workspace.build(capsys, "solo")
    assert "index manifest: stray-1.0-py3-none-any.whl: in simple/, not in the manifest (entry added)" in run.err
    assert set(_manifest(workspace)) == set(_files(workspace))


def test_output_dir_keeps_sboms_beside_its_index(workspace, fake_pypi, capsys, tmp_path):
    fake_pypi.add(FakeProject("solo"))
    assert workspace.build(capsys, "--output-dir", str(tmp_path / "elsewhere"), "solo").code == 0
    assert list((tmp_path / "elsewhere" / "sbom").glob("solo-1.0-*.cdx.json"))
    assert not (workspace.root / "sbom" / "cpu").exists() and not (workspace.output / "sbom").exists()


def test_a_failed_run_writes_its_report(workspace, fake_pypi, capsys):
    fake_pypi.add(FakeProject("broken", fail="build"))
    run = workspace.build(capsys, "broken")
    assert run.code == 1
    report = workspace.report()
    assert report["status"] == "failed" and report["failures"][0]["node"] == "broken==1.0"
    assert report["failures"][0]["log"].endswith("broken-1.0.log") and any("fake compiler failed" in line for line in report["failures"][0]["log_tail"])


def test_names_spelt_differently_are_the_same_requirement(workspace, fake_pypi, capsys):
    assert same_requirements(["more_itertools>=4", "Foo.Bar[X,y]"], ["more-itertools >=4", "foo-bar[y,x]"])
    assert not same_requirements(["more-itertools>=4"], ["more-itertools>=5"])
    fake_pypi.add(FakeProject("app", requires_dist=["more-itertools"]), FakeProject("more-itertools"))
    fake_pypi.add_wheel("app", "1.0", ["more_itertools"])  # the index's metadata spells it with an underscore
    run = workspace.build(capsys, "app")
    assert run.code == 0, run.err
    assert "re-planned" not in run.err and "plan read" not in run.err
