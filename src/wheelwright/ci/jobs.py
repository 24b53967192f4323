"""The build graph cut into CI jobs: one job per node (or per group of nodes of one level, when the graph is too
big for GitHub's limits), each needing the jobs that publish its build closure, sharded into reusable
workflows along levels of the graph. Pure: a graph in, a frozen job plan out; the workflow writer renders it."""

from __future__ import annotations

import re
from collections.abc import Mapping, Set
from dataclasses import dataclass, replace

from wheelwright.plan.graph import BuildGraph

#: GitHub's limits this plan stays inside: jobs per workflow file (kept under a matrix's 256 so a file stays
#: well under 500 KB too) and reusable workflows one run may call (50, the caller included).
MAX_JOBS_PER_FILE = 250
MAX_SHARDS = 49
#: When nothing was recorded: a minute for a plain package, half an hour for one with accelerator settings.
ESTIMATE_SECONDS = 60.0
ESTIMATE_ACCELERATOR_SECONDS = 1800.0


@dataclass(frozen=True)
class CiJob:
    id: str  # GitHub job id
    nodes: tuple[str, ...]  # graph nodes this job builds (a slice: --nodes)
    needs: tuple[str, ...]  # job ids, transitively reduced: GitHub orders what they need in turn
    downloads: tuple[str, ...]  # artifact names of every node of its build closure, built by other jobs
    artifact: str  # the artifact it uploads, named by its node's cache key
    cache_key: str | None  # actions/cache key of its outputs, when every node's cache key is known
    level: int
    seconds: float
    estimated: bool  # no recorded duration: an estimate


@dataclass(frozen=True)
class CiPlan:
    variant: str
    jobs: tuple[CiJob, ...]
    shards: tuple[tuple[str, ...], ...]  # job ids per reusable workflow; one shard: a single file
    pruned: tuple[str, ...]  # nodes the published index already holds: no job, taken from that index
    depth: int
    critical_path: tuple[str, ...]  # job ids, the longest chain by duration
    critical_seconds: float

    def by_id(self) -> dict[str, CiJob]:
        return {job.id: job for job in self.jobs}


def slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9-]+", "-", text).strip("-").lower()


def plan_jobs(graph: BuildGraph, *, durations: Mapping[str, float] | None = None, pruned: Set[str] = frozenset(),
              max_jobs_per_file: int = MAX_JOBS_PER_FILE, max_shards: int = MAX_SHARDS) -> CiPlan:
    """Jobs for every node not ``pruned``; a node's job needs the jobs of its build closure."""
    durations = durations or {}
    nodes = [n for n in graph.build_order() if n not in pruned]
    closure = {n: sorted(graph.build_closure(n) - set(pruned)) for n in nodes}
    level: dict[str, int] = {}
    for node in nodes:  # build order: everything a node needs comes first
        level[node] = 1 + max((level[d] for d in closure[node]), default=-1)
    groups = _groups(nodes, level, max_jobs_per_file * max_shards)
    job_of = {node: gid for gid, members in groups.items() for node in members}
    jobs: dict[str, CiJob] = {}
    for gid, members in sorted(groups.items(), key=lambda item: (level[item[1][0]], item[0])):
        deps = sorted({job_of[d] for m in members for d in closure[m] if job_of[d] != gid})
        timings = [(durations.get(m), _estimate(graph, m)) for m in members]
        keys = [graph.nodes[m].cache_key for m in members]
        spec = graph.nodes[members[0]]
        name = keys[0] if len(members) == 1 and keys[0] else (spec.source_key or spec.source.sha256 or gid)
        jobs[gid] = CiJob(id=gid, nodes=tuple(members), needs=tuple(deps), downloads=(),
                          artifact=f"wheelwright-{slug(members[0]) if len(members) == 1 else gid}-{(name or '')[:16]}",
                          cache_key=f"wheelwright-{graph.variant}-{'-'.join(k[:24] for k in keys if k)}" if all(keys) else None,
                          level=level[members[0]], seconds=sum(r if r is not None else e for r, e in timings),
                          estimated=any(r is None for r, _ in timings))
    ancestors = _ancestors(jobs)
    final: dict[str, CiJob] = {}
    for gid, job in jobs.items():
        reduced = tuple(d for d in job.needs if not any(d in ancestors[o] for o in job.needs if o != d))
        downloads = tuple(sorted({jobs[job_of[d]].artifact for m in job.nodes for d in closure[m] if job_of[d] != gid}))
        final[gid] = replace(job, needs=reduced, downloads=downloads)
    path, seconds = _critical_path(final)
    ordered = tuple(final.values())
    return CiPlan(variant=graph.variant, jobs=ordered, shards=_shards(ordered, max_jobs_per_file), pruned=tuple(sorted(pruned)),
                  depth=1 + max((j.level for j in ordered), default=-1), critical_path=path, critical_seconds=seconds)


def _estimate(graph: BuildGraph, node: str) -> float:
    return ESTIMATE_ACCELERATOR_SECONDS if graph.nodes[node].recipe.variant_specific else ESTIMATE_SECONDS


def _groups(nodes: list[str], level: Mapping[str, int], limit: int) -> dict[str, list[str]]:
    """One job per node while the jobs fit; else the nodes of each level in as few equal chunks as make them fit."""
    if len(nodes) <= limit:
        return {f"build-{slug(n)}": [n] for n in nodes}
    by_level: dict[int, list[str]] = {}
    for node in nodes:
        by_level.setdefault(level[node], []).append(node)
    per_level = max(1, limit // max(1, len(by_level)))
    groups: dict[str, list[str]] = {}
    for lvl, members in sorted(by_level.items()):
        chunks = min(per_level, len(members))
        for index in range(chunks):
            part = members[index::chunks]
            groups[f"build-level{lvl}-{index + 1}"] = part
    return groups


def _ancestors(jobs: Mapping[str, CiJob]) -> dict[str, set[str]]:
    result: dict[str, set[str]] = {}
    for gid in sorted(jobs, key=lambda g: jobs[g].level):
        result[gid] = set(jobs[gid].needs).union(*(result[d] for d in jobs[gid].needs)) if jobs[gid].needs else set()
    return result


def _critical_path(jobs: Mapping[str, CiJob]) -> tuple[tuple[str, ...], float]:
    best: dict[str, tuple[float, tuple[str, ...]]] = {}
    for gid in sorted(jobs, key=lambda g: (jobs[g].level, g)):
        before = max((best[d] for d in jobs[gid].needs), default=(0.0, ()))
        best[gid] = (before[0] + jobs[gid].seconds, before[1] + (gid,))
    seconds, path = max(best.values(), default=(0.0, ()))
    return path, seconds


def _shards(jobs: tuple[CiJob, ...], per_file: int) -> tuple[tuple[str, ...], ...]:
    """Consecutive pieces of the level-ordered jobs: a job needs only jobs of lower levels, so every job's needs
    are in its own shard or an earlier one, and shard k may simply need shard k-1."""
    ids = [j.id for j in sorted(jobs, key=lambda j: (j.level, j.id))]
    return tuple(tuple(ids[i:i + per_file]) for i in range(0, len(ids), per_file)) or ((),)
