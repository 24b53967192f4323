"""report.html rendered by headless Chromium (Debian's `chromium`): package rows, the critical path, the summary
the page's own script computes, and a failed row with its log tail in a failing build; a screenshot is kept as a
test artifact (build/test-artifacts/); the timeline also exports as Chrome trace JSON."""

from __future__ import annotations

import json
import shutil
import subprocess

import pytest
from fakepypi import FakeProject
from helpers import REPO

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
pytestmark = pytest.mark.skipif(CHROMIUM is None, reason="needs headless Chromium (.ci/run installs Debian's chromium)")
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"]


def _dom(page) -> str:
    result = subprocess.run([CHROMIUM, *FLAGS, "--dump-dom", page.as_uri()], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr[-2000:]
    return result.stdout


def _screenshot(page, name: str) -> None:
    artifacts = REPO / "build" / "test-artifacts"
    artifacts.mkdir(parents=True, exist_ok=True)
    subprocess.run([CHROMIUM, *FLAGS, "--window-size=1400,1400", f"--screenshot={artifacts / name}", page.as_uri()],
                   capture_output=True, timeout=120, check=True)
    assert (artifacts / name).stat().st_size > 10_000


def test_the_report_of_a_build_renders_its_rows_critical_path_and_graph(workspace, fake_pypi, capsys):
    fake_pypi.add(FakeProject("tool"), FakeProject("lib", build_requires=["tool"], sleep=0.3), FakeProject("app", build_requires=["tool"],
                  requires_dist=["lib"]))
    assert workspace.build(capsys, "app").code == 0
    page = workspace.output / "report.html"
    dom = _dom(page)
    for node in ("app==1.0", "lib==1.0", "tool==1.0"):
        assert f'data-node="{node}"' in dom
    assert "3 packages: 3 built; critical path: tool==1.0 → lib==1.0" in dom  # written by the page's script: JS ran
    assert 'class="critical"' in dom and "<svg id=\"graph\"" in dom and "build-system" in dom
    assert "cdn" not in page.read_text().lower() and "http" not in page.read_text().split("<script>")[1]  # self-contained
    trace = json.loads((workspace.output / "timeline.trace.json").read_text())
    assert sorted(e["name"] for e in trace["traceEvents"] if e["ph"] == "X") == ["app==1.0", "lib==1.0", "tool==1.0"]
    _screenshot(page, "report-ok.png")
    assert workspace.build(capsys, "app").code == 0
    assert "3 packages: 3 cached" in _dom(page)  # the second run: cache hits


def test_a_failing_build_shows_the_failed_row_and_its_log_tail(workspace, fake_pypi, capsys):
    fake_pypi.add(FakeProject("good"), FakeProject("broken", fail="build"))
    run = workspace.build(capsys, "good", "broken", "--keep-going")
    assert run.code == 1
    dom = _dom(workspace.output / "report.html")
    assert 'class="failed" data-node="broken==1.0"' in dom and 'id="status">failed<' in dom
    assert "error: fake compiler failed on line 42" in dom.split('id="failures"')[1]  # the log tail, in the page
    _screenshot(workspace.output / "report.html", "report-failed.png")
