"""A cache miss says which input of its key changed since the node's last build here: a new patch, another build
tool, a changed pin a recipe reads; the first build says it is the first. Shown in report.json, the log and report.html."""

from __future__ import annotations

import json

from fakepypi import FakeProject

PATCH = "--- a/payload.txt\n+++ b/payload.txt\n@@ -1 +1 @@\n-VALUE = 1\n+VALUE = 2\n"


def _why(workspace) -> dict[str, str]:
    nodes = json.loads((workspace.output / "report.json").read_text())["nodes"]
    return {n: d.get("why", "") for n, d in nodes.items() if d["status"] == "built"}


def test_a_rebuild_names_the_input_that_changed(workspace, fake_pypi, capsys):
    fake_pypi.add(FakeProject("tool"), FakeProject("app", build_requires=["tool"]))
    assert workspace.build(capsys, "app").code == 0
    assert _why(workspace) == {"tool==1.0": "first build here: no earlier inputs recorded", "app==1.0": "first build here: no earlier inputs recorded"}
    workspace.add_patch("app", "0001-value.patch", PATCH)
    assert workspace.build(capsys, "app").code == 0
    assert _why(workspace) == {"app==1.0": "patches [] -> ['0001-value.patch']"}  # tool was a cache hit
    assert "# rebuilt: patches [] -> ['0001-value.patch']" in (workspace.output / "logs" / "app-1.0.log").read_text()
    assert "miss: patches [] -&gt; [&#x27;0001-value.patch&#x27;]" in (workspace.output / "report.html").read_text()


def test_another_build_tool_is_named(workspace, fake_pypi, capsys):
    fake_pypi.add(FakeProject("tool", version="1.0"), FakeProject("tool", version="2.0"), FakeProject("app", build_requires=["tool"]))
    constraints = workspace.root / "constraints" / "cpu.txt"
    base = constraints.read_text()
    constraints.write_text(base + "tool==1.0\n")
    assert workspace.build(capsys, "app").code == 0
    constraints.write_text(base + "tool==2.0\n")
    assert workspace.build(capsys, "app").code == 0
    why = _why(workspace)["app==1.0"]
    assert why.startswith("build environment: -tool-1.0-py3-none-any.whl#") and "+tool-2.0-py3-none-any.whl#" in why
