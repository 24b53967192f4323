"""`build/<variant>/report.html`: one self-contained page (no server, no CDN, everything inlined) over what a run
wrote as JSON: a row per package, the Gantt timeline with the critical path and each node's slack, the dependency
graph with its edge kinds, and the failures with their log tails. Also `timeline.trace.json` for Perfetto."""

from __future__ import annotations

import html
import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from wheelwright.fsutil import atomic_write_text
from wheelwright.outputs.timeline import Span, chrome_trace, schedule

EDGE_COLOURS = {"build-system": "#c0392b", "build-backend": "#e67e22", "install": "#2c7be5", "toplevel": "#555", "extra": "#8e44ad"}
STYLE = """
body{font:13px system-ui,sans-serif;margin:1.5em;color:#222} h1{font-size:1.4em} h2{font-size:1.1em;margin-top:2em}
table{border-collapse:collapse;width:100%} th,td{border-bottom:1px solid #ddd;padding:3px 6px;text-align:left;vertical-align:top}
tr.failed td{background:#fde2e2} tr.cached td{color:#555} code{font-size:12px} .critical{fill:#c0392b} .bar{fill:#2c7be5}
.bar.cached{fill:#9bb7e0} .bar.failed{fill:#e74c3c} pre{background:#f6f6f6;padding:8px;overflow:auto;max-height:20em}
svg text{font-size:11px} .legend span{display:inline-block;margin-right:1em}
"""


def write_html_report(output_dir: Path) -> Path:
    """Read report.json, graph.json, index.json (and reproducible.json) of ``output_dir``; write report.html and
    timeline.trace.json beside them."""
    report = _load(output_dir / "report.json")
    graph = _load(output_dir / "graph.json") if (output_dir / "graph.json").is_file() else {"nodes": [], "edges": []}
    manifest = _load(output_dir / "index.json").get("wheels", {}) if (output_dir / "index.json").is_file() else {}
    spans = schedule(every_node(report), graph.get("edges", []))
    atomic_write_text(output_dir / "timeline.trace.json", chrome_trace(spans, str(report.get("run", ""))) + "\n")
    page = render(report, graph, manifest, spans)
    target = output_dir / "report.html"
    atomic_write_text(target, page)
    return target


def every_node(report: Mapping[str, Any]) -> dict[str, Mapping[str, Any]]:
    """The run's outcomes, its failures and what it skipped because of them: every node the run was about."""
    nodes: dict[str, Mapping[str, Any]] = dict(report.get("nodes", {}))
    for failure in report.get("failures", []):
        nodes.setdefault(str(failure.get("node")), {"status": "failed"})
    for node, why in report.get("skipped", {}).items():
        nodes.setdefault(node, {"status": "skipped", "why": why})
    return nodes


def render(report: Mapping[str, Any], graph: Mapping[str, Any], manifest: Mapping[str, Mapping[str, Any]], spans: Sequence[Span]) -> str:
    specs = {n["id"]: n for n in graph.get("nodes", [])}
    nodes = every_node(report)
    reproducible = report.get("reproducible", {}).get("wheels", {})
    data = {"run": report.get("run"), "status": report.get("status"), "variant": report.get("variant"),
            "statuses": {n: d.get("status") for n, d in nodes.items()}, "critical": [s.node for s in spans if s.critical]}
    parts = [
        "<!doctype html><html lang=en><head><meta charset=utf-8>",
        f"<title>wheelwright {html.escape(str(report.get('variant', '')))} {html.escape(str(report.get('run', '')))}</title>",
        f"<style>{STYLE}</style></head><body>",
        f"<h1>wheelwright — {html.escape(str(report.get('variant', '')))}, run {html.escape(str(report.get('run', '')))}: "
        f"<span id=status>{html.escape(str(report.get('status', '')))}</span></h1>",
        "<p id=summary>(summary needs JavaScript)</p>",
        _packages(nodes, specs, manifest, reproducible, spans),
        _gantt(spans),
        _graph(specs, graph.get("edges", [])),
        _failures(report.get("failures", [])),
        f"<script type=application/json id=data>{html.escape(json.dumps(data, sort_keys=True), quote=False)}</script>",
        "<script>" + SCRIPT + "</script></body></html>",
    ]
    return "\n".join(parts) + "\n"


SCRIPT = """
const d = JSON.parse(document.getElementById('data').textContent);
const counts = {};
for (const s of Object.values(d.statuses)) counts[s] = (counts[s] || 0) + 1;
const order = ['built', 'cached', 'prebuilt', 'failed', 'skipped'];
const parts = order.filter(k => counts[k]).map(k => counts[k] + ' ' + k);
document.getElementById('summary').textContent = Object.keys(d.statuses).length + ' packages: ' + parts.join(', ')
  + '; critical path: ' + (d.critical.join(' → ') || 'none');
"""


def _packages(nodes: Mapping[str, Mapping[str, Any]], specs: Mapping[str, Mapping[str, Any]], manifest: Mapping[str, Mapping[str, Any]],
              reproducible: Mapping[str, Mapping[str, Any]], spans: Sequence[Span]) -> str:
    slack = {s.node: s for s in spans}
    rows = ["<h2>Packages</h2><table id=packages><tr><th>package</th><th>status</th><th>cache</th><th>source</th><th>seconds</th>"
            "<th>log</th><th>licence</th><th>SBOM</th><th>GPU payload</th><th>reproducible</th></tr>"]
    for node, data in sorted(nodes.items()):
        spec = specs.get(node, {})
        wheel = str(data.get("wheel") or "")
        entry = manifest.get(wheel, {})
        source = spec.get("source", {})
        status = str(data.get("status", ""))
        cache = {"cached": "hit: its key's wheel was on record", "built": f"miss: {data.get('why') or 'no wheel recorded for its key'}",
                 "prebuilt": "vendor wheel"}.get(status, "")
        repro = reproducible.get(wheel)
        repro_text = "" if repro is None else ("identical" if repro.get("identical") else "DIFFERS: " + ", ".join(repro.get("classes", [])))
        name, version = spec.get("name", node), spec.get("version", "")
        log = f"logs/{name}-{version}.log"
        span = slack.get(node)
        rows.append(
            f"<tr class={html.escape(status)} data-node='{html.escape(node)}'><td>{html.escape(node)}</td><td>{html.escape(status)}</td>"
            f"<td>{html.escape(cache)}<br><code>{html.escape(str(spec.get('cache_key') or '')[:16])}</code></td>"
            f"<td>{html.escape(str(source.get('kind', '')))} <code>{html.escape(str(source.get('sha256') or source.get('git_commit') or '')[:16])}</code></td>"
            f"<td>{float(str(data.get('seconds') or 0)):.1f}" + (" <b>critical</b>" if span and span.critical else "") + "</td>"
            f"<td><a href='{html.escape(log)}'>log</a></td><td>{html.escape(str(entry.get('license') or ''))}</td>"
            f"<td>{_link(entry.get('sbom'))}</td><td>{html.escape('; '.join(map(str, data.get('gpu_payload') or [])))}</td>"
            f"<td>{html.escape(repro_text)}</td></tr>")
    rows.append("</table>")
    return "\n".join(rows)


def _link(path: object) -> str:
    return f"<a href='{html.escape(str(path))}'>SBOM</a>" if path else ""


def _gantt(spans: Sequence[Span]) -> str:
    if not spans:
        return "<h2>Timeline</h2><p>nothing ran</p>"
    end = max(s.end for s in spans) or 1.0
    width, row, left = 900.0, 16, 260
    height = row * len(spans) + 30
    out = [f"<h2>Timeline</h2><p class=legend><span>critical path in red</span><span>slack: how much later a build could have "
           f"finished without delaying the run</span></p><svg id='gantt' width='{left + width + 120:.0f}' height='{height}' role='img'>"]
    for i, span in enumerate(spans):
        y = 10 + i * row
        x = left + span.start / end * width
        w = max(1.0, (span.end - span.start) / end * width)
        cls = "critical" if span.critical else f"bar {span.status}"
        out.append(f"<text x='0' y='{y + 11}'>{html.escape(span.node)}</text>"
                   f"<rect class='{cls}' data-node='{html.escape(span.node)}' x='{x:.1f}' y='{y}' width='{w:.1f}' height='{row - 4}'>"
                   f"<title>{html.escape(span.node)}: {span.end - span.start:.1f} s, slack {span.slack:.1f} s</title></rect>"
                   f"<text x='{x + w + 4:.1f}' y='{y + 11}'>{span.end - span.start:.1f}s" + ("" if span.critical else f" (+{span.slack:.1f}s)") + "</text>")
    out.append(f"<text x='{left}' y='{height - 4}'>0 s</text><text x='{left + width - 40:.0f}' y='{height - 4}'>{end:.1f} s</text></svg>")
    return "\n".join(out)


def _graph(specs: Mapping[str, Mapping[str, Any]], edges: Sequence[Mapping[str, str]]) -> str:
    """Layers by depth (a node sits below everything it needs), edges coloured by kind."""
    if not specs:
        return ""
    needs: dict[str, set[str]] = {n: set() for n in specs}
    for edge in edges:
        if edge["parent"] in needs and edge["child"] in needs and edge["parent"] != edge["child"]:
            needs[edge["parent"]].add(edge["child"])
    depth: dict[str, int] = {}

    def level(node: str, seen: frozenset[str] = frozenset()) -> int:
        if node not in depth:
            depth[node] = 1 + max((level(c, seen | {node}) for c in needs[node] if c not in seen), default=-1)
        return depth[node]

    layers: dict[int, list[str]] = {}
    for node in sorted(specs):
        layers.setdefault(level(node), []).append(node)
    box_w, box_h, gap_x, gap_y = 170, 22, 20, 60
    where = {n: (20 + i * (box_w + gap_x), 20 + lvl * (box_h + gap_y)) for lvl, ns in layers.items() for i, n in enumerate(ns)}
    width = 40 + max(len(ns) for ns in layers.values()) * (box_w + gap_x)
    height = 40 + (max(layers) + 1) * (box_h + gap_y)
    out = ["<h2>Dependency graph</h2><p class=legend>" + "".join(f"<span style='color:{c}'>— {k}</span>" for k, c in EDGE_COLOURS.items()) + "</p>",
           f"<svg id='graph' width='{width}' height='{height}' role='img'>"]
    for edge in edges:
        if edge["parent"] in where and edge["child"] in where:
            (x1, y1), (x2, y2) = where[edge["parent"]], where[edge["child"]]
            colour = EDGE_COLOURS.get(edge.get("kind", ""), "#999")
            out.append(f"<line class='edge {html.escape(edge.get('kind', ''))}' x1='{x1 + box_w / 2}' y1='{y1 + box_h}' x2='{x2 + box_w / 2}' y2='{y2}' "
                       f"stroke='{colour}'><title>{html.escape(edge['parent'])} → {html.escape(edge['child'])} "
                       f"({html.escape(edge.get('kind', ''))}: {html.escape(edge.get('requirement', ''))})</title></line>")
    for node, (x, y) in where.items():
        out.append(f"<g class='node' data-node='{html.escape(node)}'><rect x='{x}' y='{y}' width='{box_w}' height='{box_h}' fill='#fff' stroke='#333'/>"
                   f"<text x='{x + 4}' y='{y + 15}'>{html.escape(node[:28])}</text></g>")
    out.append("</svg>")
    return "\n".join(out)


def _failures(failures: Sequence[Mapping[str, Any]]) -> str:
    if not failures:
        return "<h2>Failures</h2><p id=failures>none</p>"
    out = ["<h2>Failures</h2><div id=failures>"]
    for failure in failures:
        out.append(f"<h3>{html.escape(str(failure.get('node')))}</h3><p>{html.escape(str(failure.get('message')))}</p>"
                   f"<pre>{html.escape(_text(failure.get('log_tail')))}</pre>")
    out.append("</div>")
    return "\n".join(out)


def _text(lines: object) -> str:
    return "\n".join(map(str, lines)) if isinstance(lines, list) else str(lines or "")


def _load(path: Path) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(path.read_text())
    return data
