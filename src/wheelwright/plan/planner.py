"""Requirements, constraints, recipes and recorded facts in; an immutable BuildGraph out.

This is the only place that decides what gets built: which version of every package and build
tool, from which source, with which patches and recipe decisions, along which typed edges. The
executor runs what it returns. What only a backend can say (``get_requires_for_build_wheel``,
metadata nobody publishes) is recorded by content when the executor learns it, and ``expand``
plans again with it: the same function, never a second decision path.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Hashable, Iterable, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, TypeVar

from packaging.requirements import Requirement
from packaging.utils import NormalizedName, canonicalize_name, parse_wheel_filename
from packaging.version import Version

from wheelwright.config.constraints import Constraints, check_hash_pins
from wheelwright.config.interpreters import Interpreter
from wheelwright.config.project import Project
from wheelwright.config.renames import Renames
from wheelwright.config.variants import Variant
from wheelwright.errors import ResolutionError
from wheelwright.plan.buildsystem import BuildSystem
from wheelwright.plan.candidates import choose_sdist
from wheelwright.plan.graph import BuildGraph, Edge, EdgeKind, NodeSpec, SourceRef
from wheelwright.plan.published import PublishedMetadata, RecipeAwareSource
from wheelwright.plan.requirements import applicable, renamed, same_requirements, unmarked, wheel_metadata_field
from wheelwright.plan.resolve import Plan, missing_extra, plan_install_tree
from wheelwright.plan.sourcerefs import declared_source, prebuilt_wheel
from wheelwright.plan.walk import Walk, pick
from wheelwright.recipes.book import RecipeBook
from wheelwright.recipes.patches import Patch, find_patches, patch_problems
from wheelwright.remote.index import PackageIndex, SourceDistribution
from wheelwright.remote.sources import UnpackLimits, fetch_source
from wheelwright.run.cache import RecordStore


T = TypeVar("T")


@dataclass(frozen=True, kw_only=True)
class PlanSettings:
    """Everything a plan depends on besides the index; frozen so no step can change it under another."""

    project: Project
    variant: Variant
    variant_names: frozenset[str]
    constraints: Constraints
    interpreters: tuple[Interpreter, ...]
    cache_dir: Path
    state_dir: Path
    source_date_epoch: int = 315532800
    offline: bool = False
    permissive: bool = False  # `wheelwright plan`: what cannot be known here becomes a note, not an error
    unpack_limits: UnpackLimits = UnpackLimits()
    build_jobs: int = 1  # each build's own parallelism, what recipes see as ctx.jobs


@dataclass(frozen=True)
class Discovery:
    """What a backend told the executor about one node, before its build."""

    node: str
    source_key: str
    build_system: BuildSystem
    discover_key: str
    backend_requires: tuple[str, ...]


@dataclass(frozen=True)
class BuiltFacts:
    """A wheel's own Requires-Dist (as the backend wrote it, built or asked with prepare_metadata_for_build_wheel),
    for the planner to check the plan against. ``key``: the content key to record an answer that is not a wheel under."""

    node: str
    requires_dist: tuple[str, ...]
    origin: str = ""
    key: str | None = None


class Planner:
    def __init__(self, settings: PlanSettings, requirements: Sequence[Requirement], *, index: PackageIndex, source: RecipeAwareSource,
                 renames: Renames, book: RecipeBook, prebuilt_index: PackageIndex | None = None,
                 note: Callable[[str], None] = lambda text: None) -> None:
        self.s = settings
        self.requirements = tuple(requirements)
        self.index = index
        self.source = source
        self.renames = renames
        self.book = book
        self.prebuilt_index = prebuilt_index
        self.records = RecordStore(settings.state_dir)
        self.note = note  # re-plans are announced through the caller's reporter
        self.overrides: dict[tuple[str, Version], PublishedMetadata] = {}
        self._runtime: dict[str, Plan] = {}
        self._dirty = False
        self._memo: dict[str, dict[Hashable, Any]] = {}
        self._fetcher: ThreadPoolExecutor | None = None
        self.published: dict[str, str] = {}  # node -> wheel sha256 the executor published or took in this run
        self._edges_before: dict[str, list[tuple[EdgeKind, str, Version]]] = {}  # the graph a re-plan starts from, by parent
        self._learnt: dict[tuple[str, Version], tuple[str, ...]] = {}  # Requires-Dist as a backend wrote it
        self._announced: set[str] = set()

    def memo(self, kind: str, key: Hashable, compute: Callable[[], T]) -> T:
        """What cannot change within a run (an index answer, a recipe's decisions) is computed once, so that
        planning again after every backend answer costs milliseconds, not another walk of the index."""
        store = self._memo.setdefault(kind, {})
        if key not in store:
            store[key] = compute()
        return store[key]  # type: ignore[no-any-return]

    def fetch(self, node: str, distribution: SourceDistribution) -> Future[tuple[Path, str]]:
        """A node's verified source archive, downloading in the background from the moment the node is planned."""
        fetcher = self._fetcher = self._fetcher or ThreadPoolExecutor(max_workers=8, thread_name_prefix="fetch")
        return self.memo("fetched", node, lambda: fetcher.submit(fetch_source, distribution, self.s.cache_dir, offline=self.s.offline))

    def source_for(self, req: Requirement, interpreter: Interpreter) -> tuple[Version, SourceRef]:
        """Where the newest release ``req`` and the constraints allow comes from: a prebuilt vendor wheel, the
        recipe's git tag or tarball, or the PyPI sdist. Decided here only, and once per run."""
        constraints = self.constraints(interpreter)

        def choose() -> tuple[Version, SourceRef]:
            direct = self.source.direct.get(canonicalize_name(req.name))
            if direct is not None:  # name @ URL or a local path: that archive, for every requirement of the name
                if not req.specifier.contains(direct.version, prereleases=True):
                    raise ResolutionError(f"{req.name} is given as {direct.ref.local_path or direct.ref.url} ({direct.version}), "
                                          f"which does not satisfy {str(req)!r}")
                return direct.version, direct.ref
            if self.s.variant.takes_prebuilt(req.name):
                return prebuilt_wheel(req, constraints, self.prebuilt_index, interpreter, self.s.variant.label)
            self.book.require_buildable(req.name, self.s.variant)
            declared = self.book.get(req.name).recipe.source_for(self.s.variant.name)
            if declared is not None:
                return declared_source(req, declared, constraints)
            sdist = choose_sdist(req, constraints, self.index, interpreter.version)
            check_hash_pins(constraints, sdist.name, sdist.filename, sdist.sha256)
            return sdist.version, SourceRef(kind="sdist", url=sdist.url, filename=sdist.filename, sha256=sdist.sha256,
                                            requires_python=sdist.requires_python)

        return self.memo("source", (str(req), interpreter.version), choose)

    def constraints(self, interpreter: Interpreter) -> Constraints:
        """The variant's constraint lines whose markers hold for this interpreter."""
        return self.memo("constraints", interpreter.version, lambda: self.s.constraints.for_target(interpreter.markers))

    def toplevel(self, interpreter: Interpreter) -> list[Requirement]:
        """The requested requirements whose markers hold for this interpreter, markers evaluated (pip ignores the others)."""
        kept = []
        for req in self.requirements:
            if req.marker is not None and not req.marker.evaluate({**interpreter.markers, "extra": ""}):
                self.announce(f"ignoring {req.name}: markers '{req.marker}' don't match Python {interpreter.version} on "
                              f"{interpreter.markers['sys_platform']}/{interpreter.markers['platform_machine']}")
                continue
            kept.append(unmarked(Requirement(str(req))))
        return kept

    def previous_choices(self, parent: str, kind: EdgeKind) -> Mapping[str, Version]:
        """The versions ``parent``'s edges of ``kind`` had before this re-plan (none in the first plan). A re-plan mid-build
        keeps them where they still fit: learning one fact (torch-scatter runs on torch, so setuptools<82 joins the
        runtime tree) must not move the tools of builds already scheduled or running, nor flip a choice back and forth."""
        return {name: version for edge_kind, name, version in self._edges_before.get(parent, ()) if edge_kind == kind}

    def published_choices(self, parent: NodeSpec, kind: EdgeKind) -> Mapping[str, Version]:
        """What the index's published wheel of ``parent`` was built with (build edges) or resolved at run time (install
        edges of a build tool), by name: the planner keeps those versions where they still fit, so one package gets one
        build environment within an index whichever top-level set asks for it (read once per run, from index.json)."""
        def choices() -> Mapping[str, Version]:
            entry = self._published_entries().get((parent.name, parent.version, parent.python))
            if entry is None:
                return {}
            if kind == "install":
                return {canonicalize_name(n): Version(v) for n, v in entry.get("runtime", {}).items()}
            return {name: version for name, version, _, _ in map(parse_wheel_filename, entry.get("build_environment", ()))}

        return self.memo("published-choices", (parent.name, parent.version, parent.python, kind == "install"), choices)  # once per run, not per walk

    def _published_entries(self) -> Mapping[tuple[str, str, str], Mapping[str, Any]]:
        def load() -> dict[tuple[str, str, str], Mapping[str, Any]]:
            path = self.s.state_dir.parent / "index.json"
            wheels = json.loads(path.read_text()).get("wheels", {}) if path.is_file() else {}
            chosen: dict[tuple[str, str, str], tuple[Any, Mapping[str, Any]]] = {}
            for filename, entry in wheels.items():
                if "node" not in entry or "python" not in entry:
                    continue
                build = parse_wheel_filename(filename)[2]
                key = (entry["project"], entry["version"], entry["python"])
                if key not in chosen or build > chosen[key][0]:
                    chosen[key] = (build, entry)  # the latest build of a release: the highest build tag
            return {k: v for k, (_, v) in chosen.items()}

        return self.memo("published", None, load)

    def check_extras(self, graph: BuildGraph, wheels: Mapping[str, Path]) -> None:
        """Extras asked of a package whose metadata nobody published are checked against the wheel we built (as pip
        warns at install): its Provides-Extra, plus the extras its Requires-Dist markers name."""
        for node, wheel in sorted(wheels.items()):
            spec = graph.nodes.get(node)
            if spec is None or not spec.extras or not wheel.is_file():
                continue
            known = PublishedMetadata(tuple(wheel_metadata_field(wheel, "Requires-Dist")), None, wheel.name,
                                      provides_extra=tuple(wheel_metadata_field(wheel, "Provides-Extra"))).known_extras() or frozenset()
            for extra in spec.extras:
                if canonicalize_name(extra) not in known:
                    self.announce(missing_extra(spec.name, spec.version, extra))

    def announce(self, text: str) -> None:
        """A warning worth a line, said once per run however often the planner plans again."""
        if text not in self._announced:
            self._announced.add(text)
            self.note(f"warning: {text}")

    def patches(self, name: str, version: Version) -> tuple[Patch, ...]:
        """The node's patch files (read and hashed once per run; the build checks they did not change since)."""
        return self.memo("patches", (name, version), lambda: find_patches(self.s.project.patches_dir, name, version, self.s.variant.name,
                                                                          self.s.variant_names))

    # ----- public --------------------------------------------------------------------------------

    def plan(self) -> BuildGraph:
        """Walk every target interpreter; facts recorded mid-walk that change the runtime tree start it again."""
        multi = len(self.s.interpreters) > 1
        for _ in range(64):  # each pass learns from the record what the previous one could not know; bounded, never endless
            self._dirty = False
            nodes: dict[str, NodeSpec] = {}
            edges: set[Edge] = set()
            notes: list[str] = []
            for interpreter in self.s.interpreters:
                walk = Walk(self, interpreter, multi)
                walk.run()
                nodes.update(walk.nodes)
                edges |= walk.edges
                notes += [n for n in walk.notes if n not in notes]
            if not self._dirty:
                break
        planned: dict[str, set[str]] = {}
        for spec in nodes.values():
            planned.setdefault(spec.name, set()).add(spec.version)
        for text in patch_problems(self.s.project.patches_dir, planned, self.s.variant_names):
            self.announce(text)
        return BuildGraph(variant=self.s.variant.label, pythons=tuple(i.version for i in self.s.interpreters),
                          requested=tuple(str(r) for r in self.requirements), nodes=nodes, edges=tuple(edges), notes=tuple(notes))

    def expand(self, graph: BuildGraph, facts: Iterable[Discovery | BuiltFacts], started: Iterable[str],
               published: Mapping[str, str] | None = None) -> BuildGraph:
        """Record what the executor learned and plan again; a new plan that would move a package that is
        already being built (or is built) fails loudly instead of silently building something else.
        ``published``: node -> sha256 of the wheels this run holds, the inputs of the keys still unknown."""
        self.published.update(published or {})
        self._edges_before = {}
        for edge in graph.edges:
            if edge.child in graph.nodes:
                child = graph.nodes[edge.child]
                self._edges_before.setdefault(edge.parent, []).append((edge.kind, child.name, Version(child.version)))
        notes = []
        for fact in facts:
            spec = graph.nodes[fact.node]
            if isinstance(fact, Discovery):
                self.records.put("source", fact.source_key, fact.build_system.to_json())
                self.records.put("discover", fact.discover_key, {"requires": list(fact.backend_requires)})
            else:
                if fact.key is not None:
                    self.records.put("metadata", fact.key, {"requires_dist": list(fact.requires_dist)})
                notes += self._reconcile(spec, fact.requires_dist, fact.origin or f"built {spec.wheel or spec.id}")
        new = self.plan()
        moved = sorted(f"{graph.nodes[n].name} {graph.nodes[n].version} -> {', '.join(s.version for s in new.by_name(graph.nodes[n].name)) or 'gone'}"
                       for n in started if n in graph.nodes and n not in new.nodes)
        if moved:
            why = f"{notes[-1]}; " if notes else ""
            raise ResolutionError(f"plan mismatch: {why}re-planning would change packages already in the build ({', '.join(moved)})")
        for text in notes:
            self.note(f"re-planned: {text}")
        return replace(new, generation=graph.generation + 1)

    def choose_version(self, req: Requirement, graph: BuildGraph, python: str) -> str | None:
        """The version a requirement gets, as the walk chooses it (``Walk.pick``; None: nothing fits, and the
        re-plan that follows says why)."""
        interpreter = next(i for i in self.s.interpreters if i.version == python)
        name = self.renames.current(req.name)
        existing = [Version(n.version) for n in graph.by_name(name) if n.python == python]
        try:
            return str(pick(self, interpreter, renamed(req, name), existing))
        except ResolutionError:
            return None

    # ----- the runtime tree ----------------------------------------------------------------------

    def runtime(self, interpreter: Interpreter) -> Plan:
        if interpreter.version not in self._runtime:
            self._runtime[interpreter.version] = plan_install_tree(
                self.toplevel(interpreter), source=self.source, constraints=self.constraints(interpreter), renames=self.renames,
                markers=dict(interpreter.markers), overrides=self.overrides)
            for text in self._runtime[interpreter.version].warnings:
                self.announce(text)
        return self._runtime[interpreter.version]

    def _reconcile(self, spec: NodeSpec, requires_dist: Sequence[str], origin: str) -> list[str]:
        """Metadata the plan lacked, or that disagrees with it, becomes an override; the runtime tree is
        resolved again with it when the package is part of it. Agreeing metadata changes nothing."""
        key = (spec.name, Version(spec.version))
        if key in self._learnt and self._learnt[key] == tuple(requires_dist):
            return []
        self._learnt[key] = tuple(requires_dist)
        interpreter = next(i for i in self.s.interpreters if i.version == spec.python)
        planned = self.runtime(interpreter).packages.get(NormalizedName(spec.name))
        self.overrides[key] = self.source.with_recipe(spec.name, key[1], PublishedMetadata(tuple(requires_dist), None, origin, "built")) \
            or PublishedMetadata(tuple(requires_dist), None, origin, "built")
        if planned is None or str(planned.version) != spec.version:
            return []  # a build tool: the walk takes its dependencies from the override as it goes
        actual = sorted({str(unmarked(r)) for r in applicable(self.overrides[key].requires_dist, interpreter.markers, sorted(planned.extras),
                                                               source=f"{spec.id} {origin}")})
        if planned.origin is not None and same_requirements(actual, planned.requires):
            return []  # what the plan read, spelt another way (more_itertools is more-itertools): nothing to re-plan
        self._dirty = True  # the runtime tree is resolved again with it: the walk starts over
        note = (f"{spec.id}: {origin} requires {actual} but the plan read {sorted(planned.requires)} from "
                f"{planned.origin or 'nothing (the index publishes no usable metadata)'}")
        self._runtime.clear()
        try:
            for each in self.s.interpreters:
                self.runtime(each)
        except ResolutionError as exc:
            raise ResolutionError(f"plan mismatch: {note}; re-planning with it fails: {exc}") from None
        return [note] if not same_requirements(actual, planned.requires) else []


