"""Where the stages meet: one node's fetch, prepare, discover and build, as functions of frozen inputs
returning frozen records. Nothing here decides what to build (the plan did) and nothing here is shared
with another worker: each call gets its node's spec and the wheels its build environment holds."""

from __future__ import annotations

import contextlib
import hashlib
import os
import shutil
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from packaging.version import Version

from wheelwright.config.interpreters import Interpreter
from wheelwright.config.project import Project
from wheelwright.config.renames import Renames
from wheelwright.config.variants import Variant
from wheelwright.errors import BuildError, VerificationFailed
from wheelwright.fsutil import atomic_write_bytes, sha256_file
from wheelwright.plan.buildsystem import BuildSystem, read_build_system
from wheelwright.plan.graph import NodeSpec
from wheelwright.plan.keys import discover_key, wheel_key
from wheelwright.plan.requirements import renamed, wheel_requires_dist
from wheelwright.plan.sourcerefs import to_distribution
from wheelwright.recipes.api import GitSource, RecipeContext, call_hook_safely
from wheelwright.recipes.book import RecipeBook, context
from wheelwright.recipes.patches import Patch, apply_patches, find_patches
from wheelwright.remote.sources import UnpackLimits, fetch_source, unpack_sdist
from wheelwright.run.cache import RecordStore
from wheelwright.stages.runtimelibs import require_provided
from wheelwright.sandbox.buildenv import (BuildEnvironment, EnvironmentFactory, build_env_paths, compiler_path_maps, log_environment,
                                         scrubbed_environment)
from wheelwright.sandbox.isolation import Isolation, NetworkPolicy
from wheelwright.stages.backend import Backend
from wheelwright.stages.crates import VendoredCrates, vendor_crates
from wheelwright.run.rebuildwhy import node_inputs, remember_inputs, why_rebuilt
from wheelwright.stages.extrasources import ProvidedSources, provide_extra_sources
from wheelwright.stages.linkage import require_links
from wheelwright.stages.localindex import LocalIndex
from wheelwright.stages.repair import Repairer
from wheelwright.stages.wheelfile import require_planned_identity, set_build_tag

if TYPE_CHECKING:
    from wheelwright.stages.sbomfacts import FileFacts, ToolFacts

#: The knobs through which build systems take their compile parallelism; each build gets the per-build budget.
PARALLELISM_VARIABLES = ("MAX_JOBS", "CMAKE_BUILD_PARALLEL_LEVEL")


@dataclass(frozen=True, kw_only=True)
class StageSettings:
    """What every stage may read; frozen, shared by all workers."""

    project: Project
    variant: Variant
    variant_names: frozenset[str]
    interpreters: Mapping[str, Interpreter]  # X.Y -> interpreter
    output_dir: Path
    cache_dir: Path
    sbom_dir: Path
    build_jobs: int
    source_date_epoch: int = 315532800
    network: Isolation = NetworkPolicy(False, "not isolated (library default; the CLI isolates)")
    offline: bool = False
    unpack_limits: UnpackLimits = UnpackLimits()
    constraint_files: tuple[Path, ...] = ()
    run_id: str = "unnamed"  # which run wrote a record, an index entry, a report
    toolchain_env: Mapping[str, str] = field(default_factory=dict)  # what the variant's tools said of themselves (CUDA_HOME)

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

    def node_work_dir(self, spec: NodeSpec) -> Path:
        """``work/numpy-2.5.5-py3.12``: a node's work directory, named without the ``=`` of its id. Build tools put
        these paths on command lines, and `env PYTHONPATH=… /…/numpy==2.5.5/env/bin/python` reads the interpreter
        as one more assignment (numpy's meson build fails with `env: '-m': No such file or directory`)."""
        return self.work_dir / f"{spec.name}-{spec.version}-py{spec.python}"


@dataclass(frozen=True)
class Prepared:
    source_dir: Path
    identity: str  # the sdist's sha256 or the commit built
    patches: tuple[Patch, ...]
    crates: VendoredCrates | None
    build_system: BuildSystem
    extra: ProvidedSources = ProvidedSources({}, ())  # the recipe's extra sources: where the build finds them, what they were


@dataclass(frozen=True)
class Discovered:
    prepared: Prepared
    discover_key: str
    backend_requires: tuple[str, ...]


@dataclass(frozen=True)
class Learnt:
    """What prepare_metadata_for_build_wheel answered (None: the backend has no such hook), under the node's wheel key."""

    requires_dist: tuple[str, ...] | None
    key: str
    prepared: Prepared


@dataclass(frozen=True)
class InputWheel:
    path: Path
    sha256: str


@dataclass(frozen=True)
class Runtime:
    """A runtime requirement as the graph resolves it, with its wheel when it is already published."""

    name: str
    version: str
    wheel: Path | None
    sha256: str | None


@dataclass(frozen=True)
class Built:
    node: str
    wheel: Path
    sha256: str
    status: str  # built | cached | prebuilt | index | shared
    seconds: float
    requires_dist: tuple[str, ...]  # what the published wheel declares
    backend_requires_dist: tuple[str, ...]  # what the backend wrote, before the recipe's additions and drops
    facts_json: str = ""
    why: str = ""  # a rebuild's reason: which input of its key changed since its last build here


class Stages:
    """The stage functions, bound to one run's settings and services."""

    def __init__(self, settings: StageSettings, *, book: RecipeBook, repairer: Repairer, environments: EnvironmentFactory,
                 renames: Renames | None = None) -> None:
        self.s = settings
        self.book = book
        self.renames = renames or Renames()
        self.repairer = repairer
        self.environments = environments
        self.local = LocalIndex(settings.simple_dir)
        self.records = RecordStore(settings.state_dir)
        self._provenance: dict[str, tuple[tuple[ToolFacts, ...], tuple[FileFacts, ...]]] = {}  # read once, only if something builds

    def _provenance_inputs(self, interpreter: Interpreter) -> tuple[tuple[ToolFacts, ...], tuple[FileFacts, ...]]:
        from wheelwright.stages.provenance import build_toolchain, constraint_files

        key = str(interpreter.path)
        if key not in self._provenance:
            self._provenance[key] = (build_toolchain(interpreter, self.s.variant), constraint_files(self.s.constraint_files))
        return self._provenance[key]

    # ----- logs ----------------------------------------------------------------------------------

    @contextlib.contextmanager
    def log(self, spec: NodeSpec, *, fresh: bool = False) -> Iterator[IO[str]]:
        """Opened only when real work happens, so a cached node keeps the log of the build that made it.
        ``fresh``: the node's first step in this run starts the log over."""
        suffix = "" if len(self.s.interpreters) == 1 else f"-py{spec.python}"
        with open(self.s.logs_dir / f"{spec.name}-{spec.version}{suffix}.log", "w" if fresh else "a") as handle:
            yield handle

    # ----- prepare: fetch, unpack, patch, vendor crates, recipe prepare --------------------------

    def prepare(self, spec: NodeSpec, log: IO[str]) -> Prepared:
        archive, identity = fetch_source(to_distribution(spec.name, spec.version, spec.source), self.s.cache_dir, offline=self.s.offline)
        patches = find_patches(self.s.project.patches_dir, spec.name, Version(spec.version), self.s.variant.name, self.s.variant_names)
        if tuple((p.path.name, p.sha256) for p in patches) != spec.patches:
            raise BuildError(f"{spec.id}: its patches changed since the plan ({[p.path.name for p in patches]} vs {[n for n, _ in spec.patches]}); plan again")
        what = f"git tag {spec.source.git_ref} = commit {identity}" if spec.source.git_ref else f"sha256 {spec.source.sha256} verified"
        log.write(f"# {spec.id} from {spec.source.url}\n# {what}\n")
        work = self.s.node_work_dir(spec)
        shutil.rmtree(work, ignore_errors=True)
        tree = unpack_sdist(archive, work / "src", self.s.unpack_limits)
        apply_patches(patches, tree, log)
        extra = provide_extra_sources(spec.recipe.extra_sources, cache_dir=self.s.cache_dir, work=work, log=log, offline=self.s.offline,
                                          limits=self.s.unpack_limits)
        declared = read_build_system(tree, spec.id)  # how it builds, not any Cargo.toml in it, says whether cargo runs
        crates = vendor_crates(tree, self.s.cache_dir / "crates", work, log, requires=declared.requires, backend=declared.backend,
                               extra_requires=spec.recipe.added_build_requires, offline=self.s.offline)
        loaded = self.book.get(spec.name)
        ctx = self._context(spec, source_dir=tree, log=log)
        call_hook_safely(f"{spec.recipe.recipe or 'recipe'} prepare", lambda: loaded.prepare(ctx))
        build_system = read_build_system(tree, spec.id)
        if spec.build_system is not None and (build_system.requires, build_system.backend) != (spec.build_system, spec.backend):
            raise BuildError(f"{spec.id}: the prepared tree's [build-system] ({list(build_system.requires)}, {build_system.backend}) is not the "
                             f"plan's ({list(spec.build_system)}, {spec.backend}); a patch or recipe prepare changed it after planning", log.name)
        return Prepared(tree, identity, patches, crates, build_system, extra)

    def prepare_ahead(self, spec: NodeSpec) -> Prepared:
        """The prepare stage as a task of its own: it needs no build slot, so sources unpack while others build."""
        with self.log(spec, fresh=True) as log:
            return self.prepare(spec, log)

    # ----- discover: what the backend needs beyond [build-system] --------------------------------

    def discover(self, spec: NodeSpec, first: Sequence[InputWheel], prepared: Prepared | None = None) -> Discovered:
        with self.log(spec, fresh=prepared is None) as log:
            prepared = prepared or self.prepare(spec, log)
            env = self._environment(spec, prepared, first, log)
            requires = tuple(self._backend(spec, prepared, env, log).requires_for_wheel(spec.recipe.config()))
            log.write(f"# get_requires_for_build_wheel -> {list(requires)}\n")
        return Discovered(prepared, self._discover_key(spec, first), requires)

    def ask_metadata(self, spec: NodeSpec, first: Sequence[InputWheel], every: Sequence[InputWheel], prepared: Prepared | None) -> Learnt:
        """Nobody publishes its dependencies: ask its backend (prepare_metadata_for_build_wheel, in the full build
        environment) before spending a build on it, so the planner can check the plan first."""
        with self.log(spec, fresh=prepared is None) as log:
            prepared = prepared or self.prepare(spec, log)
            env = self._environment(spec, prepared, first, log)
            env.install([w.path for w in every if w not in first], log)
            answer = self._backend(spec, prepared, env, log).prepare_metadata(self.s.node_work_dir(spec) / "metadata", spec.recipe.config())
            log.write(f"# prepare_metadata_for_build_wheel -> {answer}\n")
        return Learnt(tuple(answer) if answer is not None else None, self._wheel_key(spec, first, every), prepared)

    # ----- build: backend, repair, recipe requirements, verify, SBOM, publish ---------------------

    def build(self, spec: NodeSpec, first: Sequence[InputWheel], every: Sequence[InputWheel], runtime: Callable[[Sequence[str]], list[Runtime]],
              prepared: Prepared | None = None, forced: bool = False, installs: Callable[[Sequence[Runtime]], frozenset[str]] | None = None) -> Built:
        """``runtime`` resolves a wheel's Requires-Dist the way the graph does, for its SBOM (and to tell a stale cached SBOM).
        ``prepared``: the tree an earlier step of this run unpacked (else it is prepared here). ``installs``: every
        project the resolved Requires-Dist pulls in (the graph's install closure), which must bring the libraries left outside."""
        started = time.monotonic()
        key = self._wheel_key(spec, first, every)
        record = None if forced else self.records.get("wheel", key)
        if record is not None and "facts" in record and record.get("runtime") == {r.name: r.version for r in runtime(record["requires_dist"])}:
            wheel = self.s.simple_dir / record["path"]
            if wheel.is_file() and sha256_file(wheel) == record["sha256"]:
                self._ensure_sbom(wheel.name, record)
                return Built(spec.id, wheel, record["sha256"], "cached", time.monotonic() - started, tuple(record["requires_dist"]),
                             tuple(record.get("backend_requires_dist", record["requires_dist"])), record["facts"])
        why = why_rebuilt(self.records, spec.name, spec.python, inputs := node_inputs(spec, self.s.variant, self.s.source_date_epoch, every))
        with self.log(spec, fresh=prepared is None) as log:
            log.write(f"# rebuilt: {why}\n")
            prepared = prepared or self.prepare(spec, log)
            env = self._environment(spec, prepared, first, log)
            env.install([w.path for w in every if w not in first], log)
            backend = self._backend(spec, prepared, env, log)
            work = self.s.node_work_dir(spec)
            raw = backend.build_wheel(work / "dist", spec.recipe.config())
            require_planned_identity(raw, spec.name, spec.version, getattr(log, "name", None))
            repaired = self.repairer.repair(raw, work / "repaired", log)
            log.write(f"# repaired: {repaired.platform_tag or 'pure, unchanged'}; grafted {[g.soname for g in repaired.grafted]}; external {list(repaired.external)}\n")
            backend_requires = tuple(wheel_requires_dist(repaired.wheel))
            repaired = self._recipe_requirements(spec, repaired, work, log)
            requires_dist = tuple(wheel_requires_dist(repaired.wheel))
            payload = self._verify(spec, repaired.wheel, log)
            resolved = runtime(requires_dist)
            require_provided(repaired.wheel.name, repaired.external, build_env=[w.path for w in every], system=self.s.variant.system_runtime,
                             requires=installs(resolved) if installs else frozenset(canonicalize_name(r.name) for r in resolved),
                             variant=self.s.variant.label, log_path=getattr(log, "name", None))
            facts_json, published, sbom = self._sbom_and_publish(spec, prepared, repaired, every, resolved, payload, work, key)
            log.write(f"# published {published} with its SBOM\n")
        from wheelwright.stages.provenance import facts_from_json

        sha = facts_from_json(facts_json).wheel_sha256
        self.records.put("wheel", key, {"path": str(published.relative_to(self.s.simple_dir)), "sha256": sha,
                                        "requires_dist": list(requires_dist), "backend_requires_dist": list(backend_requires),
                                        "runtime": {r.name: r.version for r in resolved}, "facts": facts_json,
                                        "sbom_sha256": hashlib.sha256(sbom).hexdigest()})
        shutil.rmtree(work, ignore_errors=True)
        remember_inputs(self.records, spec.name, spec.python, inputs)
        return Built(spec.id, published, sha, "built", time.monotonic() - started, requires_dist, backend_requires, facts_json, why)

    def _discover_key(self, spec: NodeSpec, first: Sequence[InputWheel]) -> str:
        return discover_key(_required(spec.source_key, spec), [w.sha256 for w in first])

    def _wheel_key(self, spec: NodeSpec, first: Sequence[InputWheel], every: Sequence[InputWheel]) -> str:
        """The key the planner computes from recorded wheels, here from the wheels this build really installs."""
        return wheel_key(self._discover_key(spec, first), [w.sha256 for w in every])

    def _recipe_requirements(self, spec: NodeSpec, repaired: Any, work: Path, log: IO[str]) -> Any:
        """The recipe's added and dropped runtime requirements go into the wheel's own METADATA, so that
        `pip install` from our index installs what the plan says."""
        from wheelwright.stages.wheelfile import rewrite_requires_dist

        moved = [(req.name, str(renamed(req, self.renames.current(req.name)))) for req in map(Requirement, wheel_requires_dist(repaired.wheel))
                   if self.renames.current(req.name) != canonicalize_name(req.name)]  # aiter -> amd-aiter: our index has the new name only
        add = (*spec.recipe.added_requires, *(new for _, new in moved))
        drop = (*spec.recipe.dropped_requires, *(old for old, _ in moved))
        if not add and not drop:
            return repaired
        target = work / "requires" / repaired.wheel.name
        target.parent.mkdir(parents=True, exist_ok=True)
        final = rewrite_requires_dist(repaired.wheel, target, add=add, drop=drop)
        log.write(f"# {spec.recipe.recipe or 'renames'}: Requires-Dist now {list(final)}\n")
        return replace(repaired, wheel=target) if target.exists() else repaired

    def _verify(self, spec: NodeSpec, wheel: Path, log: IO[str]) -> tuple[str, ...]:
        """After repair, before anything is published: the libraries the recipe wants linked, and the kernels the variant needs, inside."""
        require_links(wheel, dict(spec.recipe.links), spec.recipe.ships, recipe=spec.recipe.recipe, variant=self.s.variant.label, log=log)
        declared = dict(spec.recipe.kernels)
        if not self.s.variant.gpu_payload.requires_kernels and not declared:
            return ()
        from wheelwright.stages.verify import verify_wheel

        verdict = verify_wheel(wheel, self.s.variant, declared)
        log.write("# verify: " + ("; ".join(verdict.summary()) or "no GPU code, none required") + "\n")
        if not verdict.ok:
            raise VerificationFailed(verdict.message(self.s.variant.gpu_payload), log.name)
        return verdict.summary()

    def _sbom_and_publish(self, spec: NodeSpec, prepared: Prepared, repaired: Any, every: Sequence[InputWheel],
                          runtime: Sequence[Runtime], payload: tuple[str, ...], work: Path, key: str) -> tuple[str, Path, bytes]:
        from wheelwright.stages.provenance import facts_to_json, gather, runtime_components
        from wheelwright.stages.sbom import SourceFacts, finalize_wheel

        source = (SourceFacts.git(spec.source.url, prepared.identity, spec.source.git_ref) if spec.source.git_ref
                  else SourceFacts(kind="local", url=Path(spec.source.local_path).as_uri(), sha256=spec.source.sha256) if spec.source.local_path
                  else SourceFacts.sdist(spec.source.url, spec.source.sha256 or ""))
        components = runtime_components(runtime, self.s.variant.label)
        toolchain, constraints = self._provenance_inputs(self.s.interpreters[spec.python])
        why = None
        for _ in range(8):  # each pass may move it to a build tag: its name is in its SBOM, so the SBOM is made again
            facts = gather(name=spec.name, version=spec.version, variant=self.s.variant, source=source, patches=prepared.patches,
                           project_root=self.s.project.root, build_wheels=[(w.path, w.sha256) for w in sorted(every, key=lambda w: w.path)],
                           toolchain=toolchain, constraints=constraints,
                           repaired=repaired, runtime=components, former_names=spec.former_names, source_date_epoch=self.s.source_date_epoch,
                           gpu_payload=payload, crates=prepared.crates.crates if prepared.crates else (), extra_sources=prepared.extra.facts)
            final, facts, published_sbom = finalize_wheel(facts, repaired.wheel, work / "final" / repaired.wheel.name)
            name, differs = self.local.free_name(final.name, facts.wheel_sha256)
            if name == final.name:
                break
            why = why or self._why_other_bytes(differs or name, key, every)
            tag = int(name[:-4].split("-")[2])
            repaired = replace(repaired, wheel=set_build_tag(repaired.wheel, work / "tagged" / name, tag))
        else:
            raise BuildError(f"{spec.id}: no stable build-tagged name for {final.name}")
        entry = self.index_entry(spec, key, "built", every=every, payload=payload, sbom=final.name, runtime=runtime,
                                 license=facts.license.expression if facts.license else None,
                                 build_tag={"tag": final.name[:-4].split("-")[2], "why": why} if why else None)
        published = self.local.publish(final, entry, self.s.variant.label)
        self.write_sbom(published.name, published_sbom)
        return facts_to_json(facts), published, published_sbom

    def _why_other_bytes(self, published: str, key: str, every: Sequence[InputWheel]) -> str:
        """Why a rebuilt wheel is not the published file of the same name: which build input moved."""
        entry = self.local.manifest().get(published, {})
        before, after = set(entry.get("build_environment", ())), {w.path.name for w in every}
        if entry and before != after:
            return (f"{published} was built with {', '.join(sorted(before - after)) or 'nothing else'}; "
                    f"this build had {', '.join(sorted(after - before)) or 'nothing else'}")
        if entry.get("cache_key") and entry.get("cache_key") != key:
            return f"{published} had other build inputs (source, patches, recipe or settings: cache key {entry['cache_key'][:12]})"
        return f"{published} holds other bytes from the same inputs: the build is not reproducible"

    def index_entry(self, spec: NodeSpec, key: str | None, status: str, *, every: Sequence[InputWheel] = (), payload: Sequence[str] = (),
                    sbom: str | None = None, license: str | None = None, build_tag: Mapping[str, str] | None = None,
                    runtime: Sequence[Runtime] = ()) -> dict[str, Any]:
        """What the index manifest records for a wheel: enough to say where it came from without this run's files."""
        return {"node": spec.id, "project": spec.name, "version": spec.version, "python": spec.python, "status": status,
                "cache_key": key, "run": self.s.run_id, "build_environment": sorted(w.path.name for w in every),
                "runtime": {r.name: r.version for r in runtime},
                "source": {"kind": spec.source.kind, "url": spec.source.url, "sha256": spec.source.sha256 or spec.source.git_commit,
                           **({"path": spec.source.local_path} if spec.source.local_path else {})},
                "patches": [{"file": name, "sha256": sha} for name, sha in spec.patches],
                "sbom": os.path.relpath(self.s.sbom_dir / f"{sbom}.cdx.json", self.s.output_dir) if sbom else None, "license": license, "gpu_payload": list(payload),
                **({"build_tag": dict(build_tag)} if build_tag else {})}

    # ----- environments --------------------------------------------------------------------------

    def _context(self, spec: NodeSpec, *, source_dir: Path, log: IO[str]) -> RecipeContext:
        return context(spec.name, Version(spec.version), self.s.variant, spec.python, jobs=self.s.build_jobs, network=self.s.network,
                       source_dir=source_dir, log=log, pins=self.book.pins(self.s.variant))

    def build_environment_variables(self, spec: NodeSpec, prepared: Prepared) -> dict[str, str]:
        """Variant env, then the per-build parallelism budget, then the recipe's env (it may lower the budget), then crates."""
        budget = {name: str(self.s.build_jobs) for name in PARALLELISM_VARIABLES}
        budget |= {"MAKEFLAGS": f"-j{self.s.build_jobs}", "NINJAFLAGS": f"-j{self.s.build_jobs}"}
        crates = prepared.crates.env() if prepared.crates else {}
        declared = self.book.get(spec.name).recipe.source_for(self.s.variant.name) if spec.source.kind == "git" else None
        tag = declared.build_variables(spec.name, spec.version, prepared.identity) if isinstance(declared, GitSource) else {}
        chosen = {**self.s.toolchain_env, **self.s.variant.env, **tag, **budget, **dict(spec.recipe.env), **prepared.extra.env, **crates}
        prefix = self.s.interpreters[spec.python].path.resolve().parent.parent if spec.python in self.s.interpreters else None
        return scrubbed_environment({**chosen, **compiler_path_maps(self.s.work_dir, chosen, prefix), "SOURCE_DATE_EPOCH": str(self.s.source_date_epoch)})

    def _environment(self, spec: NodeSpec, prepared: Prepared, first: Sequence[InputWheel], log: IO[str]) -> BuildEnvironment:
        """The node's build environment with its build-system wheels; one an earlier step of this run made is
        reused (prepare empties the node's work directory, so what is there is this run's)."""
        env_dir = self.s.node_work_dir(spec) / "env"
        variables = self.build_environment_variables(spec, prepared)
        if env_dir.is_dir():
            return self.environments.open(env_dir, variables)
        log_environment(variables, log)  # once per log: a reused environment was made (and logged) by an earlier step of this log
        env = self.environments.create(env_dir, self.s.interpreters[spec.python].path, variables, log)
        env.install([w.path for w in first], log)
        return env

    def _backend(self, spec: NodeSpec, prepared: Prepared, env: BuildEnvironment, log: IO[str]) -> Backend:
        variables = self.build_environment_variables(spec, prepared)
        variables["PATH"] = f"{env.bin_dir}{os.pathsep}{variables.get('PATH', os.defpath)}"
        brought = build_env_paths(self.s.variant.build_env_paths, env.site_packages, variables)
        log.writelines(f"# from the build environment's wheels: {key}={value}\n" for key, value in sorted(brought.items()))
        variables |= brought
        return Backend(prepared.source_dir, prepared.build_system, env.python, variables, log, spec.id, self.s.network)

    # ----- SBOMs beside the index ----------------------------------------------------------------

    def write_sbom(self, wheel_name: str, sbom: bytes) -> None:
        path = self.s.sbom_dir / f"{wheel_name}.cdx.json"
        if not path.exists() or path.read_bytes() != sbom:
            atomic_write_bytes(path, sbom)

    def _ensure_sbom(self, wheel_name: str, record: Mapping[str, Any]) -> None:
        """A cached wheel's published SBOM is regenerated (deterministically) only if it is missing or changed."""
        path = self.s.sbom_dir / f"{wheel_name}.cdx.json"
        if path.is_file() and sha256_file(path) == record.get("sbom_sha256"):
            return
        from wheelwright.stages.provenance import facts_from_json
        from wheelwright.stages.sbom import wheel_sbom

        self.write_sbom(wheel_name, wheel_sbom(facts_from_json(record["facts"])))


def _required(value: str | None, spec: NodeSpec) -> str:
    if value is None:
        raise BuildError(f"{spec.id}: the plan has no source key for it (its source was not read); plan again with the network")
    return value
