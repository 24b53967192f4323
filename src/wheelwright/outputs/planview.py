"""`wheelwright plan`'s view: the build graph as ordered builds, with the toolchain this machine has.
It works on a machine with no GPU toolchain and without reaching sources that live off PyPI, and says
plainly what it could not check."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field

from wheelwright.config.toolchain import check_toolchain
from wheelwright.config.variants import Variant
from wheelwright.plan.graph import BuildGraph, NodeSpec


@dataclass(frozen=True)
class PlannedBuild:
    name: str
    version: str
    source: str
    source_sha256: str | None
    patches: tuple[str, ...]
    env: dict[str, str]
    config_settings: dict[str, object] | None
    kernels: tuple[str, ...]
    requires: tuple[str, ...]
    metadata: str
    unchecked: tuple[str, ...] = ()
    node: str = ""
    build_requires: tuple[str, ...] = ()  # build-system and build-backend edges, as the graph has them
    cache_key: str | None = None
    links: tuple[str, ...] = ()  # module: the libraries it must link
    extra_sources: tuple[str, ...] = ()  # fetched and verified before the build


@dataclass(frozen=True)
class ToolRow:
    name: str
    required: str
    found: str | None
    ok: bool
    detail: str


@dataclass(frozen=True)
class BuildPlan:
    variant: str
    requested: tuple[str, ...]
    packages: tuple[PlannedBuild, ...]
    toolchain: tuple[ToolRow, ...]
    toolchain_needed: bool
    builder_image: str
    notes: tuple[str, ...] = field(default_factory=tuple)

    def to_json(self) -> str:
        return json.dumps(asdict(self), indent=1, default=str)

    def render(self) -> str:
        lines = [f"plan for {', '.join(self.requested)} on {self.variant}: {len(self.packages)} packages, dependencies first"]
        for number, package in enumerate(self.packages, 1):
            lines.append(f"{number:3}. {package.name} {package.version}")
            lines.append(f"       source: {package.source}" + (f" sha256 {package.source_sha256}" if package.source_sha256 else ""))
            if package.patches:
                lines.append(f"       patches: {', '.join(package.patches)}")
            if package.env:
                lines.append("       env: " + " ".join(f"{k}={v}" for k, v in sorted(package.env.items())))
            if package.config_settings:
                lines.append(f"       config settings: {package.config_settings}")
            if package.kernels:
                lines.append(f"       must carry kernels: {', '.join(package.kernels)}")
            if package.links:
                lines.append(f"       must link: {'; '.join(package.links)}")
            lines += [f"       extra source: {extra}" for extra in package.extra_sources]
            if package.build_requires:
                lines.append(f"       builds with: {', '.join(package.build_requires)}")
            lines.append(f"       dependencies from: {package.metadata}")
            lines += [f"       NOT CHECKED: {note}" for note in package.unchecked]
        lines.append(f"toolchain for {self.variant}" + ("" if self.toolchain_needed else " (no recipe in this plan needs it)") + ":")
        for tool in self.toolchain:
            lines.append(f"  {'ok     ' if tool.ok else 'MISSING'} {tool.detail}")
        if not self.toolchain:
            lines.append("  nothing beyond gcc and Python")
        if self.toolchain_needed and not all(t.ok for t in self.toolchain):
            lines.append(f"  -> this machine cannot build it; use the builder image {self.builder_image or '(none declared)'}")
        lines += [f"note: {note}" for note in self.notes]
        return "\n".join(lines)


def make_plan_view(graph: BuildGraph, *, variant: Variant, wheel_only: frozenset[str] = frozenset()) -> BuildPlan:
    """The build graph as a person reads it: builds in order, each with its source, patches and recipe decisions."""
    rows = []
    for node in _dependencies_first(graph):
        spec = graph.nodes[node]
        unchecked = [note.split(": ", 1)[1] for note in graph.notes if note.startswith((f"{spec.id}: ", f"{spec.name} {spec.version}: "))]
        source, sha = _source(spec, variant, wheel_only, unchecked)
        kernels = tuple(f"{pattern} ({','.join(archs)})" if archs else pattern for pattern, archs in spec.recipe.kernels)
        if spec.requires is None:
            unchecked.append(f"{spec.name}'s dependencies: no published metadata for {spec.version}")
        if spec.buildable and spec.backend_requires is None:
            unchecked.append("get_requires_for_build_wheel: answered by its backend during the build (on the frontier)")
        rows.append(PlannedBuild(
            name=spec.name, version=spec.version, source=source, source_sha256=sha, patches=tuple(n for n, _ in spec.patches),
            env={**variant.env, **dict(spec.recipe.env)} if spec.buildable else {}, config_settings=spec.recipe.config(), kernels=kernels,  # a vendor wheel is never built
            requires=tuple(spec.requires or ()),
            metadata=spec.metadata_origin or "not published: known only after its build (prepare_metadata_for_build_wheel)",
            unchecked=tuple(unchecked), node=spec.id,
            build_requires=tuple(f"{e.child} ({e.kind})" for e in graph.edges if e.parent == node and e.kind in ("build-system", "build-backend")),
            cache_key=spec.cache_key,
            links=tuple(f"{pattern} -> {', '.join(libs)}" for pattern, libs in spec.recipe.links) if spec.buildable else (),
            extra_sources=tuple(e.describe() for e in spec.recipe.extra_sources) if spec.buildable else (),
        ))
    statuses = check_toolchain(variant)
    needed = any(s.recipe.variant_specific for s in graph.nodes.values())
    frontier = graph.frontier()
    return BuildPlan(
        variant=variant.label, requested=graph.requested, packages=tuple(rows),
        toolchain=tuple(ToolRow(s.name, s.required, s.found, s.ok, s.describe()) for s in statuses),
        toolchain_needed=needed, builder_image=variant.builder_image,
        notes=((f"{len(frontier)} nodes on the frontier: their backends answer get_requires_for_build_wheel during the build, "
                "and the planner grows the graph with the answer",) if frontier else ())
        + ((f"{len(wheel_only)} packages have no source yet (PyPI wheels only): {', '.join(sorted(wheel_only))}",) if wheel_only else ()),
    )


def _dependencies_first(graph: BuildGraph) -> list[str]:
    """Every node after what it installs and what builds it: the order a person reads a stack in."""
    order: list[str] = []
    done: set[str] = set()

    def visit(node: str, trail: tuple[str, ...]) -> None:
        if node in done or node in trail:
            return
        for child in graph.children(node, ("install", "build-system", "build-backend")):
            visit(child, (*trail, node))
        done.add(node)
        order.append(node)

    for node in sorted(graph.nodes):
        visit(node, ())
    return order


def _source(spec: NodeSpec, variant: Variant, wheel_only: frozenset[str], unchecked: list[str]) -> tuple[str, str | None]:
    ref = spec.source
    if spec.name in wheel_only:
        unchecked.append(f"{spec.name} {spec.version} cannot be built from source until recipes/{spec.name.replace('-', '_')}.py declares a source")
        return "none: PyPI publishes only wheels; a recipe must declare its source (git tag or tarball)", None
    if ref.kind == "prebuilt" or variant.takes_prebuilt(spec.name):
        because = f" ({spec.recipe.prebuilt_because})" if spec.recipe.prebuilt_because else ""
        return f"prebuilt vendor wheel from {variant.prebuilt_index or '(no prebuilt_index declared)'}, used as-is{because}", ref.sha256
    if ref.kind == "git":
        if spec.build_system is None:
            unchecked.append(f"source not fetched: {ref.url} lives off PyPI" + ("" if ref.git_commit else "; its tag is not pinned to a commit"))
        return f"git {ref.url} tag {ref.git_ref}" + (f" commit {ref.git_commit}" if ref.git_commit else " (commit not pinned)"), None
    if ref.kind == "url":
        if spec.build_system is None:
            unchecked.append(f"source not fetched: {ref.url} lives off PyPI")
        return ref.url, ref.sha256
    if ref.kind == "local":
        return f"local {'directory' if ref.local_path and not ref.local_path.endswith(ref.filename) else 'sdist'} {ref.local_path}", ref.sha256
    if not ref.url:
        return "no source: PyPI has no sdist and no recipe declares one", None
    return f"PyPI sdist {ref.url}", ref.sha256
