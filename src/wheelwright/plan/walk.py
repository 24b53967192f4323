"""One interpreter's walk of the tree: the runtime plan, then every build tool's closure, grown to a
fixpoint with what is on record (sources' [build-system], backends' answers, built wheels). It belongs
to the planner, and only the planner calls it."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING

from packaging.requirements import Requirement
from packaging.utils import NormalizedName, canonicalize_name
from packaging.version import Version

from wheelwright.config.interpreters import Interpreter
from wheelwright.errors import ResolutionError, SourceError
from wheelwright.plan.buildenvs import unify_build_environments
from wheelwright.plan.buildsystem import BuildSystem, read_archive_build_system
from wheelwright.plan.graph import ROOT, BuildGraph, Edge, EdgeKind, NodeSpec, SourceRef
from wheelwright.plan.keys import discover_key, source_key, wheel_key
from wheelwright.plan.requirements import applicable, renamed, unmarked
from wheelwright.plan.sourcerefs import to_distribution

if TYPE_CHECKING:
    from wheelwright.plan.planner import Planner


class Walk:
    """One interpreter's graph: the runtime tree, then every build tool's closure, grown to a fixpoint."""

    def __init__(self, planner: Planner, interpreter: Interpreter, multi: bool) -> None:
        self.p = planner
        self.s = planner.s
        self.interpreter = interpreter
        self.multi = multi
        self.nodes: dict[str, NodeSpec] = {}
        self.edges: set[Edge] = set()
        self.notes: list[str] = []
        self.runtime = planner.runtime(interpreter)
        self._expanded: set[str] = set()
        self._build_systems: dict[str, BuildSystem | None] = {}

    def node_id(self, name: str, version: object) -> str:
        return f"{name}=={version}" + (f"@{self.interpreter.version}" if self.multi else "")

    def run(self) -> None:
        for name in sorted(self.runtime.packages):
            package = self.runtime.packages[name]
            self._add(name, package.version, package.extras, package.requires if package.origin else None, package.origin, runtime=True)
        for parent, child, requirement in self.runtime.edges:
            child_id = self.node_id(child, self.runtime.packages[NormalizedName(child)].version)
            if parent == ROOT:
                self.edges.add(Edge(ROOT, child_id, "toplevel", requirement))
                self.nodes[child_id] = replace(self.nodes[child_id], toplevel=True)
            else:
                self.edges.add(Edge(self.node_id(parent, self.runtime.packages[NormalizedName(parent)].version), child_id, "install", requirement))
        while True:
            pending = sorted(n for n in self.nodes if n not in self._expanded)
            for node in pending:
                self._expanded.add(node)
                self._expand(node)
            if self.p._dirty:
                return  # the runtime tree changed under this walk: the planner starts again
            grew = unify_build_environments(self.nodes, self.edges)
            grew = self._keys() or grew  # first: the backend answers on record are keyed by the wheels the keys find
            grew = self._discover_recorded() or grew
            if not grew and not [n for n in self.nodes if n not in self._expanded]:
                break
        self._drop_unreachable()

    def _drop_unreachable(self) -> None:
        """A node no edge leads to any more (a build requirement moved to the version its build environment shares)."""
        reachable, stack = set(), [ROOT]
        children: dict[str, list[str]] = {}
        for edge in self.edges:
            children.setdefault(edge.parent, []).append(edge.child)
        while stack:
            for child in children.get(stack.pop(), ()):
                if child not in reachable:
                    reachable.add(child)
                    stack.append(child)
        self.nodes = {n: spec for n, spec in self.nodes.items() if n in reachable}
        self.edges = {e for e in self.edges if e.child in reachable and (e.parent == ROOT or e.parent in reachable)}

    # ----- nodes ---------------------------------------------------------------------------------

    def _add(self, name: str, version: Version, extras: Iterable[str], requires: Sequence[str] | None, origin: str | None,
             runtime: bool = False) -> str:
        node = self.node_id(name, version)
        if node in self.nodes:
            return node
        decisions = self.p.book.decisions(name, version, self.s.variant, self.interpreter.version)
        source = self._source(name, version)
        patches = self.p.patches(name, version) if source.kind != "prebuilt" else ()
        self.nodes[node] = NodeSpec(
            id=node, name=name, version=str(version), python=self.interpreter.version, source=source,
            patches=tuple((p.path.name, p.sha256) for p in patches), recipe=decisions, extras=tuple(sorted(extras)),
            requires=tuple(requires) if requires is not None else None, metadata_origin=origin,
            former_names=tuple(self.p.renames.former_names(name)), runtime=runtime,
        )
        recorded = self._recorded(self.nodes[node]) if source.kind != "prebuilt" else None
        if recorded is not None:  # its identity is known and so is its [build-system]: nothing to fetch
            self.nodes[node] = replace(self.nodes[node], source_key=recorded[0])
            self._build_systems[node] = recorded[1]
        elif source.url and source.kind != "prebuilt":
            self.p.fetch(node, to_distribution(name, str(version), source))  # downloads start now, side by side; the walk reads them later
        return node

    def _source(self, name: str, version: Version) -> SourceRef:
        try:
            return self.p.source_for(Requirement(f"{name}=={version}"), self.interpreter)[1]
        except (ResolutionError, SourceError) as exc:
            if not self.s.permissive:
                raise
            self.notes.append(f"{name} {version}: {exc}")
            return SourceRef(kind="sdist", url="", filename="")

    def _requirement(self, parent: str, req: Requirement, kind: EdgeKind) -> None:
        """A build tool or a build tool's own dependency: the runtime plan's version when it fits, else a
        version already in the graph, else the newest the constraints allow."""
        name = self.p.renames.current(req.name)
        if name != canonicalize_name(req.name):  # aiter -> amd-aiter: the old name never reaches the index
            req = renamed(req, name)
        try:
            recorded = self.p.previous_choices(parent, kind).get(name) or (self.p.published_choices(self.nodes[parent], kind).get(name)
                                                                            if parent in self.nodes else None)
            version = pick(self.p, self.interpreter, req, [Version(n.version) for n in self.nodes.values() if n.name == name], recorded)
        except ResolutionError as exc:
            if not self.s.permissive:
                raise ResolutionError(f"{exc} ({kind} requirement of {parent}: {str(req)!r})") from None
            self.notes.append(f"{parent}: {exc}")
            return
        node = self.node_id(name, version)
        if node not in self.nodes:
            self._add(name, version, req.extras, *self._tool_requires(name, version, req.extras))
        elif set(req.extras) - set(self.nodes[node].extras):  # new extras: more install requirements
            spec_node = self.nodes[node]
            merged = sorted(set(spec_node.extras) | set(req.extras))
            if not self._in_runtime(spec_node):
                self.nodes[node] = replace(spec_node, extras=tuple(merged), requires=self._tool_requires(name, version, merged)[0])
                self._expanded.discard(node)
        self.edges.add(Edge(parent, node, kind, str(req)))

    def _tool_requires(self, name: str, version: Version, extras: Iterable[str]) -> tuple[tuple[str, ...] | None, str | None]:
        """A build tool's runtime requirements as its built wheel states them (recorded), else unknown until it is
        built. Not read from the index: a cold plan would wait on a metadata request per build tool, and the
        wheel we build has the last word anyway. A vendor wheel is the exception: it is never built, and its own
        METADATA (read like the runtime plan reads it) is what will be installed."""
        metadata = self.p.overrides.get((name, version))
        if metadata is None and self.s.variant.takes_prebuilt(name):
            metadata = self.p.source.metadata(name, version)
        if metadata is None:
            return None, None
        return tuple(sorted({str(unmarked(r)) for r in applicable(metadata.requires_dist, self.interpreter.markers, sorted(extras),
                                                                   source=metadata.origin)})), metadata.origin

    def _in_runtime(self, spec: NodeSpec) -> bool:
        planned = self.runtime.packages.get(NormalizedName(spec.name))
        return planned is not None and str(planned.version) == spec.version

    # ----- build requirements --------------------------------------------------------------------

    def _expand(self, node: str) -> None:
        spec = self.nodes[node]
        if spec.requires is not None and not self._in_runtime(spec):
            for line in spec.requires:  # a build tool's runtime closure
                self._requirement(node, Requirement(line), "install")
        if not spec.buildable:
            return
        for req in applicable(spec.recipe.added_build_requires, self.interpreter.markers, source=f"{spec.recipe.recipe} build_requires"):
            self._requirement(node, req, "build-system")  # known without the source: the recipe says so
        build_system = self._build_system(self.nodes[node])
        if build_system is None:
            return
        spec = self.nodes[node]  # reading the source may have pinned its commit and key
        self.nodes[node] = spec = replace(spec, build_system=build_system.requires, backend=build_system.backend,
                                          backend_path=build_system.backend_path)
        for req in applicable(build_system.requires, self.interpreter.markers, source=f"{node} [build-system] requires"):
            self._requirement(node, req, "build-system")
        if spec.backend_requires is not None:
            for req in applicable(spec.backend_requires, self.interpreter.markers, source=f"{node} get_requires_for_build_wheel"):
                self._requirement(node, req, "build-backend")

    def _build_system(self, spec: NodeSpec) -> BuildSystem | None:
        """Recorded by source key when known; else read from the archive, which is fetched (verified) now."""
        if spec.id in self._build_systems:
            return self._build_systems[spec.id]
        result: BuildSystem | None = None
        try:
            distribution = to_distribution(spec.name, spec.version, spec.source)
            archive, identity = self.p.fetch(spec.id, distribution).result()
            if spec.source.kind == "git" and spec.source.git_commit != identity:
                self.nodes[spec.id] = spec = replace(spec, source=replace(spec.source, git_commit=identity))
            key = self._source_key(spec)
            record = self.p.records.get("source", key)
            if record is not None:
                result = BuildSystem.from_json(record)
            else:
                result = read_archive_build_system(archive, self.p.patches(spec.name, Version(spec.version)), spec.id, self.s.unpack_limits)
                self.p.records.put("source", key, result.to_json())
            self.nodes[spec.id] = replace(spec, source_key=key)
        except SourceError as exc:
            if not self.s.permissive:
                raise
            self.notes.append(f"{spec.id}: source not read: {exc}")
        self._build_systems[spec.id] = result
        return result

    def _recorded(self, spec: NodeSpec) -> tuple[str, BuildSystem] | None:
        if spec.source.kind == "git" and not spec.source.git_commit:
            return None  # an unpinned tag is known only once fetched
        key = self._source_key(spec)
        record = self.p.records.get("source", key)
        return (key, BuildSystem.from_json(record)) if record is not None else None

    def _source_key(self, spec: NodeSpec) -> str:
        ref = spec.source
        identity = ref.sha256 or ref.git_commit or f"git:{ref.url}@{ref.git_ref}:unpinned"  # what names the source's content
        return source_key(identity=identity, patches=spec.patches, recipe_sha256=spec.recipe.key_sha256, variant=self.s.variant,
                          interpreter=self.interpreter, source_date_epoch=self.s.source_date_epoch)

    # ----- recorded facts: backend answers and wheels --------------------------------------------

    def _graph(self) -> BuildGraph:
        return BuildGraph(variant="", pythons=(), requested=(), nodes=self.nodes, edges=tuple(self.edges))

    def _wheel_sha(self, node: str) -> str | None:
        """A wheel this run published (or took from an index) counts first: a slice's records live elsewhere."""
        spec = self.nodes[node]
        if spec.source.kind == "prebuilt":
            return spec.source.sha256
        return self.p.published.get(node) or spec.wheel_sha256

    def _closure_shas(self, graph: BuildGraph, node: str, kinds: tuple[EdgeKind, ...]) -> list[str] | None:
        shas = [self._wheel_sha(n) for n in graph.build_closure(node, kinds)]
        return None if any(s is None for s in shas) else [s for s in shas if s is not None]

    def _discover_recorded(self) -> bool:
        """Fill backend answers that are on record (their key needs the backend's wheels); True if the graph grew."""
        grew = False
        graph = self._graph()
        for node in graph.build_order():
            spec = self.nodes[node]
            if spec.backend_requires is not None or spec.source_key is None:
                continue
            shas = self._closure_shas(graph, node, ("build-system",))
            if shas is None:
                continue
            record = self.p.records.get("discover", discover_key(spec.source_key, shas))
            if record is not None:
                self.nodes[node] = replace(spec, backend_requires=tuple(record["requires"]))
                self._expanded.discard(node)
                grew = True
        return grew

    def _keys(self) -> bool:
        """Cache keys in build order, each from its inputs' recorded wheels (a node whose inputs are unknown has
        none). A recorded wheel also tells what the plan could not: its Requires-Dist. True if the graph grew."""
        grew = False
        graph = self._graph()
        for node in graph.build_order():
            spec = self.nodes[node]
            if not spec.buildable or spec.source_key is None or spec.backend_requires is None:
                continue
            first = self._closure_shas(graph, node, ("build-system",))
            every = self._closure_shas(graph, node, ("build-system", "build-backend"))
            if first is None or every is None:
                continue
            key = wheel_key(discover_key(spec.source_key, first), every)
            record = self.p.records.get("wheel", key)
            self.nodes[node] = spec = replace(spec, cache_key=key, wheel=Path(record["path"]).name if record else None,
                                              wheel_sha256=record["sha256"] if record else None)
            learnt = self.p.records.get("metadata", key) if record is None and spec.requires is None else None
            if learnt is not None:  # its backend's prepare_metadata_for_build_wheel answered in an earlier run
                for text in self.p._reconcile(spec, learnt["requires_dist"], "prepare_metadata_for_build_wheel"):
                    self.p.note(f"re-planned: {text}")
                grew = True
            if record is not None and spec.requires is None and "backend_requires_dist" in record:
                self.p._reconcile(spec, record["backend_requires_dist"], f"built {spec.wheel}")
                if not self._in_runtime(spec):
                    self.nodes[node] = replace(spec, requires=self._tool_requires(spec.name, Version(spec.version), spec.extras)[0])
                    self._expanded.discard(node)
                grew = True
        return grew


def pick(planner: Planner, interpreter: Interpreter, req: Requirement, existing: Iterable[Version], recorded: Version | None = None) -> Version:
    """A build tool's (or a built wheel's) requirement gets the version the index's published wheel of its parent was
    built with (``recorded``) when it fits, so that a published wheel keeps its build environment whichever top-level
    set asks for it, or the version the edge had before a re-plan mid-build (``Planner.previous_choices``); else
    the runtime plan's version when it fits, else the newest version already in the graph that
    fits, else the newest the constraints allow."""
    spec = req.specifier & planner.constraints(interpreter).specifier_for(req.name)
    if recorded is not None and spec.contains(recorded, prereleases=True):
        return recorded
    planned = planner.runtime(interpreter).packages.get(NormalizedName(canonicalize_name(req.name)))
    if planned is not None and spec.contains(planned.version, prereleases=True):
        return planned.version
    fitting = [v for v in existing if spec.contains(v, prereleases=True)]
    return max(fitting) if fitting else planner.source_for(req, interpreter)[0]
