"""``wheelwright ci generate``: plan, cut the graph into jobs, write (or check) the workflow files and the plan
file the jobs slice. ``--dry-run`` prints the figures of the cut without writing."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from wheelwright.ci.images import cibuildwheel_image
from wheelwright.ci.jobs import CiPlan, plan_jobs
from wheelwright.ci.workflow import Target, render
from wheelwright.config.variants import Variant
from wheelwright.errors import WheelwrightError
from wheelwright.fsutil import atomic_write_text
from wheelwright.plan.graph import BuildGraph


@dataclass(frozen=True)
class Generated:
    plan: CiPlan
    files: Mapping[str, str]  # path relative to the repository -> text


def generate(graph: BuildGraph, variant: Variant, *, command: str, durations: Mapping[str, float], pruned: frozenset[str] = frozenset(),
             prune_index: str = "", index_url: str = "", max_jobs_per_file: int | None = None) -> Generated:
    """The workflow files and the plan file for ``graph``, as text."""
    plan = plan_jobs(graph, durations=durations, pruned=pruned, **({"max_jobs_per_file": max_jobs_per_file} if max_jobs_per_file else {}))
    if variant.builder_image:
        image, note, manylinux = variant.builder_image, f"{variant.builder_image} (variants.toml builder_image)", False
    else:
        pinned = cibuildwheel_image()
        image, note, manylinux = pinned.reference, f"{pinned.policy} (glibc {pinned.glibc}) from {pinned.source}", True
    plan_path = f".github/wheelwright/{variant.label}.plan.json"
    target = Target(variant=variant.name, version=variant.version, label=variant.label, pythons=graph.pythons, image=image, image_note=note,
                    manylinux=manylinux, runner=variant.runner, plan_path=plan_path, prune_index=prune_index, index_url=index_url, command=command)
    files = {f".github/workflows/{name}": text for name, text in render(plan, target).items()}
    files[plan_path] = graph.to_json() + "\n"
    return Generated(plan, files)


def write(generated: Generated, root: Path, *, check: bool) -> list[str]:
    """Write the files, or with ``check`` list those whose checked-in text differs (a stale workflow)."""
    stale = []
    for relative, text in sorted(generated.files.items()):
        path = root / relative
        current = path.read_text() if path.is_file() else None
        if current != text:
            stale.append(relative)
            if not check:
                atomic_write_text(path, text)
    if not check:  # a shard file from a bigger earlier graph is not left behind
        label = next(iter(generated.files)).split("wheelwright-", 1)[-1].split(".yml", 1)[0].split("-shard-", 1)[0]
        for old in sorted((root / ".github" / "workflows").glob(f"wheelwright-{label}-shard-*.yml")):
            if f".github/workflows/{old.name}" not in generated.files:
                old.unlink()
    return stale


def recorded_durations(output_dir: Path) -> dict[str, float]:
    """Seconds per node from the last run's report.json (built nodes only: a cached node's time says nothing)."""
    path = output_dir / "report.json"
    if not path.is_file():
        return {}
    try:
        nodes = json.loads(path.read_text()).get("nodes", {})
    except ValueError:
        return {}
    return {node: float(data["seconds"]) for node, data in nodes.items() if data.get("status") == "built"}


def describe(plan: CiPlan, graph: BuildGraph) -> str:
    """The figures of a cut, as a person reads them (--dry-run)."""
    hours = plan.critical_seconds / 3600
    estimated = sum(1 for j in plan.jobs if j.estimated)
    lines = [
        f"{graph.variant}: {len(graph.nodes)} nodes -> {len(plan.jobs)} jobs" + (f" ({len(plan.pruned)} pruned: already published)" if plan.pruned else ""),
        f"  graph depth: {plan.depth} levels of jobs",
        f"  critical path: {len(plan.critical_path)} jobs, {hours:.1f} h ({estimated} of {len(plan.jobs)} job durations estimated, "
        f"the rest recorded): {' -> '.join(plan.critical_path[:12])}{' ...' if len(plan.critical_path) > 12 else ''}",
        f"  shards: {len(plan.shards)} workflow file{'s' if len(plan.shards) > 1 else ''}"
        + (f" (reusable workflows of {', '.join(str(len(s)) for s in plan.shards)} jobs)" if len(plan.shards) > 1 else ""),
    ]
    return "\n".join(lines)


def refuse_unbuildable(graph: BuildGraph) -> None:
    """A workflow from a plan that could not read every source would fail in CI hours later: say so now."""
    if graph.notes:
        raise WheelwrightError(f"the plan is incomplete ({graph.notes[0]}); fix it, or use --dry-run for the figures alone")
