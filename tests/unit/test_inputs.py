"""Requirements and constraints mean what they mean to pip: markers, -r/-c files, direct references, local
sources, extras. Each is honoured (checked in what was built) or refused in one line naming it."""

from __future__ import annotations

import hashlib
import io
import json
import tarfile

from fakepypi import FakeProject

from wheelwright.config.inputs import read_inputs
from wheelwright.plan.graph import BuildGraph


def _graph(workspace) -> BuildGraph:
    return BuildGraph.from_json((workspace.output / "graph.json").read_text())


def _versions(workspace) -> dict[str, str]:
    return {s.name: s.version for s in _graph(workspace).nodes.values()}


def test_a_toplevel_marker_that_does_not_hold_builds_nothing(workspace, fake_pypi, capsys):
    fake_pypi.add(FakeProject("six"))
    run = workspace.build(capsys, "six; sys_platform == 'win32'")
    assert run.code == 0, run.err
    assert "warning: ignoring six: markers 'sys_platform == \"win32\"' don't match" in run.err
    assert not list((workspace.output / "simple").rglob("*.whl"))
    run = workspace.build(capsys, "six; sys_platform == 'linux'")
    assert run.code == 0, run.err
    assert _versions(workspace) == {"six": "1.0"}


def test_a_constraint_line_for_another_platform_does_not_pin(workspace, fake_pypi, capsys):
    fake_pypi.add(FakeProject("six", "1.15.0"), FakeProject("six", "1.16.0"), FakeProject("lib", "1.0"), FakeProject("lib", "2.0"))
    workspace.write("constraints/cpu.txt", "-c common.txt\nsix==1.15.0; sys_platform == 'win32'\nlib==1.0; sys_platform == 'linux'\n")
    run = workspace.build(capsys, "six", "lib")
    assert run.code == 0, run.err
    assert _versions(workspace) == {"six": "1.16.0", "lib": "1.0"}


def test_requirement_files_nest_and_carry_constraints(workspace, fake_pypi, capsys, monkeypatch, tmp_path):
    fake_pypi.add(FakeProject("alpha"), FakeProject("beta", "1.0"), FakeProject("beta", "2.0"), FakeProject("gamma"))
    (tmp_path / "reqs").mkdir()
    (tmp_path / "reqs" / "base.txt").write_text("# the base set\nalpha  # trailing comment\n-r more/extra.txt\n-c pins.txt\n")
    (tmp_path / "reqs" / "more").mkdir()
    (tmp_path / "reqs" / "more" / "extra.txt").write_text("beta \\\n  >=1.0\n${GAMMA_NAME}; python_version >= '3'\n")
    (tmp_path / "reqs" / "pins.txt").write_text("beta<2\n")
    monkeypatch.setenv("GAMMA_NAME", "gamma")
    run = workspace.build(capsys, "-r", str(tmp_path / "reqs" / "base.txt"))
    assert run.code == 0, run.err
    assert _versions(workspace) == {"alpha": "1.0", "beta": "1.0", "gamma": "1.0"}
    run = workspace.build(capsys, "-c", str(tmp_path / "nope.txt"), "alpha")
    assert run.code == 2 and f"-c {tmp_path / 'nope.txt'}: no such file" in run.error
    (tmp_path / "reqs" / "broken.txt").write_text("alpha\n-r missing.txt\n")
    run = workspace.build(capsys, "-r", str(tmp_path / "reqs" / "broken.txt"))
    assert run.code == 2 and "broken.txt:2" in run.error and "missing.txt not found" in run.error


def test_options_pip_would_honour_and_we_cannot_are_refused(tmp_path):
    for line, expected in [("-e ./src/foo", "-e in a requirements file"), ("--index-url https://x/simple", "--index-url in a requirements file"),
                           ("alpha --hash=sha256:" + "0" * 64, "carries --hash")]:
        (tmp_path / "r.txt").write_text(f"{line}\n")
        try:
            read_inputs([], [tmp_path / "r.txt"], cwd=tmp_path)
        except Exception as exc:
            assert expected in str(exc) and "r.txt:1" in str(exc)
        else:
            raise AssertionError(f"{line!r} was accepted")


def test_an_r_include_inside_a_constraints_file_is_refused(workspace, fake_pypi, capsys):
    fake_pypi.add(FakeProject("alpha"))
    workspace.write("constraints/reqs.txt", "alpha\n")
    workspace.write("constraints/cpu.txt", "-c common.txt\n-r reqs.txt\n")
    run = workspace.build(capsys, "alpha")
    assert run.code == 2 and "cpu.txt:2" in run.error and "inside a constraints file as requirements" in run.error


def test_a_local_sdist_and_a_source_directory_are_built_as_local_sources(workspace, fake_pypi, capsys, tmp_path):
    fake_pypi.add(FakeProject("dep"), FakeProject("mine", "9.0"))  # the index's "mine" must not be what gets built
    filename, data = FakeProject("mine", "1.0", requires_dist=["dep"]).sdist()
    archive = tmp_path / "pkgs" / filename
    archive.parent.mkdir()
    archive.write_bytes(data)
    run = workspace.build(capsys, str(archive))
    assert run.code == 0, run.err
    spec = next(s for s in _graph(workspace).nodes.values() if s.name == "mine")
    assert (spec.version, spec.source.kind, spec.source.local_path, spec.source.sha256) == ("1.0", "local", str(archive), hashlib.sha256(data).hexdigest())
    sbom = json.loads(next((workspace.output / "sbom").glob("mine-1.0-*.cdx.json")).read_text())
    sources = [c for c in sbom["metadata"]["component"]["pedigree"]["ancestors"]
               if {"name": "wheelwright:role", "value": "source-local"} in c.get("properties", [])]
    assert sources and sources[0]["hashes"][0]["content"] == hashlib.sha256(data).hexdigest()

    tree = tmp_path / "src" / "other"
    filename, data = FakeProject("other", "2.0").sdist()
    with tarfile.open(fileobj=io.BytesIO(data)) as tar:
        tar.extractall(tmp_path / "src", filter="data")
    (tmp_path / "src" / "other-2.0").rename(tree)
    run = workspace.build(capsys, str(tree))
    assert run.code == 0, run.err
    spec = next(s for s in _graph(workspace).nodes.values() if s.name == "other")
    assert (spec.version, spec.source.kind, spec.source.local_path) == ("2.0", "local", str(tree))
    first = spec.source.sha256
    (tree / "payload.txt").write_text("VALUE = 2\n")  # a changed tree is another source
    assert workspace.build(capsys, str(tree)).code == 0
    assert next(s for s in _graph(workspace).nodes.values() if s.name == "other").source.sha256 != first


def test_direct_references(workspace, fake_pypi, capsys, tmp_path):
    fake_pypi.add(FakeProject("mine", "9.0"))
    filename, data = FakeProject("mine", "1.0").sdist()
    (tmp_path / filename).write_bytes(data)
    run = workspace.build(capsys, f"mine @ {(tmp_path / filename).as_uri()}#sha256={hashlib.sha256(data).hexdigest()}")
    assert run.code == 0, run.err
    assert _versions(workspace) == {"mine": "1.0"}
    cases = [
        ("mine @ https://example.invalid/mine-1.0.tar.gz", "must pin its content with #sha256=", 2),
        (f"mine @ {fake_pypi.url.rsplit('/', 1)[0]}/files/mine-9.0.tar.gz", "only https:// and file://", 2),
        ("mine @ git+https://example.invalid/mine.git", "version-control URLs", 2),
        (f"other @ {(tmp_path / filename).as_uri()}", "the source is mine 1.0, not other", 2),
        (f"mine @ {(tmp_path / filename).as_uri()}#sha256={'0' * 64}", f"not the #sha256={'0' * 64} the requirement pins", 1),  # a fetch that failed
        ("./no/such/dir", "looks like a path", 2),
    ]
    for text, expected, code in cases:
        run = workspace.build(capsys, text)
        assert run.code == code and expected in run.error, (text, run.err)


def test_an_extra_the_project_does_not_define_is_warned(workspace, fake_pypi, capsys):
    fake_pypi.add(FakeProject("req", requires_dist=["dep; extra == 'socks'"]))
    fake_pypi.add_wheel("req", "1.0", ["dep; extra == 'socks'"])  # METADATA names the extras it has
    fake_pypi.add(FakeProject("dep"))
    run = workspace.build(capsys, "req[nope,socks]")
    assert run.code == 0, run.err
    assert "warning: req 1.0 does not provide the extra 'nope'" in run.err
    assert "extra 'socks'" not in run.err


def test_an_unknown_extra_is_warned_from_the_built_wheel_when_nobody_published_metadata(workspace, fake_pypi, capsys):
    fake_pypi.add(FakeProject("lib2", requires_dist=["dep; extra == 'fast'"]), FakeProject("dep"))
    run = workspace.build(capsys, "lib2[fast,nope]")
    assert run.code == 0, run.err
    assert "warning: lib2 1.0 does not provide the extra 'nope'" in run.err and "extra 'fast'" not in run.err
    assert "dep" in {s.name for s in _graph(workspace).nodes.values()}


def test_patch_layout_problems_are_warned_through_the_cli(workspace, fake_pypi, capsys):
    fake_pypi.add(FakeProject("jinja2", "3.1.4"))
    workspace.add_patch("Jinja2", "0001-x.patch", "")
    workspace.add_patch("jinja2", "0002-y.diff", "")
    workspace.add_patch("jinja2", "3.1.3/0003-z.patch", "")
    run = workspace.build(capsys, "jinja2")
    assert run.code == 0, run.err
    assert "warning: patches/Jinja2: not a normalised package name" in run.err
    assert "warning: patches/jinja2/0002-y.diff: not a *.patch file" in run.err
    assert "warning: patches/jinja2/3.1.3: the plan does not build jinja2 3.1.3 (it builds 3.1.4)" in run.err
    assert run.err.count("patches/Jinja2: not a normalised") == 1  # said once, however often the planner plans
