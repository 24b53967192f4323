"""What a run leaves behind for people and tools: graph.json, build-order.json, report.json, the stack SBOM."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from wheelwright.config.interpreters import Interpreter
from wheelwright.errors import WheelwrightError
from wheelwright.fsutil import atomic_write_bytes, atomic_write_text
from wheelwright.plan.graph import BuildGraph
from wheelwright.run.events import NodeFailed
from wheelwright.run.executor import Execution
from wheelwright.run.worker import StageSettings
from wheelwright.sandbox.isolation import Isolation


class BuildFailures(WheelwrightError):
    """One or more packages failed (with --keep-going, every one of them)."""

    def __init__(self, failures: Sequence[NodeFailed]) -> None:
        super().__init__("; ".join(f.message for f in failures))
        self.failures = tuple(failures)


def write_outputs(result: Execution, settings: StageSettings, *, network: Isolation, full: bool, python: Sequence[Interpreter],
                  graph: BuildGraph | None = None) -> None:
    """A partial run (a slice, --only, a failure) keeps the full run's graph; it only adds its own report."""
    out = settings.output_dir
    if full and graph is not None:
        atomic_write_text(out / "graph.json", graph.to_json() + "\n")
        atomic_write_text(out / "build-order.json", json.dumps(graph.build_order(), indent=1) + "\n")
        _write_stack_sbom(result, graph, settings)
    report: dict[str, Any] = {
        "variant": settings.variant.label,
        "python": ",".join(p.full_version for p in python),
        "build_jobs": settings.build_jobs,
        "network": network.description,
        "offline": settings.offline,
        "seconds": round(result.seconds, 3),
        "nodes": {o.node: {"status": o.status, "wheel": o.wheel, "sha256": o.sha256, "seconds": o.seconds, "started_at": o.started_at,
                           "finished_at": o.finished_at,
                           "gpu_payload": list(json.loads(o.facts_json).get("gpu_payload", ())) if o.facts_json else []}
                  for o in sorted(result.outcomes, key=lambda o: o.node)},
        "failures": [{"node": f.node, "message": f.message, "log": f.log} for f in result.failures],
        "skipped": dict(sorted(result.skipped.items())),
    }
    atomic_write_text(out / "report.json", json.dumps(report, indent=1) + "\n")


def _write_stack_sbom(result: Execution, graph: BuildGraph, settings: StageSettings) -> None:
    """One stack SBOM per target interpreter (a stack is what one interpreter installs). Regenerated only
    when a wheel or an edge changed: a warm run never imports the SBOM library."""
    for python in graph.pythons:
        suffix = f"@{python}" if len(graph.pythons) > 1 else ""
        mine = [o for o in result.outcomes if o.node.endswith(suffix) and o.facts_json] if suffix else [o for o in result.outcomes if o.facts_json]
        facts = sorted({o.facts_json for o in mine})
        edges = sorted({(e.parent.removesuffix(suffix), e.child.removesuffix(suffix)) for e in graph.edges
                        if e.kind in ("toplevel", "install") and e.child.endswith(suffix)})
        name = f"stack-py{python}.cdx.json" if suffix else "stack.cdx.json"
        key = hashlib.sha256(json.dumps([facts, edges, settings.source_date_epoch]).encode()).hexdigest()
        stack, stamp = settings.sbom_dir / name, settings.state_dir / f"{name}.key"
        if stack.is_file() and stamp.is_file() and stamp.read_text() == key:
            continue
        from wheelwright.stages.provenance import facts_from_json
        from wheelwright.stages.sbom import stack_sbom

        wheels = [facts_from_json(f) for f in facts]
        atomic_write_bytes(stack, stack_sbom(settings.variant.label, wheels, edges, settings.source_date_epoch))
        atomic_write_text(stamp, key)


def summary(result: Execution, settings: StageSettings) -> str:
    counts = {s: len(result.by_status(s)) for s in ("built", "cached", "index", "prebuilt", "shared")}
    parts = [f"{counts['built']} built", f"{counts['cached']} cached"] + ([f"{counts['index']} taken from the index"] if counts["index"] else []) \
        + ([f"{counts['prebuilt']} prebuilt vendor wheels"] if counts["prebuilt"] else []) \
        + ([f"{counts['shared']} pure wheels shared across interpreters"] if counts["shared"] else [])
    return f"{settings.variant.label}: {len(result.outcomes)} packages ({', '.join(parts)}) in {result.seconds:.1f}s -> {settings.simple_dir}"


def failure_message(message: str, log_path: str | None, tail_lines: list[str]) -> str:
    lines = [f"error: {message}"]
    if log_path:
        lines.append(f"  log: {log_path}")
    if tail_lines:
        lines.append(f"  last {len(tail_lines)} lines of the log:")
        lines += [f"    {line}" for line in tail_lines]
    return "\n".join(lines)


def tail(path: str | None, lines: int = 30) -> list[str]:
    if not path or not Path(path).exists():
        return []
    return Path(path).read_text(errors="replace").splitlines()[-lines:]


def load_report(output_dir: Path) -> dict[str, Any]:
    report: dict[str, Any] = json.loads((output_dir / "report.json").read_text())
    return report
