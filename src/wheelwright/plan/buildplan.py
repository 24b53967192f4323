"""`wheelwright plan`: what a build would do, without building. It works on a machine with no GPU
toolchain and without reaching sources that live off PyPI, and says plainly what it could not check."""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path

from packaging.requirements import Requirement
from packaging.version import Version

from wheelwright.config.constraints import Constraints
from wheelwright.errors import ResolutionError
from wheelwright.remote.index import PackageIndex
from wheelwright.recipes.patches import find_patches
from wheelwright.plan.resolve import Plan
from wheelwright.recipes.api import GitSource, RecipeContext, UrlSource, call_hook_safely, load_recipe
from wheelwright.plan.candidates import choose_sdist
from wheelwright.config.toolchain import check_toolchain
from wheelwright.config.variants import Variant


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


def make_build_plan(plan: Plan, requested: Sequence[Requirement], *, variant: Variant, variant_names: frozenset[str],
                    constraints: Constraints, index: PackageIndex, project_root: Path, python_version: str,
                    wheel_only: frozenset[str] = frozenset()) -> BuildPlan:
    """Turn the resolver's plan into the ordered list of builds, with each recipe's settings for ``variant``."""
    recipes_dir = project_root / "recipes"
    rows = []
    for name in _dependencies_first(plan):
        package = plan.packages[name]
        loaded = load_recipe(recipes_dir, name)
        context = RecipeContext(name=name, version=package.version, variant=variant, python_version=python_version, source_dir=None, jobs=os.cpu_count() or 1)
        unchecked: list[str] = []
        if name in wheel_only:
            source, sha = "none: PyPI publishes only wheels; a recipe must declare its source (git tag or tarball)", None
            unchecked.append(f"{name} {package.version} cannot be built from source until recipes/{name.replace('-', '_')}.py declares a source")
        elif name in variant.prebuilt:
            source, sha = f"prebuilt vendor wheel from {variant.prebuilt_index or '(no prebuilt_index declared)'}, used as-is", None
            if package.origin is None:
                unchecked.append(f"{variant.prebuilt_index} could not be read from here")
        else:
            source, sha = _source(name, package.version, loaded.recipe.source, constraints, index, python_version, unchecked)
        env = {**variant.env, **call_hook_safely(f"recipes/{name}.py env", lambda: loaded.env(context))}
        rows.append(PlannedBuild(
            name=name, version=str(package.version), source=source, source_sha256=sha,
            patches=tuple(p.path.name for p in find_patches(project_root / "patches", name, package.version, variant.name, variant_names)),
            env=env,
            config_settings=call_hook_safely(f"recipes/{name}.py config_settings", lambda: loaded.config_settings(context)),
            kernels=tuple(f"{pattern} ({','.join(archs)})" if archs else pattern
                          for pattern, archs in call_hook_safely(f"recipes/{name}.py kernels", lambda: loaded.kernels(context)).items()),
            requires=package.requires,
            metadata=package.origin or "not published: known only after its build (prepare_metadata_for_build_wheel)",
            unchecked=tuple(unchecked + ([] if package.origin else [f"{name}'s dependencies: no published metadata for {package.version}"])),
        ))
    statuses = check_toolchain(variant)
    needed = any(load_recipe(recipes_dir, name).recipe.has_hooks_for(variant.name) for name in plan.packages)
    return BuildPlan(
        variant=variant.label, requested=tuple(str(r) for r in requested), packages=tuple(rows),
        toolchain=tuple(ToolRow(s.name, s.required, s.found, s.ok, s.describe()) for s in statuses),
        toolchain_needed=needed, builder_image=variant.builder_image,
        notes=("build requirements (setuptools, cmake, ninja…) are resolved when each sdist is unpacked; they are not listed here",)
        + ((f"{len(wheel_only)} packages have no source yet (PyPI wheels only): {', '.join(sorted(wheel_only))}",) if wheel_only else ()),
    )


def _source(name: str, version: Version, declared: GitSource | UrlSource | None, constraints: Constraints, index: PackageIndex,
            python_version: str, unchecked: list[str]) -> tuple[str, str | None]:
    if isinstance(declared, GitSource):
        commit = declared.commits.get(str(version))
        unchecked.append(f"source not fetched: {declared.url} lives off PyPI" + ("" if commit else "; its tag is not pinned to a commit"))
        return f"git {declared.url} tag {declared.ref(str(version))}" + (f" commit {commit}" if commit else " (commit not pinned)"), None
    if isinstance(declared, UrlSource):
        unchecked.append(f"source not fetched: {declared.url.format(version=version)} lives off PyPI")
        return declared.url.format(version=version), declared.sha256.get(str(version))
    try:
        sdist = choose_sdist(Requirement(f"{name}=={version}"), constraints, index, python_version)
    except ResolutionError as exc:
        unchecked.append(str(exc))
        return "no source: PyPI has no sdist and no recipe declares one", None
    return f"PyPI sdist {sdist.url}", sdist.sha256


def _dependencies_first(plan: Plan) -> list[str]:
    children: dict[str, set[str]] = {name: set() for name in plan.packages}
    for parent, child, _ in plan.edges:
        if parent in children and child in plan.packages:
            children[parent].add(child)
    order: list[str] = []
    done: set[str] = set()

    def visit(name: str, trail: tuple[str, ...]) -> None:
        if name in done or name in trail:
            return
        for child in sorted(children[name]):
            visit(child, (*trail, name))
        done.add(name)
        order.append(name)

    for name in sorted(plan.packages):
        visit(name, ())
    return order
