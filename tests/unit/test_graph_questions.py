"""`wheelwright why PKG`, `graph --format dot|svg|mermaid` on the graph a build wrote, and `diff-variants A B` from
the constraints and recipes of two variant-versions."""

from __future__ import annotations

import xml.etree.ElementTree as ET

from fakepypi import FakeProject
from helpers import REPO

from wheelwright.cli import main


def _run(capsys, *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_why_and_graph_read_the_build_graph(workspace, fake_pypi, capsys):
    fake_pypi.add(FakeProject("tool"), FakeProject("lib", build_requires=["tool"]), FakeProject("app", build_requires=["tool"], requires_dist=["lib"]))
    assert workspace.build(capsys, "app").code == 0
    project = ["--project", str(workspace.root)]
    code, out, _ = _run(capsys, *project, "why", "tool")
    assert code == 0
    assert "<toplevel> -> app==1.0 [toplevel: app] -> tool==1.0 [build-system: tool]" in out.splitlines()
    assert "<toplevel> -> app==1.0 [toplevel: app] -> lib==1.0 [install: lib] -> tool==1.0 [build-system: tool]" in out.splitlines()
    code, _, err = _run(capsys, *project, "why", "tol")
    assert code == 1 and "error: tol is not in the cpu graph (did you mean 'tool'?)" in err
    assert 'digraph wheelwright' in _run(capsys, *project, "graph")[1] and '"app==1.0" -> "lib==1.0" [label="install"' in _run(capsys, *project, "graph")[1]
    mermaid = _run(capsys, *project, "graph", "--format", "mermaid")[1]
    assert mermaid.startswith("graph TD") and '["lib==1.0"]' in mermaid and "-->|install|" in mermaid
    svg = ET.fromstring(_run(capsys, *project, "graph", "--format", "svg")[1])  # well-formed SVG
    assert svg.tag.endswith("svg") and len([e for e in svg.iter() if e.tag.endswith("line")]) >= 3


def test_diff_variants_names_what_differs_per_package(capsys):
    code, out, _ = _run(capsys, "--project", str(REPO), "diff-variants", "cuda-13.0", "rocm-7.1")
    assert code == 0
    lines = out.splitlines()
    assert lines[0].split() == ["package", "cuda-13.0", "rocm-7.1"]
    torch = lines.index(next(line for line in lines if line.startswith("torch ")))
    assert lines[torch].split()[1:] == ["2.11.0", "2.10.0"]
    assert any("(built)= no: a prebuilt vendor wheel" in line and "USE_ROCM=" not in line for line in lines[torch + 1:torch + 8])
    assert any(line.startswith("amd-aiter") and line.split()[1:] == ["-", "0.1.10.post2"] for line in lines)
