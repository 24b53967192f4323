"""Progress a person can follow: lines and a heartbeat in a CI log, a live table on a terminal, and the end-of-build
summary with the exact pip install line."""

from __future__ import annotations

import io
import time

from fakepypi import FakeProject

from wheelwright.run.events import NodeFailed, NodeFinished, NodeStarted
from wheelwright.run.progress import LineProgress, LiveProgress


def test_a_ci_log_gets_a_line_per_start_and_end_and_a_heartbeat():
    out = io.StringIO()
    progress = LineProgress(out, total=2, expected={"a==1": 0.2}, heartbeat=0.05)
    progress.report(NodeStarted("a==1", "prepare"))
    progress.report(NodeStarted("a==1", "build"))
    time.sleep(0.2)
    progress.report(NodeFinished("a==1", "built", "a-1-py3-none-any.whl", 0.2))
    progress.close()
    lines = out.getvalue().splitlines()
    assert lines[0] == "  start a==1 (prepare)" and "  start a==1 (build)" not in lines  # one start line, for the stage it began with
    assert any(line.startswith("  ... 0/2 done; still building: a==1 (0m00s)") for line in lines)
    assert lines[-1] == "  built a==1 -> a-1-py3-none-any.whl (0.2s)  [1/2 done]"
    assert "\x1b[" not in out.getvalue()  # never a redrawing display


def test_a_terminal_gets_a_live_table_and_the_failure_tail(tmp_path):
    log = tmp_path / "b.log"
    log.write_text("compiling...\nerror: boom\n")
    out = io.StringIO()
    live = LiveProgress(out, total=2, expected={"a==1": 1.0, "b==1": 1.0})
    live.report(NodeStarted("b==1", "build"))
    assert "about" in live._title()  # ETA from the last run's durations
    live.report(NodeFailed("b==1", "b==1: build_wheel failed", str(log)))
    assert live._render().caption == "b==1 failed: compiling... | error: boom"
    live.close()


def test_a_build_ends_with_the_summary_and_the_install_line(workspace, fake_pypi, capsys):
    fake_pypi.add(FakeProject("tool"), FakeProject("app", build_requires=["tool"]))
    run = workspace.build(capsys, "app")
    assert run.code == 0
    assert "  start tool==1.0 (prepare)" in run.err.splitlines() and "  start app==1.0 (prepare)" in run.err.splitlines()
    assert f"  install: pip install --index-url {(workspace.output / 'simple').resolve().as_uri()} app" in run.out.splitlines()
    assert any(line.startswith("  critical path: tool==1.0 -> app==1.0") for line in run.out.splitlines())
    assert any(line.startswith("  built 2") for line in run.out.splitlines())
