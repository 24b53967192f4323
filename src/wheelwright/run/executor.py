"""Run a build graph, or a slice of it: tasks from nodes, stages in workers, the planner for the frontier.

The scheduler sees ids and needs; the stages see one node's spec and its input wheels; this module
turns one into the other. A node's task needs the build closure of the node (everything its build
environment holds, published first); a frontier node first runs a discover task whose answer goes
back to the planner, and the graph the planner returns replaces the pending tasks' needs.
"""

from __future__ import annotations

import contextlib
import functools
import threading
import time
import traceback
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace

from packaging.utils import canonicalize_name

from wheelwright.errors import EXIT_BUILD_FAILED, BuildError, CycleError, WheelwrightError
from wheelwright.plan.graph import BuildGraph, EdgeKind, NodeSpec, find_cycle
from wheelwright.plan.planner import BuiltFacts, Discovery, Planner
from wheelwright.plan.requirements import applicable, same_requirements, unmarked
from wheelwright.run.events import NodeFailed, NodeFinished, NodeSkipped, NodeStarted, Note, Reporter
from wheelwright.run.scheduler import Task, run_tasks
from wheelwright.run.takes import WheelSource, prebuilt, take
from wheelwright.run.worker import Built, Discovered, InputWheel, Learnt, Prepared, Runtime, Stages

DISCOVER = "discover:"
PREPARE = "prepare:"
METADATA = "metadata:"


@dataclass(frozen=True)
class Outcome:
    node: str
    status: str
    wheel: str
    sha256: str
    seconds: float
    started_at: float
    finished_at: float
    facts_json: str = ""
    why: str = ""  # why it was rebuilt (a cache miss's changed input)


@dataclass(frozen=True)
class Execution:
    graph: BuildGraph
    outcomes: tuple[Outcome, ...]
    failures: tuple[NodeFailed, ...]  # each failure as it was reported
    skipped: Mapping[str, str]
    seconds: float

    def by_status(self, status: str) -> list[str]:
        return sorted(o.node for o in self.outcomes if o.status == status)


@dataclass(frozen=True)
class _View:
    """What a worker may read: a snapshot replaced (never changed) by the scheduler thread."""

    graph: BuildGraph
    published: Mapping[str, InputWheel] = field(default_factory=dict)
    discovered: frozenset[str] = frozenset()  # nodes whose backend answered get_requires_for_build_wheel
    facts: Mapping[str, str] = field(default_factory=dict)  # node -> its wheel's provenance facts (JSON)
    obsolete: frozenset[str] = frozenset()  # tasks a re-plan dropped before they started: they run as no-ops
    prepared: Mapping[str, Prepared] = field(default_factory=dict)  # trees an earlier step of this run unpacked
    learnt: frozenset[str] = frozenset()  # nodes whose backend answered prepare_metadata_for_build_wheel


class Executor:
    def __init__(self, stages: Stages, reporter: Reporter, *, planner: Planner, jobs: int, keep_going: bool = False,
                 only: frozenset[str] | None = None, wheels: WheelSource | None = None, forced: frozenset[str] = frozenset()) -> None:
        self.stages = stages
        self.reporter = reporter
        self.planner = planner
        self.jobs = jobs
        self.keep_going = keep_going
        self.only = only  # a slice: build these nodes, take every other one from ``wheels``
        self.wheels = wheels
        self.forced = forced  # rebuilt even when the cache holds their wheel (--only: the recipe being iterated on)
        self._planned: frozenset[str] = frozenset()  # the nodes of the graph the run began with
        self._owed: frozenset[str] = frozenset()
        self._t0 = time.monotonic()

    def run(self, graph: BuildGraph) -> Execution:
        self._t0 = time.monotonic()
        self._view = _View(graph)
        self._planned = frozenset(graph.nodes)  # a node a backend revealed later is built by the slice that needs it
        # what the plan already said a slice needs: another job (or the full build) owes it, so it must come from the
        # index; a need only a backend revealed during this run is taken from the index when there, else built here
        self._owed = frozenset().union(*(graph.build_closure(n) for n in self.only)) - self.only if self.only is not None else self._planned
        self._outcomes: dict[str, Outcome] = {}
        self._fatal: WheelwrightError | None = None
        self._tasks = self._tasks_for(graph)
        cancel = threading.Event()
        self._submitted: set[str] = set()  # kept by the scheduler: tasks that started can no longer be replaced
        result = run_tasks(self._tasks.values(), self._work, slots=self.jobs, keep_going=self.keep_going, io_slots=2,
                           on_done=lambda task, value: self._on_done(task, value, cancel), cancel=cancel, started=self._submitted)
        if self._fatal is not None:
            raise self._fatal
        failures: list[NodeFailed] = []
        for failure in result.failed:
            error = failure.error
            log = error.log_path if isinstance(error, BuildError) else None
            failures.append(NodeFailed(_node_of(failure.id), str(error), log, getattr(error, "exit_code", EXIT_BUILD_FAILED)))
            self.reporter.report(failures[-1])
        for node, because in sorted(result.skipped.items()):
            self.reporter.report(NodeSkipped(_node_of(node), _node_of(because)))
        if result.stuck and not failures:
            raise self._stuck(result.stuck)
        return Execution(self._view.graph, tuple(self._outcomes.values()), tuple(failures),
                         {_node_of(k): _node_of(v) for k, v in result.skipped.items()}, time.monotonic() - self._t0)

    # ----- tasks from the graph ------------------------------------------------------------------

    def _tasks_for(self, graph: BuildGraph) -> dict[str, Task]:
        tasks: dict[str, Task] = {}
        first_python = graph.pythons[0] if graph.pythons else None
        wanted = set(graph.nodes)
        if self.only is not None:  # a slice: its nodes, what their builds need, and what a backend revealed they need
            revealed = {n for n in graph.install_closure(self.only) if n not in self._planned}
            wanted, pending = set(), set(self.only) | revealed
            while pending:  # what the slice builds, and what may be built here in turn (a need no job owes)
                node = pending.pop()
                wanted.add(node)
                if node in self.only or node not in self._owed:
                    pending |= graph.build_closure(node) - wanted
        for node, spec in sorted(graph.nodes.items()):
            if node not in wanted:
                continue
            if not self._builds(spec) and (node in self._owed or not spec.buildable):
                tasks[node] = Task(node)  # taken from an index or a vendor: it needs nothing here
                continue
            needs = set(graph.build_closure(node))
            siblings = [s.id for s in graph.by_name(spec.name) if s.version == spec.version and s.python == first_python and s.id != node]
            needs |= set(siblings)  # a pure wheel is built once and shared by every interpreter
            ahead: set[str] = set()
            if spec.wheel is None and self._builds(spec):  # not on record: unpack it now, beside the builds
                tasks[PREPARE + node] = Task(PREPARE + node, slots=0)
                ahead = {PREPARE + node}
            if spec.backend_requires is None or spec.build_system is None:
                tasks[DISCOVER + node] = Task(DISCOVER + node, frozenset(graph.build_closure(node, ("build-system",))) | ahead)
                needs.add(DISCOVER + node)
            if spec.runtime and spec.requires is None and self._builds(spec):  # the install tree must be known before it builds
                tasks[METADATA + node] = Task(METADATA + node, frozenset(needs | ahead))
                needs.add(METADATA + node)
            tasks[node] = Task(node, frozenset(needs | ahead))
        return tasks

    def _builds(self, spec: NodeSpec) -> bool:
        return spec.buildable and (self.only is None or spec.id in self.only)

    def _on_done(self, task: Task, value: object, cancel: threading.Event) -> list[Task]:
        try:
            return self._settle(task, value)
        except WheelwrightError as exc:
            self._fatal = self._fatal or exc
            cancel.set()
            return []

    def _settle(self, task: Task, value: object) -> list[Task]:
        view = self._view
        facts: list[Discovery | BuiltFacts] = []
        if value is None:  # an obsolete task ran as a no-op
            return []
        if isinstance(value, Prepared):
            self._view = replace(view, prepared={**view.prepared, _node_of(task.id): value})
            return []
        if isinstance(value, Learnt):
            node = _node_of(task.id)
            self._view = replace(view, learnt=view.learnt | {node}, prepared={**view.prepared, node: value.prepared})
            if value.requires_dist is not None:
                facts.append(BuiltFacts(node, value.requires_dist, "prepare_metadata_for_build_wheel", value.key))
        elif isinstance(value, Discovered):
            node = _node_of(task.id)
            spec = view.graph.nodes[node]
            assert spec.source_key is not None
            facts.append(Discovery(node, spec.source_key, value.prepared.build_system, value.discover_key, value.backend_requires))
            self._view = replace(view, discovered=view.discovered | {node}, prepared={**view.prepared, node: value.prepared})
        else:
            assert isinstance(value, Built)
            spec = view.graph.nodes[task.id]
            self._view = replace(view, published={**view.published, task.id: InputWheel(value.wheel, value.sha256)},
                                 facts={**view.facts, task.id: value.facts_json})
            finished = time.monotonic() - self._t0
            self._outcomes[task.id] = Outcome(task.id, value.status, value.wheel.name, value.sha256, round(value.seconds, 3),
                                              round(max(0.0, finished - value.seconds), 3), round(finished, 3), value.facts_json, value.why)
            self.reporter.report(NodeFinished(task.id, value.status, value.wheel.name, value.seconds))
            if spec.buildable and value.status in ("built", "cached", "index") and not self._agrees(spec, value.requires_dist):
                facts.append(BuiltFacts(task.id, value.backend_requires_dist))
        if not facts:
            return []
        started_nodes = {_node_of(t) for t in self._submitted if not t.startswith(PREPARE)}  # a re-plan may not move these
        graph = self.planner.expand(self._view.graph, facts, started_nodes, {n: w.sha256 for n, w in self._view.published.items()})
        wanted = self._tasks_for(graph)
        done = self._done_ids()
        dropped = {tid for tid in self._tasks if tid not in wanted and tid not in done and tid not in self._submitted}  # the new plan has no such node
        self._view = replace(self._view, graph=graph, obsolete=self._view.obsolete | dropped)
        # a task that already started keeps the inputs it started with: what changed for it was how much was on record
        # (e.g. its own wheel, finished a moment ago), never what it builds, which the planner has just checked
        changed = [t for tid, t in wanted.items() if self._tasks.get(tid) != t and tid not in done and tid not in self._submitted]
        changed += [Task(tid) for tid in sorted(dropped) if self._tasks[tid].needs]
        self._tasks.update({t.id: t for t in changed})
        for tid in dropped:
            del self._tasks[tid]
        return changed

    def _done_ids(self) -> set[str]:
        return (set(self._outcomes) | {DISCOVER + n for n in self._view.discovered} | {PREPARE + n for n in self._view.prepared}
                | {METADATA + n for n in self._view.learnt} | set(self._view.obsolete))

    def _agrees(self, spec: NodeSpec, requires_dist: Iterable[str]) -> bool:
        """Whether the built wheel declares what the plan expected of it (else the planner re-plans)."""
        if spec.requires is None:
            return False
        python = self.stages.s.interpreters[spec.python]
        actual = {str(unmarked(r)) for r in applicable(requires_dist, python.markers, spec.extras, source=f"{spec.id} Requires-Dist")}
        return same_requirements(actual, spec.requires)

    # ----- work (worker threads: read one snapshot, touch only their node) -----------------------

    def _work(self, task: Task) -> object:
        view = self._view
        if task.id in view.obsolete:
            return None
        node = _node_of(task.id)
        spec = view.graph.nodes[node]
        try:
            if task.id.startswith(PREPARE):
                self.reporter.report(NodeStarted(node, "prepare"))
                return self.stages.prepare_ahead(spec)
            if task.id.startswith(DISCOVER):
                self.reporter.report(NodeStarted(node, "discover"))
                return self.stages.discover(spec, self._inputs(view, node, ("build-system",)), view.prepared.get(node))
            if task.id.startswith(METADATA):
                self.reporter.report(NodeStarted(node, "metadata"))
                return self.stages.ask_metadata(spec, self._inputs(view, node, ("build-system",)), self._inputs(view, node, ("build-system", "build-backend")),
                                                view.prepared.get(node))
            runtime = functools.partial(self._resolve_runtime, view, spec)
            if not spec.buildable and spec.source.kind == "prebuilt":
                return prebuilt(self.stages, spec, runtime)
            if not self._builds(spec):
                if self.wheels is None:
                    raise BuildError(f"{node}: not in the slice, and no --from-index to take it from")
                try:
                    return take(self.stages, spec, self.wheels, against_plan=not self.forced,
                                note=lambda text: self.reporter.report(Note(text)))
                except BuildError:
                    if node in self._owed:
                        raise  # the plan said this slice needs it: another job (or the full build) owes it
                    # a backend revealed this need during this run and nobody published it: this slice builds it
            shared = self._shared(view, spec)
            if shared is not None:
                return shared
            if spec.backend_requires is None or spec.build_system is None:
                raise BuildError(f"{node}: its build requirements never reached the plan; plan again (this is a bug)")
            self.reporter.report(NodeStarted(node, "build"))
            return self.stages.build(spec, self._inputs(view, node, ("build-system",)), self._inputs(view, node, ("build-system", "build-backend")),
                                     runtime, view.prepared.get(node), forced=node in self.forced,
                                     installs=functools.partial(self._runtime_closure, view, spec))
        except WheelwrightError:
            raise
        except Exception as exc:  # a bug or an unexpected OS error still ends as a named failure, its traceback logged
            log_path = None
            with contextlib.suppress(OSError), self.stages.log(spec) as log:
                log.write(traceback.format_exc())
                log_path = log.name
            raise BuildError(f"{node}: unexpected {type(exc).__name__}: {exc}", log_path) from exc

    def _inputs(self, view: _View, node: str, kinds: tuple[EdgeKind, ...]) -> list[InputWheel]:
        closure = view.graph.build_closure(node, kinds)
        missing = sorted(n for n in closure if n not in view.published)
        if missing:
            raise BuildError(f"{node}: started before {', '.join(missing)} was published (scheduler bug)")
        return sorted((view.published[n] for n in closure), key=lambda w: w.path.name)

    def _resolve_runtime(self, view: _View, spec: NodeSpec, requires_dist: Iterable[str]) -> list[Runtime]:
        """A wheel's runtime requirements as the graph resolves them: the graph's node when one fits, else the
        planner's choice (a wheel whose dependencies nobody published learns them only from its build)."""
        python = self.stages.s.interpreters[spec.python]
        result = []
        planned = {view.graph.nodes[e.child].name: view.graph.nodes[e.child].version for e in view.graph.edges
                   if e.parent == spec.id and e.kind == "install" and e.child in view.graph.nodes}  # the graph's decision first
        for req in applicable(requires_dist, python.markers, spec.extras, source=f"{spec.id} Requires-Dist"):
            version = planned.get(self.planner.renames.current(req.name)) or self.planner.choose_version(req, view.graph, spec.python)
            if version is None:
                continue
            node = next((n for n in view.graph.by_name(self.planner.renames.current(req.name)) if n.version == version and n.python == spec.python), None)
            wheel = view.published.get(node.id) if node else None
            result.append(Runtime(node.name if node else req.name, version, wheel.path if wheel else None, wheel.sha256 if wheel else None))
        return sorted(result, key=lambda r: r.name)

    def _runtime_closure(self, view: _View, spec: NodeSpec, direct: Sequence[Runtime]) -> frozenset[str]:
        """Every project installing the wheel brings, by name: what its Requires-Dist resolved to, and their install closure."""
        roots = [n.id for r in direct for n in view.graph.by_name(r.name) if n.version == r.version and n.python == spec.python]
        return frozenset({canonicalize_name(r.name) for r in direct} | {view.graph.nodes[n].name for n in view.graph.install_closure(roots)})

    def _shared(self, view: _View, spec: NodeSpec) -> Built | None:
        """Another interpreter's build of the same source made a pure wheel: this interpreter takes it as is."""
        for sibling in view.graph.by_name(spec.name):
            wheel = view.published.get(sibling.id)
            if sibling.id != spec.id and sibling.version == spec.version and wheel is not None and wheel.path.name.endswith("-none-any.whl"):
                return Built(spec.id, wheel.path, wheel.sha256, "shared", 0.0, (), (), view.facts.get(sibling.id, ""))
        return None

    def _stuck(self, stuck: Mapping[str, frozenset[str]]) -> CycleError:
        graph = self._view.graph
        waiting = {_node_of(k) for k in stuck}
        waits = {n: graph.build_closure(n) & waiting for n in waiting if n in graph.nodes}  # in nodes, not in tasks
        cycle = find_cycle(waits)
        if cycle:
            steps = [cycle[0]]
            for parent, child in zip(cycle, cycle[1:], strict=False):
                kind = next((e.kind for e in graph.edges if e.parent == parent and e.child == child), "needs")
                steps.append(f"-[{kind}]-> {child}")
            return CycleError(f"build-dependency cycle cannot bootstrap: {' '.join(steps)}")
        return CycleError(f"build is stuck: {', '.join(sorted(waits))} wait for requirements that never became ready")


def _node_of(task_id: str) -> str:
    return task_id.removeprefix(DISCOVER).removeprefix(PREPARE).removeprefix(METADATA)
