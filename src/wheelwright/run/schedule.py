"""Walk the tree as it is discovered. A node starts building the moment everything it needs to build
is published: no rounds, no waiting for siblings. Workers never share state; the main thread owns it."""

from __future__ import annotations

import contextlib
import dataclasses
import enum
import functools
import hashlib
import os
import shutil
import sys
import time
import traceback
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

from packaging.requirements import Requirement
from packaging.specifiers import SpecifierSet
from packaging.version import Version
from packaging.tags import Tag, compatible_tags, cpython_tags
from packaging.utils import NormalizedName, canonicalize_name

from wheelwright.stages.backend import Backend, BuildSystem, read_build_system
from wheelwright.sandbox.buildenv import UvEnvironment, scrubbed_environment
from wheelwright.run.cache import RecordStore, content_key
from wheelwright.config.constraints import Constraints
from wheelwright.errors import BuildError, CycleError, ResolutionError, WheelwrightError
from wheelwright.fsutil import atomic_write_bytes, sha256_file
from wheelwright.plan.graph import BUILD_KINDS, ROOT, Edge, EdgeKind, Graph, NodeInfo, find_cycle
from wheelwright.remote.index import PackageIndex, SourceDistribution
from wheelwright.config.interpreters import Interpreter
from wheelwright.stages.localindex import LocalIndex
from wheelwright.plan.requirements import applicable, wheel_requires_dist
from wheelwright.sandbox.isolation import NetworkPolicy
from wheelwright.recipes.patches import Patch, apply_patches, find_patches
from wheelwright.plan.resolve import Plan, plan_install_tree
from wheelwright.plan.published import MetadataSource, PublishedMetadata
from wheelwright.config.project import Project
from wheelwright.config.renames import Renames
from wheelwright.recipes.api import LoadedRecipe, RecipeContext, call_hook_safely, load_recipe
from wheelwright.stages.repair import Repairer
from wheelwright.plan.candidates import choose_sdist
from wheelwright.stages.crates import VendoredCrates, vendor_crates
from wheelwright.remote.sources import UnpackLimits, fetch_sdist, fetch_source, unpack_sdist
from wheelwright.config.variants import Variant

if TYPE_CHECKING:  # the SBOM stack (cyclonedx) is imported only when a wheel is built: a warm run skips it
    from wheelwright.stages.sbom import ComponentFacts


@dataclass(frozen=True, kw_only=True)
class BuildSettings:
    """Everything one run depends on; frozen so no step can change it under another."""

    project: Project
    variant: Variant
    variant_names: frozenset[str]
    constraints: Constraints
    interpreter: Interpreter
    output_dir: Path
    cache_dir: Path
    jobs: int
    only: NormalizedName | None = None
    source_date_epoch: int = 315532800
    sbom_dir: Path | None = None  # default: <project>/sbom/<variant label>
    network: NetworkPolicy = NetworkPolicy(False, "not isolated (library default; the CLI isolates)")
    offline: bool = False  # sources from the local cache only; a miss is an error that names it
    unpack_limits: UnpackLimits = UnpackLimits()

    @property
    def simple_dir(self) -> Path:
        return self.output_dir / "simple"

    @property
    def logs_dir(self) -> Path:
        return self.output_dir / "logs"

    @property
    def work_dir(self) -> Path:
        return self.output_dir / "work"

    @property
    def state_dir(self) -> Path:
        return self.output_dir / ".state"

    def __post_init__(self) -> None:
        if self.sbom_dir is None:
            object.__setattr__(self, "sbom_dir", self.project.root / "sbom" / self.variant.label)


class Phase(enum.Enum):
    PREPARING = "preparing"
    WAIT_BUILD_SYSTEM = "waiting for build-system requirements"
    DISCOVERING = "asking the backend for its requirements"
    WAIT_BACKEND = "waiting for build-backend requirements"
    BUILDING = "building"
    PUBLISHED = "published"


@dataclass(eq=False)
class _Node:
    id: str
    name: NormalizedName
    version: str
    sdist: SourceDistribution | None
    phase: Phase
    extras: set[str] = field(default_factory=set)
    pending: int = 0  # unresolved build requirements of the current phase
    install_pending: int = 0  # unresolved install requirements
    requested_install: set[str] = field(default_factory=set)
    recipe: LoadedRecipe | None = None
    patches: tuple[Patch, ...] = ()
    build_system: BuildSystem | None = None
    source_key: str = ""
    discover_key: str = ""
    source_dir: Path | None = None
    env: UvEnvironment | None = None
    wheel: Path | None = None
    wheel_sha256: str = ""
    requires_dist: list[str] = field(default_factory=list)
    status: str = ""
    seconds: float = 0.0
    started_at: float = 0.0  # seconds into the run when its build work began / it was published
    finished_at: float = 0.0
    log_started: bool = False
    metadata_checked: bool = False
    runtime: dict[str, str] = field(default_factory=dict)  # runtime deps as its SBOM states them
    facts_json: str = ""  # provenance.facts_to_json of what its SBOM states
    backend_deps_installed: bool = False
    source_identity: str = ""  # sdist sha256, or the git commit built
    crates: VendoredCrates | None = None  # Rust crates vendored for this build


@dataclass(frozen=True)
class NodeOutcome:
    id: str
    status: str  # built | cached | index
    wheel: str
    seconds: float
    started_at: float
    finished_at: float
    facts_json: str = ""


@dataclass(frozen=True)
class BuildResult:
    graph: Graph
    outcomes: tuple[NodeOutcome, ...]
    seconds: float

    def by_status(self, status: str) -> list[str]:
        return sorted(o.id for o in self.outcomes if o.status == status)


class TreeBuilder:
    """Resolve, fetch, prepare, build, repair and publish a whole tree, build tools first."""

    def __init__(self, settings: BuildSettings, index: PackageIndex, repairer: Repairer, out: IO[str] | None = None,
                 planner: Planner | None = None, renames: Renames | None = None, prebuilt_index: PackageIndex | None = None) -> None:
        self.s = settings
        self.index = index
        self.prebuilt_index = prebuilt_index  # where the variant's proprietary packages come from, as-is
        self.repairer = repairer
        self.planner = planner
        self.plan: Plan | None = planner.plan() if planner else None
        self.renames = renames or Renames()
        self.replans: list[str] = []
        self.out = out or sys.stderr
        self.graph = Graph()
        self.local = LocalIndex(settings.simple_dir)
        self.records = RecordStore(settings.state_dir)
        self.nodes: dict[str, _Node] = {}
        self._root_pending = 0
        self._futures: dict[Future, Callable[[Any], None]] = {}
        self._failure: WheelwrightError | None = None
        self._io = ThreadPoolExecutor(max_workers=8, thread_name_prefix="io")
        self._builders = ThreadPoolExecutor(max_workers=settings.jobs, thread_name_prefix="build")
        self._tags = target_tags(settings.interpreter)
        self._t0 = time.monotonic()

    # ----- the main loop -----------------------------------------------------------------------

    def run(self, requirements: Sequence[Requirement]) -> BuildResult:
        started = self._t0 = time.monotonic()
        shutil.rmtree(self.s.work_dir, ignore_errors=True)  # a failed run's leftovers, kept until now for debugging
        self.local.remove_partial_files()  # a killed publish leaves a hidden temp file; the index never listed it
        for path in (self.s.simple_dir, self.s.logs_dir, self.s.work_dir, self.s.state_dir):
            path.mkdir(parents=True, exist_ok=True)
        try:
            for req in requirements:
                self._request(ROOT, req, "toplevel")
            while self._futures:
                done, _ = wait(list(self._futures), return_when=FIRST_COMPLETED)
                for future in done:
                    continuation = self._futures.pop(future)
                    try:
                        result = future.result()
                    except WheelwrightError as exc:
                        self._failure = self._failure or exc
                        continue
                    if self._failure is None:
                        continuation(result)
                if self._failure is None:
                    self._advance()
                if not self._futures and self._failure is None:
                    self._check_stuck()
        except WheelwrightError as exc:
            self._failure = self._failure or exc
            wait(list(self._futures))
        finally:
            self._io.shutdown(wait=True, cancel_futures=True)
            self._builders.shutdown(wait=True, cancel_futures=True)
        if self._failure is not None:
            raise self._failure
        outcomes = tuple(
            NodeOutcome(n.id, n.status, n.wheel.name if n.wheel else "", round(n.seconds, 3), round(n.started_at, 3), round(n.finished_at, 3), n.facts_json)
            for n in self.nodes.values()
        )
        return BuildResult(self.graph, outcomes, time.monotonic() - started)

    def _submit(self, pool: ThreadPoolExecutor, job: Callable[[], Any], then: Callable[[Any], None], node: _Node | None = None) -> None:
        if self._failure is None:
            self._futures[pool.submit(self._guarded, job, node)] = then

    def _guarded(self, job: Callable[[], Any], node: _Node | None) -> Any:
        """A bug or an unexpected OS error in a job still ends as a named failure with its traceback logged."""
        try:
            return job()
        except WheelwrightError:
            raise
        except Exception as exc:
            where = node.id if node else "resolution"
            log_path = None
            if node is not None:
                with contextlib.suppress(OSError), self._log(node) as log:  # the disk may be what failed
                    log.write(traceback.format_exc())
                    log_path = log.name
            raise BuildError(f"{where}: unexpected {type(exc).__name__}: {exc}", log_path) from exc

    # ----- requirements and nodes --------------------------------------------------------------

    def _request(self, parent: str, req: Requirement, kind: EdgeKind, hint: str | None = None) -> None:
        """``hint``: the version the parent's SBOM already states for this runtime requirement."""
        self._count(parent, kind, +1)
        name = self.renames.current(req.name)
        if name != canonicalize_name(req.name):  # aiter -> amd-aiter: the old name never reaches the index
            req = _renamed(req, name)
        wanted = self._pinned(parent, req, kind)
        if hint is not None and wanted.specifier.contains(hint, prereleases=True):
            wanted = _renamed(wanted, name, SpecifierSet(f"=={hint}"))
        existing = self._existing(name, wanted)
        if existing is not None:
            self._link(parent, req, kind, existing)
        elif name in self.s.variant.prebuilt:
            job = lambda: self._fetch_prebuilt(parent, wanted)
            self._submit(self._io, job, lambda fetched: self._link(parent, req, kind, self._prebuilt_node(*fetched)))
        elif self.s.only is not None and name != self.s.only:
            self._link(parent, req, kind, self._node_from_index(name, wanted))
        else:
            job = lambda: self._choose(parent, wanted, kind)
            self._submit(self._io, job, lambda sdist: self._link(parent, req, kind, self._node_for(sdist)))

    def _pinned(self, parent: str, req: Requirement, kind: EdgeKind) -> Requirement:
        """Runtime requirements take the plan's version; build requirements take it when it fits."""
        if self.plan is None:
            return req
        pin = self.plan.pin(req.name)
        if pin is not None and req.specifier.contains(pin, prereleases=True):
            return _renamed(req, req.name, SpecifierSet(f"=={pin}"))
        if kind == "toplevel" or (kind == "install" and self._planned(parent)):
            raise ResolutionError(
                f"plan mismatch: {parent} requires {str(req)!r} but the plan has "
                f"{f'{req.name}=={pin}' if pin else f'no {req.name}'}; the published metadata the plan used disagrees with the build"
            )
        return req

    def _planned(self, node_id: str) -> bool:
        """Part of the planned runtime tree (not a build tool's own dependency closure)."""
        node = self.nodes.get(node_id)
        return node is not None and self.plan is not None and str(self.plan.pin(node.name)) == node.version

    def _check_plan(self, node: _Node) -> None:
        """The plan came from published metadata; the built wheel's METADATA has the last word."""
        self._reconcile(node, node.requires_dist, f"built {node.wheel.name if node.wheel else node.id}")

    def _reconcile(self, node: _Node, requires_dist: list[str], origin: str) -> None:
        """Metadata that disagrees with the plan re-plans; a re-plan that would move a package already
        in the build fails loudly. Never silently ignored."""
        planned = self.plan.packages.get(node.name) if self.plan else None
        if planned is None or str(planned.version) != node.version or self.planner is None:
            return
        actual = sorted(str(_unmarked(r)) for r in applicable(requires_dist, self.s.interpreter.markers, sorted(planned.extras), source=f"{node.id} {origin}"))
        if actual == sorted(planned.requires):
            return
        note = f"{node.id}: {origin} requires {actual} but the plan read {sorted(planned.requires)} from {planned.origin or 'nothing (the index publishes no usable metadata)'}"
        try:
            new_plan = self.planner.plan({(node.name, Version(node.version)): PublishedMetadata(tuple(requires_dist), None, origin, "built")})
        except ResolutionError as exc:
            raise ResolutionError(f"plan mismatch: {note}; re-planning with it fails: {exc}") from None
        moved = [f"{n.name} {n.version} -> {new_plan.pin(n.name)}" for n in self.nodes.values()
                 if n.name in self.plan.packages and new_plan.pin(n.name) is not None and str(new_plan.pin(n.name)) != n.version]  # type: ignore[union-attr]
        if moved:
            raise ResolutionError(f"plan mismatch: {note}; re-planning would change packages already in the build ({', '.join(moved)})")
        self.replans.append(note)
        self.out.write(f"re-planned: {note}\n")
        self.plan = new_plan

    def _choose(self, parent: str, req: Requirement, kind: EdgeKind) -> SourceDistribution:
        try:
            declared = load_recipe(self.s.project.recipes_dir, req.name).recipe.source
            if declared is not None:
                return _declared_source(req, declared, self.s.constraints)
            return choose_sdist(req, self.s.constraints, self.index, self.s.interpreter.version)
        except ResolutionError as exc:
            who = "requested at the top level" if parent == ROOT else f"{kind} requirement of {parent}"
            raise ResolutionError(f"{exc} ({who}: {str(req)!r})") from None

    def _count(self, parent: str, kind: EdgeKind, delta: int) -> None:
        if parent == ROOT:
            self._root_pending += delta
        elif kind == "install":
            self.nodes[parent].install_pending += delta
        else:
            self.nodes[parent].pending += delta

    def _existing(self, name: NormalizedName, req: Requirement) -> _Node | None:
        spec = req.specifier & self.s.constraints.specifier_for(name)
        for node in self.nodes.values():
            if node.name == name and spec.contains(node.version, prereleases=True):
                return node
        return None

    def _link(self, parent: str, req: Requirement, kind: EdgeKind, node: _Node) -> None:
        self.graph.add_edge(Edge(parent, node.id, kind, str(req)))
        self._count(parent, kind, -1)
        new_extras = set(req.extras) - node.extras
        node.extras |= new_extras
        if new_extras and node.phase is Phase.PUBLISHED:
            self._request_install_deps(node)

    def _node_for(self, sdist: SourceDistribution) -> _Node:
        node_id = f"{canonicalize_name(sdist.name)}=={sdist.version}"
        if node_id not in self.nodes:
            node = _Node(node_id, canonicalize_name(sdist.name), str(sdist.version), sdist, Phase.PREPARING)
            self.nodes[node_id] = node
            self.graph.add_node(NodeInfo(node_id, node.name, node.version, sdist.url, sdist.sha256 or None,
                                         former_names=list(self.renames.former_names(node.name))))
            self._submit(self._io, lambda: self._prepare(node), lambda bs: self._on_prepared(node, bs), node)
        return self.nodes[node_id]

    def _fetch_prebuilt(self, parent: str, req: Requirement) -> tuple[SourceDistribution, Path]:
        """A package the variant declares prebuilt: the best fitting vendor wheel, verified, never built."""
        if self.prebuilt_index is None:
            raise ResolutionError(f"{req.name}: variant {self.s.variant.label} takes it prebuilt but declares no prebuilt_index")
        spec = req.specifier & self.s.constraints.specifier_for(req.name)
        wheels = [f for f in self.prebuilt_index.files(req.name)
                  if f.is_wheel and not f.yanked and f.tags & self._tags and spec.contains(f.version, prereleases=True)]
        if not wheels:
            raise ResolutionError(f"{req.name}: no prebuilt wheel on {getattr(self.prebuilt_index, 'url', 'the prebuilt index')} "
                                  f"matches {str(req)!r} for this interpreter ({'top level' if parent == ROOT else parent})")
        best = max(wheels, key=lambda f: (f.version, f.filename))
        return best, fetch_sdist(best, self.s.cache_dir / "prebuilt", offline=self.s.offline)

    def _prebuilt_node(self, file: SourceDistribution, path: Path) -> _Node:
        node_id = f"{canonicalize_name(file.name)}=={file.version}"
        if node_id in self.nodes:
            return self.nodes[node_id]
        published = self.local.publish(path)  # as-is: no repair, no embedded SBOM, the vendor's bytes
        node = _Node(node_id, canonicalize_name(file.name), str(file.version), file, Phase.PUBLISHED, wheel=published,
                     wheel_sha256=file.sha256, status="prebuilt", requires_dist=wheel_requires_dist(published))
        self.nodes[node_id] = node
        self.graph.add_node(NodeInfo(node_id, node.name, node.version, file.url, file.sha256, wheel=published.name,
                                     wheel_sha256=file.sha256, prebuilt=True))
        runtime, found = self._runtime(node, node.requires_dist, self._snapshot(node))
        node.runtime = runtime
        node.facts_json = self._prebuilt_sbom(node, file, found)
        self.out.write(f"prebuilt {node_id} -> {published.name} (vendor wheel, not built)\n")
        self._request_install_deps(node)
        return node

    def _prebuilt_sbom(self, node: _Node, file: SourceDistribution, found) -> str:  # type: ignore[no-untyped-def]
        """Described like any other wheel, marked prebuilt; written beside the index, never into the wheel."""
        from wheelwright.stages.licenses import license_from_wheel
        from wheelwright.stages.provenance import facts_to_json
        from wheelwright.stages.sbom import ComponentFacts, SourceFacts, WheelFacts, wheel_sbom

        assert node.wheel is not None
        facts = WheelFacts(
            name=node.name, version=node.version, wheel_filename=node.wheel.name, wheel_sha256=file.sha256,
            variant=self.s.variant.label, archs=tuple(self.s.variant.archs), source=SourceFacts(kind="wheel", url=file.url, sha256=file.sha256),
            patches=(), build_dependencies=(), toolchain=(), constraints=self._provenance_inputs[1], grafted=(),
            runtime_dependencies=tuple(ComponentFacts(name=n, version=v, wheel_filename=w.name if w else None, sha256=sha, variant=self.s.variant.label)
                                       for n, v, w, sha in found),
            license=license_from_wheel(node.wheel), former_names=tuple(self.renames.former_names(node.name)),
            prebuilt=True, source_date_epoch=self.s.source_date_epoch,
        )
        self._write_sbom(node.wheel.name, wheel_sbom(facts))
        return facts_to_json(facts)

    def _node_from_index(self, name: NormalizedName, req: Requirement) -> _Node:
        """--only: everything but the target comes from our index as it is."""
        spec = req.specifier & self.s.constraints.specifier_for(name)
        found = self.local.best_wheel(name, lambda v: spec.contains(v, prereleases=True), self._tags)
        if found is None:
            raise ResolutionError(f"--only {self.s.only}: {req} is not in {self.s.simple_dir}; run the full build first")
        version, wheel = found
        node_id = f"{name}=={version}"
        if node_id not in self.nodes:
            node = _Node(node_id, name, str(version), None, Phase.PUBLISHED, wheel=wheel, status="index")
            node.wheel_sha256 = sha256_file(wheel)
            node.requires_dist = wheel_requires_dist(wheel)
            self.nodes[node_id] = node
            self.graph.add_node(NodeInfo(node_id, name, str(version), wheel=wheel.name, wheel_sha256=node.wheel_sha256))
            self._request_install_deps(node)
        return self.nodes[node_id]

    def _request_install_deps(self, node: _Node) -> None:
        if self.s.only is not None and node.name == self.s.only:
            return  # iterating on one recipe: its runtime deps are not rebuilt
        for req in applicable(node.requires_dist, self.s.interpreter.markers, sorted(node.extras), source=f"{node.id} Requires-Dist"):
            if str(req) not in node.requested_install:
                node.requested_install.add(str(req))
                self._request(node.id, req, "install", node.runtime.get(self.renames.current(req.name)))

    # ----- phase transitions (main thread) -----------------------------------------------------

    def _on_prepared(self, node: _Node, build_system: BuildSystem) -> None:
        node.build_system = build_system
        if node.sdist is not None and node.sdist.git_ref:
            self.graph.nodes[node.id].source_commit = node.source_identity
        node.phase = Phase.WAIT_BUILD_SYSTEM
        for req in applicable(build_system.requires, self.s.interpreter.markers, source=f"{node.id} [build-system] requires"):
            self._request(node.id, req, "build-system")

    def _on_discovered(self, node: _Node, requires: list[str]) -> None:
        node.phase = Phase.WAIT_BACKEND
        for req in applicable(requires, self.s.interpreter.markers, source=f"{node.id} get_requires_for_build_wheel"):
            self._request(node.id, req, "build-backend")

    def _on_built(self, node: _Node, built: _Built) -> None:
        node.wheel, node.wheel_sha256, node.requires_dist, node.status, node.seconds = built.wheel, built.sha256, built.requires_dist, built.status, built.seconds
        node.runtime, node.facts_json = built.runtime, built.facts_json
        node.finished_at = time.monotonic() - self._t0
        node.phase = Phase.PUBLISHED
        info = self.graph.nodes[node.id]
        info.wheel, info.wheel_sha256, info.patches = node.wheel.name, node.wheel_sha256, [p.path.name for p in node.patches]
        self.out.write(f"{node.status:>7} {node.id} -> {node.wheel.name} ({node.seconds:.1f}s)\n")
        self.out.flush()
        self._check_plan(node)
        self._request_install_deps(node)

    def _advance(self) -> None:
        for node in list(self.nodes.values()):
            if node.pending:
                continue
            if node.phase is Phase.WAIT_BUILD_SYSTEM and self._complete(self.graph.children(node.id, ("build-system",))):
                node.phase = Phase.DISCOVERING
                wheels = self._closure_wheels(node, ("build-system",))
                self._submit(self._builders, lambda n=node, w=wheels: self._discover(n, w), lambda r, n=node: self._on_discovered(n, r), node)
            elif node.phase is Phase.WAIT_BACKEND and self._complete(self.graph.children(node.id, BUILD_KINDS)):
                node.phase = Phase.BUILDING
                first = self._closure_wheels(node, ("build-system",))
                every = self._closure_wheels(node, BUILD_KINDS)
                self._submit_build(node, first, every)

    def _submit_build(self, node: _Node, first: list[tuple[Path, str]], every: list[tuple[Path, str]]) -> None:
        metadata_first = self._deferred(node) and not node.metadata_checked
        snapshot = self._snapshot(node)
        self._submit(self._builders, lambda: self._build(node, first, every, metadata_first, snapshot),
                     lambda result: self._on_build_step(node, first, every, result), node)

    @functools.cached_property
    def _provenance_inputs(self) -> tuple:
        """Toolchain versions and constraint hashes, read once per run and only if something builds."""
        from wheelwright.stages.provenance import build_toolchain, constraint_files

        return build_toolchain(self.s.interpreter, self.s.variant), constraint_files(self.s.constraints.files)

    def _snapshot(self, node: _Node) -> _Snapshot:
        """What a worker may know of the rest of the tree to resolve the wheel's runtime deps for its SBOM."""
        versions: dict[str, list[tuple[str, Path | None, str]]] = {}
        for other in self.nodes.values():
            versions.setdefault(other.name, []).append((other.version, other.wheel if other.phase is Phase.PUBLISHED else None, other.wheel_sha256))
        planned = {n: str(p.version) for n, p in self.plan.packages.items()} if self.plan else {}
        return _Snapshot(frozenset(node.extras), versions, planned)

    def _runtime(self, node: _Node, requires_dist: list[str], snapshot: _Snapshot) -> tuple[dict[str, str], list[ComponentFacts]]:
        """Each runtime requirement resolved as the main thread will resolve it: plan pin, else a version
        already in the tree, else the index under the variant's constraints."""
        versions: dict[str, str] = {}
        found: list[tuple[str, str, Path | None, str | None]] = []
        for req in applicable(requires_dist, self.s.interpreter.markers, sorted(snapshot.extras), source=f"{node.id} Requires-Dist"):
            name = self.renames.current(req.name)
            spec = req.specifier & self.s.constraints.specifier_for(name)
            pin = snapshot.planned.get(name)
            known = [v for v in snapshot.versions.get(name, []) if spec.contains(v[0], prereleases=True)]
            if pin is not None and spec.contains(pin, prereleases=True):
                version = pin
            elif known:
                version = known[0][0]
            else:
                try:
                    version = str(self._choose(node.id, _renamed(req, name), "install").version)
                except ResolutionError:
                    continue  # the main thread re-plans or reports it, with the whole picture
            wheel = next(((w, sha) for v, w, sha in snapshot.versions.get(name, []) if v == version and w is not None), (None, None))
            versions[name] = version
            found.append((name, version, wheel[0], wheel[1] or None))
        return versions, found

    def _deferred(self, node: _Node) -> bool:
        """In the plan, but with dependencies the index could not tell: ask the backend before building."""
        planned = self.plan.packages.get(node.name) if self.plan else None
        return planned is not None and str(planned.version) == node.version and planned.origin is None

    def _on_build_step(self, node: _Node, first, every, result) -> None:  # type: ignore[no-untyped-def]
        if isinstance(result, _PreparedMetadata):
            node.metadata_checked = True
            if result.requires_dist is not None:
                self._reconcile(node, result.requires_dist, "prepare_metadata_for_build_wheel")
            self._submit_build(node, first, every)
        else:
            self._on_built(node, result)

    def _complete(self, roots: Iterable[str]) -> bool:
        """True when every node the roots need at run time is published and fully resolved."""
        return all(
            self.nodes[n].phase is Phase.PUBLISHED and self.nodes[n].install_pending == 0
            for n in self.graph.install_closure(roots)
        )

    def _closure_wheels(self, node: _Node, kinds: tuple[EdgeKind, ...]) -> list[tuple[Path, str]]:
        closure = self.graph.install_closure(self.graph.children(node.id, kinds))
        return sorted((self.nodes[n].wheel, self.nodes[n].wheel_sha256) for n in closure)  # type: ignore[misc]

    def _check_stuck(self) -> None:
        """Nothing running and nothing ready: find the build-dependency cycle and name its path."""
        waiting = [n for n in self.nodes.values() if n.phase in (Phase.WAIT_BUILD_SYSTEM, Phase.WAIT_BACKEND)]
        if not waiting:
            return
        waits = {
            n.id: {d for d in self.graph.build_needs(n.id) if not self._complete([d])}
            for n in waiting
        }
        # a published node with unpublished runtime deps waits for them too
        for node in self.nodes.values():
            if node.phase is Phase.PUBLISHED:
                waits[node.id] = {d for d in self.graph.children(node.id, ("install",)) if self.nodes[d].phase is not Phase.PUBLISHED}
        cycle = find_cycle(waits)
        if cycle:
            steps = [cycle[0]]
            for parent, child in zip(cycle, cycle[1:]):
                kind = next((e.kind for e in self.graph.edges if e.parent == parent and e.child == child), "needs")
                steps.append(f"-[{kind}]-> {child}")
            raise CycleError(f"build-dependency cycle cannot bootstrap: {' '.join(steps)}")
        raise CycleError(f"build is stuck: {', '.join(sorted(w.id for w in waiting))} wait for requirements that never became ready")

    # ----- jobs (worker threads; they touch only their own node) -------------------------------

    def _log(self, node: _Node) -> IO[str]:
        """Opened only when real work happens, so a cached node keeps the log of the build that made it."""
        mode = "a" if node.log_started else "w"
        node.log_started = True
        return open(self.s.logs_dir / f"{node.name}-{node.version}.log", mode)

    def _context(self, node: _Node) -> RecipeContext:
        return RecipeContext(
            name=node.name, version=node.sdist.version, variant=self.s.variant,  # type: ignore[union-attr]
            python_version=self.s.interpreter.version, source_dir=node.source_dir, jobs=self.s.jobs, network=self.s.network,
        )

    def _prepare(self, node: _Node) -> BuildSystem:
        assert node.sdist is not None
        archive, node.source_identity = fetch_source(node.sdist, self.s.cache_dir, offline=self.s.offline)
        node.recipe = load_recipe(self.s.project.recipes_dir, node.name)
        node.patches = find_patches(self.s.project.patches_dir, node.name, node.sdist.version, self.s.variant.name, self.s.variant_names)
        node.source_key = content_key(
            sdist=node.source_identity,
            patches=[(p.path.name, p.sha256) for p in node.patches],
            recipe=node.recipe.source_hash,
            variant=self.s.variant.fingerprint(),
            python=[self.s.interpreter.markers["implementation_name"], self.s.interpreter.version, self.s.interpreter.markers["platform_machine"]],
            source_date_epoch=self.s.source_date_epoch,
        )
        record = self.records.get("source", node.source_key)
        if record is not None:
            return BuildSystem.from_json(record)
        with self._log(node) as log:
            self._unpack(node, archive, log)
            build_system = read_build_system(node.source_dir, node.id)  # type: ignore[arg-type]
        self.records.put("source", node.source_key, build_system.to_json())
        return build_system

    def _unpack(self, node: _Node, archive: Path | None, log: IO[str]) -> Path:
        if node.source_dir is not None:
            return node.source_dir
        assert node.sdist is not None and node.recipe is not None
        archive = archive or fetch_source(node.sdist, self.s.cache_dir, offline=self.s.offline)[0]
        what = f"git tag {node.sdist.git_ref} = commit {node.source_identity}" if node.sdist.git_ref else f"sha256 {node.sdist.sha256} verified"
        log.write(f"# {node.id} from {node.sdist.url}\n# {what}\n")
        node.source_dir = unpack_sdist(archive, self.s.work_dir / node.id / "src", self.s.unpack_limits)
        apply_patches(node.patches, node.source_dir, log)
        node.crates = vendor_crates(node.source_dir, self.s.cache_dir / "crates", self.s.work_dir / node.id, log, offline=self.s.offline)
        call_hook_safely(f"recipes/{node.name}.py prepare", lambda: node.recipe.prepare(dataclasses.replace(self._context(node), log=log)))  # type: ignore[union-attr]
        return node.source_dir

    def _environment(self, node: _Node) -> dict[str, str]:
        assert node.recipe is not None
        recipe_env = call_hook_safely(f"recipes/{node.name}.py env", lambda: node.recipe.env(self._context(node)))  # type: ignore[union-attr]
        venv_bin = self.s.work_dir / node.id / "env" / "bin"
        crates = node.crates.env() if node.crates else {}
        env = scrubbed_environment({**self.s.variant.env, **recipe_env, **crates, "SOURCE_DATE_EPOCH": str(self.s.source_date_epoch)})
        env["PATH"] = f"{venv_bin}{os.pathsep}{env.get('PATH', os.defpath)}"
        return env

    def _backend(self, node: _Node, wheels: list[tuple[Path, str]], log: IO[str]) -> Backend:
        assert node.build_system is not None
        source_dir = self._unpack(node, None, log)
        env = self._environment(node)
        if node.env is None:
            node.env = UvEnvironment.create(self.s.work_dir / node.id / "env", self.s.interpreter.path, self.s.cache_dir / "uv", env, log)
            node.env.install([w for w, _ in wheels], log)
        return Backend(source_dir, node.build_system, node.env.python, env, log, node.id, self.s.network)

    def _discover(self, node: _Node, wheels: list[tuple[Path, str]]) -> list[str]:
        node.started_at = time.monotonic() - self._t0
        node.discover_key = content_key(source=node.source_key, wheels=[sha for _, sha in wheels])
        record = self.records.get("discover", node.discover_key)
        if record is not None:
            return record["requires"]
        with self._log(node) as log:
            backend = self._backend(node, wheels, log)
            config = call_hook_safely(f"recipes/{node.name}.py config_settings", lambda: node.recipe.config_settings(self._context(node)))  # type: ignore[union-attr]
            requires = backend.requires_for_wheel(config)
            log.write(f"# get_requires_for_build_wheel -> {requires}\n")
        self.records.put("discover", node.discover_key, {"requires": requires})
        return requires

    def _build(self, node: _Node, first: list[tuple[Path, str]], every: list[tuple[Path, str]], metadata_first: bool = False,  # type: ignore[no-untyped-def]
               snapshot: _Snapshot | None = None):
        started = time.monotonic()
        snapshot = snapshot or _Snapshot(frozenset(), {}, {})
        key = content_key(discover=node.discover_key, wheels=[sha for _, sha in every])
        forced = self.s.only is not None and node.name == self.s.only
        record = None if forced else self.records.get("wheel", key)
        if record is not None and "facts" in record:
            wheel = self.s.simple_dir / record["path"]
            if wheel.is_file() and sha256_file(wheel) == record["sha256"]:
                runtime, _ = self._runtime(node, record["requires_dist"], snapshot)
                if runtime == record["runtime"]:  # else its SBOM would state other dependency versions: rebuild
                    self._ensure_sbom(wheel.name, record)
                    return _Built(wheel, record["sha256"], record["requires_dist"], "cached", time.monotonic() - started, runtime, record["facts"])
        with self._log(node) as log:
            backend = self._backend(node, first, log)
            if not node.backend_deps_installed:
                node.env.install([w for w, sha in every if (w, sha) not in first], log)  # type: ignore[union-attr]
                node.backend_deps_installed = True
            config = call_hook_safely(f"recipes/{node.name}.py config_settings", lambda: node.recipe.config_settings(self._context(node)))  # type: ignore[union-attr]
            if metadata_first:  # the plan's last resort: ask the backend before spending a build on it
                return _PreparedMetadata(backend.prepare_metadata(self.s.work_dir / node.id / "metadata", config))
            work = self.s.work_dir / node.id
            built = backend.build_wheel(work / "dist", config)
            repaired = self.repairer.repair(built, work / "repaired", log)
            log.write(f"# repaired: {repaired.platform_tag or 'pure, unchanged'}; grafted {[g.soname for g in repaired.grafted]}; external {list(repaired.external)}\n")
            gpu_payload = self._verify(node, repaired.wheel, log)
            requires_dist = wheel_requires_dist(repaired.wheel)
            runtime, found = self._runtime(node, requires_dist, snapshot)
            from wheelwright.stages.provenance import facts_to_json, gather
            from wheelwright.stages.sbom import ComponentFacts, finalize_wheel

            components = [ComponentFacts(name=n, version=v, wheel_filename=w.name if w else None, sha256=sha, variant=self.s.variant.label)
                          for n, v, w, sha in found]
            toolchain, constraint_facts = self._provenance_inputs
            facts = gather(
                name=node.name, version=node.version, variant=self.s.variant, source=self._source_facts(node),
                patches=node.patches, project_root=self.s.project.root,
                build_wheels=every, toolchain=toolchain, constraints=constraint_facts, repaired=repaired,
                runtime=components, former_names=self.renames.former_names(node.name), source_date_epoch=self.s.source_date_epoch,
                gpu_payload=gpu_payload,
                crates=node.crates.crates if node.crates else (),
            )
            final, facts, published_sbom = finalize_wheel(facts, repaired.wheel, work / "final" / repaired.wheel.name)
            published = self.local.publish(final)
            self._write_sbom(published.name, published_sbom)
            log.write(f"# published {published} with its SBOM\n")
        facts_json = facts_to_json(facts)
        self.records.put("wheel", key, {"path": str(published.relative_to(self.s.simple_dir)), "sha256": facts.wheel_sha256,
                                        "requires_dist": requires_dist, "runtime": runtime, "facts": facts_json,
                                        "sbom_sha256": hashlib.sha256(published_sbom).hexdigest()})
        shutil.rmtree(work, ignore_errors=True)
        node.source_dir = node.env = None
        return _Built(published, facts.wheel_sha256, requires_dist, "built", time.monotonic() - started, runtime, facts_json)

    def _source_facts(self, node: _Node):  # type: ignore[no-untyped-def]
        from wheelwright.stages.sbom import SourceFacts

        assert node.sdist is not None
        if node.sdist.git_ref:
            return SourceFacts.git(node.sdist.url, node.source_identity, node.sdist.git_ref)
        return SourceFacts.sdist(node.sdist.url, node.sdist.sha256)

    def _verify(self, node: _Node, wheel: Path, log: IO[str]) -> tuple[str, ...]:
        """After repair, before anything is published: the kernels the variant needs must be inside."""
        declared = call_hook_safely(f"recipes/{node.name}.py kernels", lambda: node.recipe.kernels(self._context(node)))  # type: ignore[union-attr]
        if self.s.variant.gpu_payload not in ("cuda", "hip") and not declared:  # a dict: pattern -> archs subset
            return ()
        from wheelwright.stages.verify import verify_wheel

        verdict = verify_wheel(wheel, self.s.variant, declared)
        log.write("# verify: " + ("; ".join(verdict.summary()) or "no GPU code, none required") + "\n")
        if not verdict.ok:
            raise BuildError(verdict.message(self.s.variant.gpu_payload), getattr(log, "name", None))
        return verdict.summary()

    def _write_sbom(self, wheel_name: str, sbom: bytes) -> None:
        path = self.s.sbom_dir / f"{wheel_name}.cdx.json"  # type: ignore[operator]
        if not path.exists() or path.read_bytes() != sbom:
            atomic_write_bytes(path, sbom)

    def _ensure_sbom(self, wheel_name: str, record: dict[str, Any]) -> None:
        """A cached wheel's published SBOM is regenerated (deterministically) only if it is missing or changed."""
        path = self.s.sbom_dir / f"{wheel_name}.cdx.json"  # type: ignore[operator]
        if path.is_file() and sha256_file(path) == record.get("sbom_sha256"):
            return
        from wheelwright.stages.provenance import facts_from_json
        from wheelwright.stages.sbom import wheel_sbom

        self._write_sbom(wheel_name, wheel_sbom(facts_from_json(record["facts"])))


@dataclass(frozen=True)
class _Snapshot:
    extras: frozenset[str]
    versions: dict[str, list[tuple[str, Path | None, str]]]  # name -> (version, published wheel or None, sha)
    planned: dict[str, str]


@dataclass(frozen=True)
class _Built:
    wheel: Path
    sha256: str
    requires_dist: list[str]
    status: str
    seconds: float
    runtime: dict[str, str]
    facts_json: str


@dataclass(frozen=True)
class _PreparedMetadata:
    requires_dist: list[str] | None  # None: the backend has no prepare_metadata_for_build_wheel hook


def _declared_source(req: Requirement, declared, constraints: Constraints) -> SourceDistribution:  # type: ignore[no-untyped-def]
    """A recipe's git tag or tarball, for the one version the plan or the constraints pin."""
    from wheelwright.recipes.api import GitSource

    spec = req.specifier & constraints.specifier_for(req.name)
    pins = [s.version for s in spec if s.operator == "==" and "*" not in s.version]
    if len(set(pins)) != 1:
        raise ResolutionError(f"{req.name}: its recipe builds it from {getattr(declared, 'url', '?')}; pin one version (==) in the constraints")
    version = pins[0]
    name = canonicalize_name(req.name)
    if isinstance(declared, GitSource):
        return SourceDistribution(name=name, version=Version(version), filename=f"{name.replace('-', '_')}-{version}.tar.gz", url=declared.url,
                                  sha256="", requires_python=None, yanked=False, git_ref=declared.ref(version), git_commit=declared.commits.get(version))
    url = declared.url.format(version=version)
    if version not in declared.sha256:
        raise ResolutionError(f"{name} {version}: recipes/{name.replace('-', '_')}.py declares no sha256 for {url}; refusing an unverified download")
    return SourceDistribution(name=name, version=Version(version), filename=url.rsplit("/", 1)[-1], url=url,
                              sha256=declared.sha256[version], requires_python=None, yanked=False)


def _renamed(req: Requirement, name: str, specifier: SpecifierSet | None = None) -> Requirement:
    extras = f"[{','.join(sorted(req.extras))}]" if req.extras else ""
    marker = f"; {req.marker}" if req.marker else ""
    return Requirement(f"{name}{extras}{specifier if specifier is not None else req.specifier}{marker}")


def _unmarked(req: Requirement) -> Requirement:
    req.marker = None
    return req


class Planner:
    """Re-runnable resolution of the install tree (re-planned when a built wheel disagrees)."""

    def __init__(self, requirements: Sequence[Requirement], source: MetadataSource, constraints: Constraints, renames: Renames, markers: dict[str, str]) -> None:
        self.requirements = requirements
        self.source = source
        self.constraints = constraints
        self.renames = renames
        self.markers = markers
        self.overrides: dict[tuple[str, Version], PublishedMetadata] = {}
        self._latest: Plan | None = None

    def plan(self, overrides: dict[tuple[str, Version], PublishedMetadata] | None = None) -> Plan:
        """The current plan; it is resolved again only when new metadata overrides arrive."""
        if self._latest is None or overrides:
            self.overrides.update(overrides or {})
            self._latest = plan_install_tree(self.requirements, source=self.source, constraints=self.constraints,
                                             renames=self.renames, markers=self.markers, overrides=self.overrides)
        return self._latest


def target_tags(interpreter: Interpreter) -> frozenset[Tag]:
    """Wheel tags the target interpreter installs (on this machine's platform)."""
    version = tuple(int(p) for p in interpreter.version.split("."))
    return frozenset([*cpython_tags(version), *compatible_tags(version)])  # type: ignore[arg-type]


def tail(path: str | None, lines: int = 30) -> list[str]:
    if not path or not Path(path).exists():
        return []
    return Path(path).read_text(errors="replace").splitlines()[-lines:]


__all__ = ["BuildSettings", "BuildResult", "TreeBuilder", "BuildError", "tail"]
