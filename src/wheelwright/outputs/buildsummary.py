"""The end of a build, as a person reads it: counts, the slowest packages, the critical path, and the exact
`pip install` line for the index (read from the report and graph the run just wrote)."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from pathlib import Path

from wheelwright.outputs.htmlreport import every_node
from wheelwright.outputs.timeline import schedule


def summary_table(report: Mapping[str, object], index: Path, requested: Sequence[str], critical: Sequence[str]) -> str:
    """The end of a build: counts, the slowest packages, the critical path, and how to install from the index."""
    nodes: Mapping[str, Mapping[str, object]] = report.get("nodes", {})  # type: ignore[assignment]
    failures = report.get("failures", []) or []
    statuses = [str(d.get("status")) for d in nodes.values()]
    counts = {s: statuses.count(s) for s in ("built", "cached", "prebuilt", "index", "shared")}
    lines = ["", "  " + "  ".join(f"{k} {v}" for k, v in counts.items() if v) + f"  failed {len(failures)}"]  # type: ignore[arg-type]
    slowest = sorted(nodes.items(), key=lambda item: -float(str(item[1].get("seconds") or 0)))[:5]
    if slowest:
        lines.append("  slowest: " + ", ".join(f"{n} {float(str(d.get('seconds') or 0)):.1f}s" for n, d in slowest))
    if critical:
        lines.append("  critical path: " + " -> ".join(critical))
    if requested and not failures:
        lines.append(f"  install: pip install --index-url {index.resolve().as_uri()} {' '.join(requested)}")
    return "\n".join(lines)


def end_of_build(output_dir: Path, requested: Sequence[str]) -> str:
    """summary_table over the report and graph the run just wrote."""
    report = json.loads((output_dir / "report.json").read_text())
    graph = json.loads((output_dir / "graph.json").read_text()) if (output_dir / "graph.json").is_file() else {"edges": []}
    critical = [s.node for s in schedule(every_node(report), graph.get("edges", [])) if s.critical]
    return summary_table(report, output_dir / "simple", requested, critical) + f"\n  report: {output_dir / 'report.html'}"
