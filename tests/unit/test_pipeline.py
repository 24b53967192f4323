"""The whole pipeline on fake projects served from loopback: fast, offline, and every path real."""

from __future__ import annotations

import io
import json
import os
import re
import tarfile
import threading
import time
import zipfile

import pytest
from fakepypi import FakeProject

TOOL = FakeProject("tool", requires_dist=["toolhelper"], payload="TOOL = 1\n")
TOOLHELPER = FakeProject("toolhelper")
DYN = FakeProject("dyn")
LIB = FakeProject("lib")
APP = FakeProject("app", build_requires=["tool"], dynamic=["dyn"], imports=["tool", "toolhelper", "dyn"], requires_dist=["lib>=1"])


@pytest.fixture
def tree(fake_pypi):
    fake_pypi.add(TOOL, TOOLHELPER, DYN, LIB, APP)
    return fake_pypi


def test_builds_tree_in_dependency_order_with_typed_edges(workspace, tree, capsys):
    run = workspace.build(capsys, "app")
    assert run.code == 0, run.err
    out = workspace.output
    graph = json.loads((out / "graph.json").read_text())
    edges = {(e["parent"], e["child"], e["kind"]) for e in graph["edges"]}
    assert ("<toplevel>", "app==1.0", "toplevel") in edges
    assert ("app==1.0", "tool==1.0", "build-system") in edges
    assert ("app==1.0", "dyn==1.0", "build-backend") in edges
    assert ("app==1.0", "lib==1.0", "install") in edges
    assert ("tool==1.0", "toolhelper==1.0", "install") in edges
    order = json.loads((out / "build-order.json").read_text())
    assert order.index("tool==1.0") < order.index("app==1.0")
    assert order.index("toolhelper==1.0") < order.index("app==1.0")  # installed beside tool to build app
    assert order.index("dyn==1.0") < order.index("app==1.0")
    for name in ("app", "tool", "toolhelper", "dyn", "lib"):
        assert list((out / "simple" / name).glob("*.whl")), name
        assert all(p.stat().st_mode & 0o044 == 0o044 for p in (out / "simple" / name).iterdir()), "index files must be world-readable"
        assert f'href="{name}/"' in (out / "simple" / "index.html").read_text()
        assert (out / "logs" / f"{name}-1.0.log").exists()
    assert set(workspace.statuses().values()) == {"built"}


def test_unchanged_rerun_builds_nothing(workspace, tree, capsys):
    assert workspace.build(capsys, "app").code == 0
    log = (workspace.output / "logs" / "app-1.0.log").read_text()
    assert "build_wheel" in log
    assert workspace.build(capsys, "app").code == 0
    assert set(workspace.statuses().values()) == {"cached"}
    assert (workspace.output / "logs" / "app-1.0.log").read_text() == log  # the log of the build that made the wheel


def test_changed_patch_rebuilds_that_package_and_what_builds_on_it(workspace, tree, capsys):
    assert workspace.build(capsys, "app").code == 0
    before = {p.name: p.read_bytes() for p in workspace.output.glob("simple/*/*.whl")}
    workspace.add_patch("tool", "0001-bump.patch", "--- a/payload.txt\n+++ b/payload.txt\n@@ -1 +1 @@\n-TOOL = 1\n+TOOL = 2\n")
    assert workspace.build(capsys, "app").code == 0
    statuses = workspace.statuses()
    assert statuses == {"tool==1.0": "built", "app==1.0": "built", "toolhelper==1.0": "cached", "dyn==1.0": "cached", "lib==1.0": "cached"}
    after = {p.name: p.read_bytes() for p in workspace.output.glob("simple/*/*.whl")}
    assert all(after[name] == data for name, data in before.items())  # a published file never changes
    with zipfile.ZipFile(workspace.output / "simple" / "tool" / "tool-1.0-1-py3-none-any.whl") as zf:  # the next build tag
        assert zf.read("tool/__init__.py") == b"TOOL = 2\n"
        assert "Build: 1" in zf.read("tool-1.0.dist-info/WHEEL").decode()
    assert workspace.report()["nodes"]["tool==1.0"]["wheel"] == "tool-1.0-1-py3-none-any.whl"
    manifest = json.loads((workspace.output / "index.json").read_text())["wheels"]
    assert "other build inputs" in manifest["tool-1.0-1-py3-none-any.whl"]["build_tag"]["why"]
    assert manifest["app-1.0-1-py3-none-any.whl"]["build_tag"]["why"] == ("app-1.0-py3-none-any.whl was built with tool-1.0-py3-none-any.whl; "
                                                                        "this build had tool-1.0-1-py3-none-any.whl")  # its build env moved
    assert set(manifest) == {p.name for p in workspace.output.glob("simple/*/*.whl")}


def test_patch_that_does_not_apply_names_patch_and_hunk(workspace, tree, capsys):
    workspace.add_patch("lib", "0001-wrong.patch", "--- a/payload.txt\n+++ b/payload.txt\n@@ -1 +1 @@\n-NOT THERE\n+X\n")
    run = workspace.build(capsys, "lib")
    assert run.code == 1
    first = run.error
    assert "0001-wrong.patch" in first and "lib-1.0" in first and "FAILED" in first
    assert not list(workspace.output.glob("simple/lib/*.whl"))


def test_build_dependency_cycle_is_reported_with_its_path(workspace, fake_pypi, capsys):
    fake_pypi.add(FakeProject("chicken", build_requires=["egg"]), FakeProject("egg", build_requires=["chicken"]))
    run = workspace.build(capsys, "chicken")
    assert run.code == 1
    assert "cycle" in run.err
    assert "chicken==1.0 -[build-system]-> egg==1.0 -[build-system]-> chicken==1.0" in run.err


@pytest.mark.parametrize("mode, expected", [("build", "build_wheel failed (exit 3)"), ("requires", "get_requires_for_build_wheel failed"), ("nowheel", "backend returned no wheel")])
def test_failing_backend_stops_with_package_log_and_tail(workspace, fake_pypi, capsys, mode, expected):
    fake_pypi.add(FakeProject("broken", fail=mode))
    run = workspace.build(capsys, "broken")
    assert run.code == 1
    assert run.error.startswith("error: broken==1.0") and expected in run.error
    log = workspace.output / "logs" / "broken-1.0.log"
    assert f"log: {log}" in run.err
    if mode == "build":
        assert "error: fake compiler failed on line 42" in run.err  # the tail of the log is shown
    assert not (workspace.output / "simple" / "broken").exists()
    assert not list(workspace.output.glob("simple/**/*.tmp"))


def test_build_environment_is_scrubbed_and_reproducible(workspace, fake_pypi, capsys, monkeypatch):
    monkeypatch.setenv("GITHUB_TOKEN", "ghp_secret")
    monkeypatch.setenv("PIP_INDEX_URL", "https://evil.example/simple")
    monkeypatch.setenv("PYTHONPATH", "/somewhere")
    fake_pypi.add(FakeProject("envprobe", print_env=True))
    assert workspace.build(capsys, "envprobe").code == 0
    log = (workspace.output / "logs" / "envprobe-1.0.log").read_text()
    assert "ENV SOURCE_DATE_EPOCH=315532800" in log
    assert "ENV PIP_CONFIG_FILE=/dev/null" in log
    assert "ghp_secret" not in log and "evil.example" not in log and "ENV PYTHONPATH" not in log
    # the build environment's path has no `=`: `env VAR=… /…/env/bin/python -m …` (numpy's meson build) must not read
    # the interpreter as one more assignment
    path = next(line for line in log.splitlines() if line.startswith("ENV PATH="))
    build_bin = path.removeprefix("ENV PATH=").split(":")[0]
    assert re.search(r"/work/envprobe-1\.0-py3\.\d+/env/bin$", build_bin) and "=" not in build_bin


def test_only_rebuilds_one_package_and_takes_the_rest_from_the_index(workspace, tree, capsys):
    assert workspace.build(capsys, "app").code == 0
    graph_before = (workspace.output / "graph.json").read_text()
    assert workspace.build(capsys, "--only", "app").code == 0
    statuses = workspace.statuses()
    assert statuses["app==1.0"] == "built"
    assert statuses["tool==1.0"] == statuses["toolhelper==1.0"] == statuses["dyn==1.0"] == "index"
    assert "lib==1.0" not in statuses  # its runtime deps are not rebuilt
    before, after = json.loads(graph_before), json.loads((workspace.output / "graph.json").read_text())
    assert [n for n in after["nodes"] if n["id"] != "app==1.0"] == [n for n in before["nodes"] if n["id"] != "app==1.0"]
    app = next(n for n in after["nodes"] if n["id"] == "app==1.0")
    assert app["wheel_sha256"] == workspace.report()["nodes"]["app==1.0"]["sha256"] and after["updated_by"] == workspace.report()["run"]


def test_only_without_a_built_index_says_what_to_do(workspace, tree, capsys):
    run = workspace.build(capsys, "--only", "app")
    assert run.code == 1
    assert "run the full build first" in run.error


def test_sdist_hash_mismatch_is_refused(workspace, fake_pypi, capsys):
    fake_pypi.bad_hash.add("tampered")
    fake_pypi.add(FakeProject("tampered"))
    run = workspace.build(capsys, "tampered")
    assert run.code == 1
    assert "sha256 mismatch" in run.error and "tampered-1.0.tar.gz" in run.err
    assert not list(workspace.cache.glob("sdists/**/*.tar.gz"))


def test_constraint_that_excludes_every_version_is_explained(workspace, tree, capsys):
    workspace.write("constraints/cpu.txt", "-c common.txt\nlib==9.9\n")
    run = workspace.build(capsys, "app")
    assert run.code == 2
    line = run.error
    assert "app==1.0 requires lib>=1" in line and "cpu.txt:2 lib==9.9" in line


def test_unknown_package_variant_and_bad_jobs(workspace, fake_pypi, capsys):
    run = workspace.build(capsys, "no-such-thing")
    assert run.code == 2 and "no-such-thing: no such package" in run.err
    run = workspace.build(capsys, "lib", variant="quantum")
    assert run.code == 2 and "unknown variant 'quantum'" in run.err
    with pytest.raises(SystemExit) as exit_info:
        workspace.build(capsys, "--jobs", "0", "lib")
    assert exit_info.value.code == 2
    assert "--jobs '0': must be at least 1" in capsys.readouterr().err


def test_a_second_run_on_the_same_output_is_refused(workspace, tree, capsys):
    from wheelwright.run.outputlock import output_lock

    with output_lock(workspace.output):
        run = workspace.build(capsys, "lib")
    assert run.code == 1 and f"another wheelwright run (pid {os.getpid()}) is using it" in run.error
    assert not (workspace.output / "simple").exists()


def test_with_wait_a_second_run_starts_when_the_first_one_lets_go(workspace, tree, capsys):
    from wheelwright.run.outputlock import output_lock

    released = threading.Event()

    def hold() -> None:
        with output_lock(workspace.output):
            time.sleep(1.5)
        released.set()

    holder = threading.Thread(target=hold)
    holder.start()
    time.sleep(0.2)
    run = workspace.build(capsys, "--wait", "30", "lib")
    holder.join()
    assert run.code == 0, run.err
    assert released.is_set() and workspace.statuses()["lib==1.0"] == "built"


def test_recipe_env_reaches_the_backend(workspace, fake_pypi, capsys):
    fake_pypi.add(FakeProject("envprobe", print_env=True))
    workspace.write("recipes/envprobe.py", "from wheelwright import Recipe\nrecipe = Recipe('envprobe')\n\n@recipe.env()\ndef env(ctx):\n    return {'FROM_RECIPE': ctx.variant.name}\n")
    assert workspace.build(capsys, "envprobe").code == 0
    assert "ENV FROM_RECIPE=cpu" in (workspace.output / "logs" / "envprobe-1.0.log").read_text()


def test_recipe_that_raises_names_the_recipe(workspace, fake_pypi, capsys):
    fake_pypi.add(FakeProject("envprobe"))
    workspace.write("recipes/envprobe.py", "from wheelwright import Recipe\nrecipe = Recipe('envprobe')\n\n@recipe.env()\ndef env(ctx):\n    raise KeyError('MISSING')\n")
    run = workspace.build(capsys, "envprobe")
    assert run.code == 2
    assert "recipes/envprobe.py env: recipe raised KeyError" in run.error


def test_killed_publish_leaves_no_partial_wheel(tmp_path):
    """A kill between write and rename leaves only a hidden temp file the index never lists."""
    from wheelwright.stages.localindex import LocalIndex

    wheel = tmp_path / "demo-1.0-py3-none-any.whl"
    wheel.write_bytes(b"x" * 1000)
    index = LocalIndex(tmp_path / "simple")
    (tmp_path / "simple" / "demo").mkdir(parents=True)
    (tmp_path / "simple" / "demo" / ".demo-1.0-py3-none-any.whl.abc.tmp").write_bytes(b"x" * 10)  # as a kill leaves it
    index.publish(wheel, {"node": "demo==1.0"}, "cpu")
    page = (tmp_path / "simple" / "demo" / "index.html").read_text()
    assert "demo-1.0-py3-none-any.whl#sha256=" in page and ".tmp" not in page
    assert os.path.getsize(tmp_path / "simple" / "demo" / "demo-1.0-py3-none-any.whl") == 1000


def test_a_package_starts_as_soon_as_its_build_needs_are_published_not_in_rounds(workspace, fake_pypi, capsys):
    # slow and first start together; second needs only first, so it must start while slow still builds.
    fake_pypi.add(FakeProject("slow", sleep=4), FakeProject("first"), FakeProject("second", build_requires=["first"]),
                  FakeProject("top", build_requires=["slow", "second"]))
    assert workspace.build(capsys, "top").code == 0
    nodes = workspace.report()["nodes"]
    assert nodes["second==1.0"]["started_at"] < nodes["slow==1.0"]["finished_at"]
    assert nodes["top==1.0"]["started_at"] >= max(nodes["slow==1.0"]["finished_at"], nodes["second==1.0"]["finished_at"])


def test_install_requirements_follow_markers_and_extras_of_the_target(workspace, fake_pypi, capsys):
    fake_pypi.add(
        FakeProject("app", requires_dist=["lib[fast]"]),
        FakeProject("lib", requires_dist=['speedup; extra == "fast"', 'docsonly; extra == "docs"', 'legacy; python_version < "3"',
                                          'modern; python_version >= "3.8"']),
        FakeProject("speedup"), FakeProject("modern"),
    )
    assert workspace.build(capsys, "app").code == 0
    assert set(workspace.statuses()) == {"app==1.0", "lib==1.0", "speedup==1.0", "modern==1.0"}


def test_unpublished_metadata_is_asked_of_the_backend_before_the_build(workspace, fake_pypi, capsys):
    # The fake index publishes only Metadata 2.1 sdists, so the plan cannot know app's dependencies:
    # prepare_metadata_for_build_wheel is the last resort, and its answer is checked before app builds.
    fake_pypi.add(FakeProject("app", requires_dist=["lib>=1"], prepare_metadata=True), LIB)
    workspace.write("constraints/cpu.txt", "-c common.txt\nlib==9.9\n")
    run = workspace.build(capsys, "app")
    assert run.code == 2
    first = run.error
    assert "prepare_metadata_for_build_wheel requires ['lib>=1']" in first and "cpu.txt:2 lib==9.9" in first
    assert not (workspace.output / "simple" / "app").exists()  # refused before its build
    workspace.write("constraints/cpu.txt", "-c common.txt\n")
    run = workspace.build(capsys, "app")
    assert run.code == 0, run.err
    assert "re-planned: app==1.0: prepare_metadata_for_build_wheel requires ['lib>=1']" in run.err
    assert set(workspace.statuses()) == {"app==1.0", "lib==1.0"}
    plan = json.loads((workspace.output / "plan.json").read_text())
    app = next(n for n in plan["nodes"] if n["name"] == "app")  # the plan says where it learnt what nobody publishes
    assert app["metadata_origin"] == "prepare_metadata_for_build_wheel" and app["requires"] == ["lib>=1"] and app["runtime"]


@pytest.mark.parametrize(("built_as", "why"), [("other", "the backend built other 1.0, not the renamed 1.0"),
                                               ("renamed:0.1.0", "the backend built renamed 0.1.0, not the renamed 1.0")])
def test_a_wheel_that_is_not_the_planned_project_and_version_is_refused(workspace, fake_pypi, capsys, built_as, why):
    """triton's setup.py names its wheel triton unless TRITON_WHEEL_NAME says otherwise; setuptools-scm without .git
    versions it 0.1.0. Either wheel would be published as something the graph never planned."""
    from fakepypi import sdist_bytes

    name, _, version = built_as.partition(":")
    filename, data = FakeProject("renamed").sdist()
    with tarfile.open(fileobj=io.BytesIO(data)) as tar:
        members = {m.name.split("/", 1)[1]: tar.extractfile(m).read().decode() for m in tar.getmembers() if m.isfile()}
    config = json.loads(members["fake.json"])
    members["fake.json"] = json.dumps({**config, "name": name, "version": version or config["version"]})
    fake_pypi.add_file("renamed", filename, sdist_bytes("renamed-1.0", members))
    run = workspace.build(capsys, "renamed")
    assert run.code == 1 and why in run.error, run.err
    assert not list((workspace.output / "simple").rglob("*.whl"))
