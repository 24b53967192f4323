"""What a run leaves behind for people and tools: graph.json, build-order.json, report.json, the stack SBOM."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any
from dataclasses import asdict

from packaging.utils import canonicalize_name, parse_wheel_filename

from wheelwright.config.interpreters import Interpreter
from wheelwright.errors import WheelwrightError
from wheelwright.fsutil import atomic_write_bytes, atomic_write_text
from wheelwright.plan.graph import ROOT, BuildGraph
from wheelwright.run.cache import RecordStore
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
                  graph: BuildGraph | None = None, failed: bool = False) -> None:
    """graph.json and report.json are this run's (and say so); the stack SBOM covers the whole index. A partial
    run (a slice, --only) keeps the full run's graph, with the nodes it rebuilt brought up to date."""
    out = settings.output_dir
    records = RecordStore(settings.state_dir)
    for outcome in result.outcomes:  # what each published wheel is, kept by its sha256 for the stack SBOM of later runs
        if outcome.facts_json and outcome.sha256:
            records.put("facts", outcome.sha256, {"facts": outcome.facts_json})
    if full and graph is not None:
        atomic_write_text(out / "graph.json", json.dumps({**graph.to_dict(), "run": settings.run_id}, indent=1) + "\n")
        atomic_write_text(out / "build-order.json", json.dumps(graph.build_order(), indent=1) + "\n")
    elif not failed and (out / "graph.json").is_file():
        _update_graph(out / "graph.json", result, settings.run_id)
    if not failed:
        write_stack_sbom(graph or result.graph, settings, python, records)
    report: dict[str, Any] = {
        "run": settings.run_id,
        "status": "failed" if failed or result.failures else "ok",
        "variant": settings.variant.label,
        "archs": list(settings.variant.archs),  # --archs narrows them for a run
        "python": ",".join(p.full_version for p in python),
        "build_jobs": settings.build_jobs,
        "network": network.description,
        "offline": settings.offline,
        "seconds": round(result.seconds, 3),
        "nodes": {o.node: {"status": o.status, "wheel": o.wheel, "sha256": o.sha256, "seconds": o.seconds, "started_at": o.started_at,
                           **({"why": o.why} if o.why else {}),
                           "finished_at": o.finished_at,
                           "gpu_payload": list(json.loads(o.facts_json).get("gpu_payload", ())) if o.facts_json else []}
                  for o in sorted(result.outcomes, key=lambda o: o.node)},
        "failures": [{"node": f.node, "message": f.message, "log": f.log, "log_tail": tail(f.log)} for f in result.failures],
        "skipped": dict(sorted(result.skipped.items())),
    }
    atomic_write_text(out / "report.json", json.dumps(report, indent=1) + "\n")
    from wheelwright.outputs.htmlreport import write_html_report

    write_html_report(out)  # report.html and timeline.trace.json, from the JSON just written


def _update_graph(path: Path, result: Execution, run: str) -> None:
    """--only: the rebuilt nodes' records (wheel, sha256, key, patches) replace the full run's in graph.json."""
    data = json.loads(path.read_text())
    rebuilt = {o.node: o for o in result.outcomes if o.status == "built"}
    nodes = []
    for node in data["nodes"]:
        outcome, spec = rebuilt.get(node["id"]), result.graph.nodes.get(node["id"])
        if outcome is not None and spec is not None:
            node = {**asdict(spec), "wheel": outcome.wheel, "wheel_sha256": outcome.sha256}
        nodes.append(node)
    if rebuilt:
        atomic_write_text(path, json.dumps({**data, "nodes": nodes, "updated_by": run}, indent=1) + "\n")


def write_stack_sbom(graph: BuildGraph, settings: StageSettings, pythons: Sequence[Interpreter], records: RecordStore) -> None:
    """One stack SBOM per target interpreter, over every wheel of the index that installs on it (per release the
    highest build tag, the file pip picks). Regenerated only when a wheel or an edge changed: a warm run never
    imports the SBOM library."""
    from wheelwright.plan.tags import target_tags
    from wheelwright.stages.localindex import LocalIndex

    manifest = LocalIndex(settings.simple_dir).manifest()
    for interpreter in pythons:
        suffix = f"@{interpreter.version}" if len(pythons) > 1 else ""
        tags = target_tags(interpreter)
        chosen: dict[tuple[str, str], tuple[Any, str]] = {}
        for filename, entry in sorted(manifest.items()):
            name, version, build, wheel_tags = parse_wheel_filename(filename)
            if wheel_tags & tags and ((name, str(version)) not in chosen or build > chosen[(name, str(version))][0]):
                chosen[(name, str(version))] = (build, entry["sha256"])
        facts = sorted({record["facts"] for _, sha in chosen.values() if (record := records.get("facts", sha)) is not None})
        edges = {(e.parent.removesuffix(suffix), e.child.removesuffix(suffix)) for e in graph.edges
                 if e.kind == "toplevel" and e.child.endswith(suffix)}
        present = {ROOT}
        for text in facts:
            data = json.loads(text)
            present.add(f"{canonicalize_name(data['name'])}=={data['version']}")
            edges |= {(f"{data['name']}=={data['version']}", f"{dep['name']}=={dep['version']}") for dep in data.get("runtime_dependencies", ())}
        edges = {(a, b) for a, b in edges if _node_key(a) in present and _node_key(b) in present}  # only between wheels it holds
        stack_name = f"stack-py{interpreter.version}.cdx.json" if suffix else "stack.cdx.json"
        key = hashlib.sha256(json.dumps([facts, sorted(edges), settings.source_date_epoch]).encode()).hexdigest()
        stack, stamp = settings.sbom_dir / stack_name, settings.state_dir / f"{stack_name}.key"
        if stack.is_file() and stamp.is_file() and stamp.read_text() == key:
            continue
        from wheelwright.stages.provenance import facts_from_json
        from wheelwright.stages.sbom import stack_sbom

        wheels = [facts_from_json(f) for f in facts]
        atomic_write_bytes(stack, stack_sbom(settings.variant.label, wheels, sorted(edges), settings.source_date_epoch, settings.run_id))
        atomic_write_text(stamp, key)


def _node_key(node: str) -> str:
    name, sep, version = node.partition("==")
    return node if node == ROOT else f"{canonicalize_name(name)}{sep}{version}"


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
