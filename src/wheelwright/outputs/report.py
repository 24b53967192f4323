"""What a run leaves behind for people and tools: graph.json, build-order.json, report.json."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

from wheelwright.fsutil import atomic_write_bytes, atomic_write_text
from wheelwright.run.schedule import BuildResult, BuildSettings


def write_outputs(result: BuildResult, settings: BuildSettings, *, full: bool) -> None:
    """A partial (--only) run keeps the full run's graph; it only adds its own report."""
    out = settings.output_dir
    if full:
        atomic_write_text(out / "graph.json", result.graph.to_json() + "\n")
        atomic_write_text(out / "build-order.json", json.dumps(result.graph.build_order(), indent=1) + "\n")
        _write_stack_sbom(result, settings)
    report = {
        "variant": settings.variant.label,
        "python": settings.interpreter.full_version,
        "jobs": settings.jobs,
        "only": settings.only,
        "network": settings.network.description,
        "offline": settings.offline,
        "seconds": round(result.seconds, 3),
        "nodes": {o.id: {"status": o.status, "wheel": o.wheel, "seconds": o.seconds, "started_at": o.started_at, "finished_at": o.finished_at,
                         "gpu_payload": list(json.loads(o.facts_json).get("gpu_payload", ())) if o.facts_json else []}
                  for o in sorted(result.outcomes, key=lambda o: o.id)},
    }
    atomic_write_text(out / "report.json", json.dumps(report, indent=1) + "\n")


def _write_stack_sbom(result: BuildResult, settings: BuildSettings) -> None:
    """Regenerated only when a wheel or an edge changed: a warm run never imports the SBOM library."""
    facts = sorted(o.facts_json for o in result.outcomes if o.facts_json)
    edges = sorted((e.parent, e.child) for e in result.graph.edges if e.kind in ("toplevel", "install"))
    key = hashlib.sha256(json.dumps([facts, edges, settings.source_date_epoch]).encode()).hexdigest()
    assert settings.sbom_dir is not None
    stack, stamp = settings.sbom_dir / "stack.cdx.json", settings.state_dir / "stack-sbom.key"
    if stack.is_file() and stamp.is_file() and stamp.read_text() == key:
        return
    from wheelwright.stages.provenance import facts_from_json
    from wheelwright.stages.sbom import stack_sbom

    wheels = [facts_from_json(f) for f in facts]
    atomic_write_bytes(stack, stack_sbom(settings.variant.label, wheels, edges, settings.source_date_epoch))
    atomic_write_text(stamp, key)


def summary(result: BuildResult, settings: BuildSettings) -> str:
    built, cached, index, prebuilt = (len(result.by_status(s)) for s in ("built", "cached", "index", "prebuilt"))
    parts = [f"{built} built", f"{cached} cached"] + ([f"{index} taken from the index"] if index else []) + ([f"{prebuilt} prebuilt vendor wheels"] if prebuilt else [])
    return f"{settings.variant.label}: {len(result.outcomes)} packages ({', '.join(parts)}) in {result.seconds:.1f}s -> {settings.simple_dir}"


def failure_message(message: str, log_path: str | None, tail_lines: list[str]) -> str:
    lines = [f"error: {message}"]
    if log_path:
        lines.append(f"  log: {log_path}")
    if tail_lines:
        lines.append(f"  last {len(tail_lines)} lines of the log:")
        lines += [f"    {line}" for line in tail_lines]
    return "\n".join(lines)


def load_report(output_dir: Path) -> dict:
    return json.loads((output_dir / "report.json").read_text())
