"""A plan streams what it reads instead of minutes of silence: a throttled line with releases read, projects seen
and the last one; a real plan run prints it through the reporter."""

from __future__ import annotations

from fakepypi import FakeProject

from wheelwright.plan.progress import PlanProgress


def test_progress_lines_are_throttled_and_count_what_was_read():
    lines: list[str] = []
    progress = PlanProgress(lines.append, every=0.0)
    for name in ("a", "b", "a"):
        progress.read(name, "1.0")
    assert lines[-1] == "  plan: read the metadata of 3 releases of 2 projects (last a 1.0)" and len(lines) == 3
    quiet: list[str] = []
    slow = PlanProgress(quiet.append, every=3600)
    for _ in range(100):
        slow.read("a", "1.0")
    assert quiet == [] and slow.releases == 100


def test_a_plan_reports_its_reads(workspace, fake_pypi, capsys, monkeypatch):
    monkeypatch.setattr(PlanProgress, "EVERY", 0.0)  # a line per read: the fake plan takes milliseconds
    fake_pypi.add(FakeProject("lib"), FakeProject("app", requires_dist=["lib"]))
    run = workspace.plan(capsys, "app")
    assert run.code == 0, run.err
    assert "  plan: read the metadata of" in run.err

