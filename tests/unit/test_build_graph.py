"""The build graph is the one truth: what `plan` writes is what `build` runs, every recipe hook reaches
the build, and a slice of the plan builds anywhere from an index of the rest."""

from __future__ import annotations

import email.parser
import functools
import http.server
import json
import shutil
import threading
import zipfile

import pytest
from fakepypi import FakeProject

from wheelwright.cli import main
from wheelwright.config.interpreters import available_versions
from wheelwright.plan.graph import BuildGraph

HOOKS = '''
from wheelwright import Recipe
recipe = Recipe("app")

@recipe.requires()
def requires(ctx):
    return ["six"]

@recipe.build_requires()
def build_requires(ctx):
    return ["buildonly"]

@recipe.drop_requires()
def drop(ctx):
    return ["nvidia-*"]

@recipe.env()
def env(ctx):
    return {"APP_FLAVOUR": "hooked"}

@recipe.config_settings()
def config(ctx):
    return {"--build-option": "fast"}

@recipe.prepare()
def prepare(ctx):
    (ctx.source_dir / "payload.txt").write_text("PREPARED = True\\n")
'''


def _tree(fake_pypi, workspace):
    workspace.write("renames.toml", '[renames.oldname]\nto = "newname"\nnote = "renamed upstream"\n')
    fake_pypi.add(
        FakeProject("app", requires_dist=["lib>=1", "nvidia-cublas-cu12", "oldname"], imports=["buildonly"], print_env=True),
        FakeProject("newname"),
        FakeProject("lib", build_requires=["tool"], dynamic=["dyn"], imports=["tool", "dyn"]),
        FakeProject("tool", requires_dist=["toolhelper"]), FakeProject("toolhelper"), FakeProject("dyn"),
        FakeProject("six"), FakeProject("buildonly"), FakeProject("nvidia-cublas-cu12"),
    )


def _plan(workspace, capsys, *args):
    code = main(["--project", str(workspace.root), "plan", "--index-url", workspace.index_url, "--cache-dir", str(workspace.cache), *args])
    out = capsys.readouterr()
    assert code == 0, out.err
    return BuildGraph.from_json((workspace.output / "plan.json").read_text())


def _requires_dist(wheel):
    with zipfile.ZipFile(wheel) as zf:
        name = next(n for n in zf.namelist() if n.endswith(".dist-info/METADATA"))
        return email.parser.BytesParser().parsebytes(zf.read(name)).get_all("Requires-Dist") or []


def test_every_recipe_hook_reaches_the_build(workspace, fake_pypi, capsys):
    _tree(fake_pypi, workspace)
    workspace.write("recipes/app.py", HOOKS)
    run = workspace.build(capsys, "app")
    assert run.code == 0, run.err
    graph = json.loads((workspace.output / "graph.json").read_text())
    edges = {(e["parent"], e["child"], e["kind"]) for e in graph["edges"]}
    assert ("app==1.0", "six==1.0", "install") in edges  # requires: an install edge, built
    assert ("app==1.0", "buildonly==1.0", "build-system") in edges  # build_requires: in the build environment (the backend imports it)
    assert not any(child.startswith("nvidia-cublas") for _, child, _ in edges)  # drop_requires: never planned, never built
    statuses = workspace.statuses()
    assert statuses["six==1.0"] == statuses["buildonly==1.0"] == "built" and "nvidia-cublas-cu12==1.0" not in statuses
    (wheel,) = (workspace.output / "simple" / "app").glob("*.whl")
    assert sorted(_requires_dist(wheel)) == ["lib>=1", "newname", "six"]  # what pip installs from our index: renamed, added, dropped
    assert ("app==1.0", "newname==1.0", "install") in edges and statuses["newname==1.0"] == "built"  # the rename followed
    log = (workspace.output / "logs" / "app-1.0.log").read_text()
    assert "ENV APP_FLAVOUR=hooked" in log  # env
    assert 'CONFIG_SETTINGS {"--build-option": "fast"}' in log  # config settings reach the backend
    with zipfile.ZipFile(wheel) as zf:
        assert zf.read("app/__init__.py") == b"PREPARED = True\n"  # prepare ran on the tree that was built


def test_plan_before_the_build_is_the_graph_the_build_wrote(workspace, fake_pypi, capsys):
    _tree(fake_pypi, workspace)
    workspace.write("recipes/app.py", HOOKS)
    cold = _plan(workspace, capsys, "app")
    assert cold.frontier()  # nothing recorded yet: the backends' answers are unknown, and the plan says so
    assert workspace.build(capsys, "app").code == 0
    after = BuildGraph.from_json((workspace.output / "graph.json").read_text())
    cold_nodes, cold_edges = cold.shape()
    nodes, edges = after.shape()
    assert cold_nodes <= nodes and cold_edges <= edges  # the build only grew the plan, through the planner
    warm = _plan(workspace, capsys, "app")
    assert not warm.frontier() and warm.shape() == after.shape()  # a warm plan is complete, and is exactly what was built
    assert all(spec.cache_key and spec.wheel_sha256 for spec in warm.nodes.values())
    assert workspace.build(capsys, "app").code == 0
    assert BuildGraph.from_json((workspace.output / "graph.json").read_text()).shape() == warm.shape()
    assert set(workspace.statuses().values()) == {"cached"}


def test_a_slice_builds_its_nodes_and_takes_the_rest_verified(workspace, fake_pypi, capsys, tmp_path):
    _tree(fake_pypi, workspace)
    workspace.write("recipes/app.py", HOOKS)
    assert workspace.build(capsys, "app").code == 0
    _plan(workspace, capsys, "app")
    plan = tmp_path / "plan.json"
    shutil.copy(workspace.output / "plan.json", plan)
    elsewhere = tmp_path / "job"
    run = workspace.build(capsys, "--plan", str(plan), "--nodes", "lib==1.0", "--from-index", str(workspace.output / "simple"),
                          "--output-dir", str(elsewhere))
    assert run.code == 0, run.err
    report = json.loads((elsewhere / "report.json").read_text())["nodes"]
    assert report["lib==1.0"]["status"] in ("built", "cached")
    assert {n: r["status"] for n, r in report.items() if n != "lib==1.0"} == {"tool==1.0": "index", "toolhelper==1.0": "index", "dyn==1.0": "index"}
    assert report["lib==1.0"]["sha256"] == json.loads((workspace.output / "report.json").read_text())["nodes"]["lib==1.0"]["sha256"]
    # the same slice with the rest taken from a PEP 503 index over HTTP (the wheels verified by the page's sha256)
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(workspace.output / "simple"))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        run = workspace.build(capsys, "--plan", str(plan), "--nodes", "lib==1.0", "--from-index", f"http://127.0.0.1:{server.server_port}/",
                              "--output-dir", str(tmp_path / "job-http"))
    finally:
        server.shutdown()
    assert run.code == 0, run.err
    over_http = json.loads((tmp_path / "job-http" / "report.json").read_text())["nodes"]
    assert over_http["tool==1.0"]["status"] == "index" and over_http["lib==1.0"]["sha256"] == report["lib==1.0"]["sha256"]
    # a wheel that is not the one the plan names is refused
    tampered = tmp_path / "tampered"
    shutil.copytree(workspace.output / "simple", tampered)
    (wheel,) = (tampered / "tool").glob("*.whl")
    with zipfile.ZipFile(wheel, "a") as zf:
        zf.writestr("tool/evil.py", "EVIL = 1\n")
    run = workspace.build(capsys, "--plan", str(plan), "--nodes", "lib==1.0", "--from-index", str(tampered), "--output-dir", str(tmp_path / "job2"))
    assert run.code == 1 and "tool==1.0" in run.error and "the plan says" in run.error


def test_slices_of_a_cold_plan_build_like_ci_jobs(workspace, fake_pypi, capsys, tmp_path):
    """What CI jobs do: one cold plan, a job per slice, each taking what earlier jobs published. The frontier
    node's backend is asked in its own job, and the slice builds the very bytes a local build does."""
    _tree(fake_pypi, workspace)
    cold = _plan(workspace, capsys, "lib")
    assert "lib==1.0" in cold.frontier()
    plan = tmp_path / "plan.json"
    shutil.copy(workspace.output / "plan.json", plan)
    first, second = tmp_path / "job1", tmp_path / "job2"
    assert not [n for n in cold.nodes if n.startswith("toolhelper")]  # tool's dependencies are unpublished: known once it is built
    run = workspace.build(capsys, "--plan", str(plan), "--nodes", "tool==1.0", "--from-index", str(tmp_path / "none"),
                          "--output-dir", str(first))
    assert run.code == 0, run.err
    assert json.loads((first / "report.json").read_text())["nodes"]["toolhelper==1.0"]["status"] == "built"  # revealed, built by the job that needs it
    run = workspace.build(capsys, "--plan", str(plan), "--nodes", "lib==1.0", "--from-index", str(first / "simple"), "--output-dir", str(second))
    assert run.code == 0, run.err
    report = json.loads((second / "report.json").read_text())["nodes"]
    assert report["lib==1.0"]["status"] == report["dyn==1.0"]["status"] == "built"  # its backend named dyn: nobody had it, this job built it
    assert report["tool==1.0"]["status"] == report["toolhelper==1.0"]["status"] == "index"  # taken: job 1 published them
    assert workspace.build(capsys, "lib").code == 0  # the same tree built locally, in one run
    assert workspace.report()["nodes"]["lib==1.0"]["sha256"] == report["lib==1.0"]["sha256"]


def test_keep_going_builds_what_it_can_and_reports_every_failure(workspace, fake_pypi, capsys):
    fake_pypi.add(FakeProject("top", requires_dist=["bad1", "bad2", "fine"]), FakeProject("bad1", fail="build"),
                  FakeProject("bad2", fail="build"), FakeProject("fine"))
    run = workspace.build(capsys, "top", "--keep-going")
    assert run.code == 1
    assert "bad1==1.0" in run.err and "bad2==1.0" in run.err and "2 packages failed" in run.err
    assert workspace.statuses()["fine==1.0"] == "built" and workspace.statuses()["top==1.0"] == "built"
    assert "fake compiler failed" in run.err  # each failure with its log's last lines


def test_a_hook_for_a_variant_that_does_not_exist_is_refused_at_load(workspace, fake_pypi, capsys):
    fake_pypi.add(FakeProject("app"))
    workspace.write("recipes/app.py", 'from wheelwright import Recipe\nrecipe = Recipe("app")\n\n@recipe.env("cpuu")\ndef env(ctx):\n    return {}\n')
    run = workspace.build(capsys, "app")
    assert run.code == 2 and "recipes/app.py" in run.error and "'cpuu'" in run.error and "env" in run.error


def test_build_parallelism_comes_from_its_own_budget(workspace, fake_pypi, capsys):
    fake_pypi.add(FakeProject("app", print_env=True))
    assert workspace.build(capsys, "app", "--build-jobs", "3").code == 0
    log = (workspace.output / "logs" / "app-1.0.log").read_text()
    assert "ENV MAX_JOBS=3" in log and "ENV CMAKE_BUILD_PARALLEL_LEVEL=3" in log and "ENV MAKEFLAGS=-j3" in log


@pytest.mark.skipif("3.12" not in available_versions(), reason="needs python3.12")
def test_one_plan_for_several_interpreters_shares_pure_wheels(workspace, fake_pypi, capsys):
    fake_pypi.add(FakeProject("app", requires_dist=["lib"]), FakeProject("lib"))
    run = workspace.build(capsys, "app", "--python", "3.11,3.12")
    assert run.code == 0, run.err
    statuses = workspace.statuses()
    assert statuses["app==1.0@3.11"] == "built" and statuses["app==1.0@3.12"] == "shared"  # a pure wheel is built once
    assert len(list((workspace.output / "simple" / "app").glob("*.whl"))) == 1


def test_a_runtime_fact_learnt_mid_build_does_not_move_a_tool_already_built(workspace, fake_pypi, capsys):
    """app builds with the newest tool (2.0); only its built wheel says it runs on tool<2. The re-plan that follows
    puts tool 1.0 in the runtime tree, and must not move app's build edge to it: tool 2.0 is built and in use."""
    fake_pypi.add(FakeProject("tool", "1.0"), FakeProject("tool", "2.0"), FakeProject("app", build_requires=["tool"], requires_dist=["tool<2"]))
    run = workspace.build(capsys, "app")
    assert run.code == 0, run.err
    assert workspace.statuses()["tool==2.0"] == "built" and workspace.statuses()["tool==1.0"] == "built"
    edges = {(e["parent"], e["child"], e["kind"]) for e in json.loads((workspace.output / "graph.json").read_text())["edges"]}
    assert ("app==1.0", "tool==2.0", "build-system") in edges and ("app==1.0", "tool==1.0", "install") in edges
