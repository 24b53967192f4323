"""A run's schedule as data: each node's start and end, the critical path through its build dependencies, and
each node's slack. The HTML report draws it; Chrome's trace format (Perfetto, chrome://tracing) exports it."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

#: The edges along which a node waits for another to be built first (runtime edges wait only at install time).
WAITS_ON = ("build-system", "build-backend")


@dataclass(frozen=True)
class Span:
    node: str
    status: str
    start: float
    end: float
    slack: float  # how much later it could have finished without delaying the run
    critical: bool


def schedule(nodes: Mapping[str, Mapping[str, object]], edges: Sequence[Mapping[str, str]]) -> list[Span]:
    """Spans from report.json's nodes (started_at / finished_at, seconds since the run began) and graph.json's edges."""
    times = {n: (float(str(d.get("started_at") or 0.0)), float(str(d.get("finished_at") or d.get("started_at") or 0.0)))
             for n, d in nodes.items()}
    duration = {n: max(0.0, end - start) for n, (start, end) in times.items()}
    deps: dict[str, set[str]] = {n: set() for n in nodes}
    users: dict[str, set[str]] = {n: set() for n in nodes}
    for edge in edges:
        parent, child = edge["parent"], edge["child"]
        if edge.get("kind") in WAITS_ON and parent in deps and child in deps and parent != child:
            deps[parent].add(child)
            users[child].add(parent)
    head: dict[str, float] = {}  # longest chain of waits ending with the node, its own time included

    def finish(node: str, seen: frozenset[str] = frozenset()) -> float:
        if node not in head:
            head[node] = duration[node] + max((finish(d, seen | {node}) for d in deps[node] if d not in seen), default=0.0)
        return head[node]

    tail: dict[str, float] = {}  # longest chain of nodes waiting on it, after it

    def after(node: str, seen: frozenset[str] = frozenset()) -> float:
        if node not in tail:
            tail[node] = max((duration[u] + after(u, seen | {node}) for u in users[node] if u not in seen), default=0.0)
        return tail[node]

    longest = max((finish(n) + after(n) for n in nodes), default=0.0)
    spans = []
    for node in nodes:
        through = finish(node) + after(node)
        slack = max(0.0, longest - through)
        start, end = times[node]
        spans.append(Span(node, str(nodes[node].get("status", "")), start, end, round(slack, 3), duration[node] > 0 and slack < 1e-6))
    return sorted(spans, key=lambda s: (s.start, s.node))


def chrome_trace(spans: Sequence[Span], run: str) -> str:
    """The spans as Chrome trace events (complete events, microseconds), one track per concurrent build slot."""
    slots: list[float] = []
    events = []
    for span in spans:
        slot = next((i for i, free in enumerate(slots) if free <= span.start), len(slots))
        if slot == len(slots):
            slots.append(0.0)
        slots[slot] = span.end
        events.append({"name": span.node, "cat": "critical" if span.critical else span.status, "ph": "X", "pid": 1, "tid": slot + 1,
                       "ts": round(span.start * 1e6), "dur": round((span.end - span.start) * 1e6),
                       "args": {"status": span.status, "slack_s": span.slack}})
    meta = [{"name": "process_name", "ph": "M", "pid": 1, "args": {"name": f"wheelwright {run}"}}]
    return json.dumps({"traceEvents": meta + events, "displayTimeUnit": "ms"}, indent=1)
