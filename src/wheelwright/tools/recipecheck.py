"""``wheelwright recipe check``: hold each recipe to the upstream source it is for, at the versions the constraints pin.

A recipe is written once from a reading of setup.py; upstream moves on. Two mistakes build without an error and
ship a wrong wheel: a setting the build never reads (the switch was renamed; the CPU-only fallback builds
silently), and a kernels pattern that matches no module (verify then holds nothing to account). Both are checked
against the real source and the real wheel's module list, per variant row and pinned version.
"""

from __future__ import annotations

import argparse
import fnmatch
import http.client
import io
import json
import sys
import tempfile
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Literal, TypeVar

from packaging.requirements import Requirement
from packaging.utils import InvalidWheelFilename, canonicalize_name, parse_wheel_filename
from packaging.version import Version

from wheelwright.config.constraints import Constraints, load_constraints
from wheelwright.config.project import Project
from wheelwright.config.variants import PayloadKind, Variant, VariantSpec, select_variant
from wheelwright.errors import ConfigError, OfflineMiss, WheelwrightError
from wheelwright.suggest import did_you_mean
from wheelwright.fsutil import atomic_write_bytes
from wheelwright.plan.buildsystem import read_build_system
from wheelwright.plan.candidates import choose_sdist
from wheelwright.plan.published import read_release_metadata
from wheelwright.plan.sourcerefs import declared_source, to_distribution
from wheelwright.recipes.api import Source, recipe_names
from wheelwright.recipes.book import RecipeBook, context
from wheelwright.recipes.decisions import RecipeDecisions
from wheelwright.remote.index import PYPI_SIMPLE, IndexFile, SimpleJsonIndex, default_cache_dir
from wheelwright.remote.lazywheel import _RangeFile
from wheelwright.remote.sources import fetch_source, unpack_sdist
from wheelwright.tools.buildreads import BuildFiles, read_build_files
from wheelwright.tools.lint import Target

PYTHON = "3.11"  # the interpreter hooks are evaluated for and markers are read for
_TARGET = Target(PYTHON, "Linux", "x86_64")
_NO_CONSTRAINTS = Constraints({}, ())
_T = TypeVar("_T")


@dataclass(frozen=True)
class Item:
    """One line of the report: a finding (the recipe is wrong) or a check that could not be made (not a finding)."""

    recipe: str  # recipes/<name>.py
    kind: Literal["finding", "not checked"]
    text: str

    def render(self) -> str:
        return self.text if self.kind == "finding" else f"{self.recipe}: not checked: {self.text}"


@dataclass(frozen=True)
class CheckReport:
    """Every item, grouped by recipe in the order checked, and what was covered."""

    recipes: int
    versions: int
    items: tuple[Item, ...]

    @property
    def findings(self) -> tuple[Item, ...]:
        return tuple(i for i in self.items if i.kind == "finding")

    def render(self) -> str:
        lines = [i.render() for i in self.items]
        lines.append(f"{self.recipes} recipes, {self.versions} versions checked, {len(self.findings)} findings")
        return "\n".join(lines)


@dataclass(frozen=True)
class Modules:
    """The shared objects of one wheel, read from its zip directory."""

    wheel: str
    members: tuple[str, ...]


class _Sources:
    """Sources and wheels, each fetched and read once per run whatever number of rows pin it; failures are remembered as reasons."""

    def __init__(self, project: Project, index: SimpleJsonIndex, cache_dir: Path, offline: bool) -> None:
        self.project, self.index, self.cache_dir, self.offline = project, index, cache_dir, offline
        self._files: dict[tuple[str, Version, tuple[str, ...], str], BuildFiles | str] = {}
        self._upstream: dict[tuple[str, Version], Modules | str] = {}

    def build_files(self, book: RecipeBook, name: str, version: Version, extra_requires: tuple[str, ...], family: str) -> BuildFiles | str:
        declared = book.get(name).recipe.source_for(family)
        key = (name, version, extra_requires, repr(declared))
        if key not in self._files:
            self._files[key] = _reason(lambda: self._read_source(declared, name, version, extra_requires))
        return self._files[key]

    def _read_source(self, declared: Source | None, name: str, version: Version, extra_requires: tuple[str, ...]) -> BuildFiles:
        requirement = Requirement(f"{name}=={version}")
        if declared is None:
            dist = choose_sdist(requirement, _NO_CONSTRAINTS, self.index, PYTHON)
        else:
            dist = to_distribution(name, str(version), declared_source(requirement, declared, _NO_CONSTRAINTS)[1])
        archive, _ = fetch_source(dist, self.cache_dir, offline=self.offline)  # sha256 (or pinned commit) verified
        with tempfile.TemporaryDirectory(prefix="ww-recipe-check-") as scratch:
            tree = unpack_sdist(archive, Path(scratch) / "src")
            label = f"{name} {version}"
            return read_build_files(tree, label, (*read_build_system(tree, label).requires, *extra_requires))

    def published_requires(self, name: str, version: Version) -> tuple[str, ...] | str:
        """The Requires-Dist upstream publishes for that release (its Linux wheel's METADATA, else a static PKG-INFO), or why not."""
        def read() -> tuple[str, ...] | str:
            files = [f for f in self.index.files(name) if f.version == version]
            metadata, why = read_release_metadata(self.index, files, wheel_rank=_TARGET.wheel_rank, sdist_cache=self.cache_dir / "sdists")
            return metadata.requires_dist if metadata is not None else f"no published metadata of {name} {version}: {why}"

        result = _reason(read)
        return result if isinstance(result, (tuple, str)) else tuple(result)

    def modules(self, name: str, version: Version, variant: Variant) -> Modules | str:
        """Upstream's own linux x86_64 wheel (cuda only: PyPI's wheels are CUDA builds), else one we built."""
        upstream: Modules | str = ""
        if variant.gpu_payload is PayloadKind.CUDA:
            if (name, version) not in self._upstream:
                self._upstream[(name, version)] = _reason(lambda: self._upstream_modules(name, version))
            if isinstance(upstream := self._upstream[(name, version)], Modules):
                return upstream
        why = f" ({upstream})" if upstream else ""
        return self._own_modules(name, version, variant.label) or f"{variant.label}: no wheel of {name} {version} to read its modules{why}"

    def _upstream_modules(self, name: str, version: Version) -> Modules:
        wheels = [f for f in self.index.files(name) if f.is_wheel and f.version == version and _linux_x86_64(f)]
        if not wheels:
            raise WheelwrightError(f"the index has no linux x86_64 wheel of {name} {version}")
        wheel = max(wheels, key=lambda f: (_TARGET.wheel_rank(f), f.filename))
        cached = self.cache_dir / "wheel-modules" / wheel.sha256[:2] / f"{wheel.sha256}.json"
        try:
            return Modules(wheel.filename, tuple(json.loads(cached.read_text())))
        except (OSError, ValueError):
            if self.offline:
                raise OfflineMiss(f"{wheel.filename}: its module list is not in the local cache ({cached})") from None
        try:  # the zip directory only, by HTTP range requests: a 900 MB wheel costs a few requests
            with zipfile.ZipFile(io.BufferedReader(_RangeFile(wheel.url, 60.0), buffer_size=1 << 16)) as remote:
                members = tuple(n for n in remote.namelist() if _shared_object(n))
        except (OSError, http.client.HTTPException, zipfile.BadZipFile) as exc:
            raise WheelwrightError(f"{wheel.filename}: cannot read its zip directory remotely: {exc}") from None
        atomic_write_bytes(cached, json.dumps(members).encode())
        return Modules(wheel.filename, members)

    def _own_modules(self, name: str, version: Version, label: str) -> Modules | None:
        """A wheel of ours from build/<label>/simple/<name>/, this row's first, then any other output's."""
        simple = sorted(self.project.root.glob(f"build/*/simple/{name}/*.whl"), key=lambda p: (p.parents[2].name != label, str(p)))
        for path in simple:
            try:
                parsed = parse_wheel_filename(path.name)
                if canonicalize_name(parsed[0]) != name or parsed[1] != version:
                    continue
                with zipfile.ZipFile(path) as wheel:
                    return Modules(path.name, tuple(n for n in wheel.namelist() if _shared_object(n)))
            except (InvalidWheelFilename, OSError, zipfile.BadZipFile):
                continue
        return None


def _reason(function: Callable[[], _T]) -> _T | str:
    """The value, or why it could not be had (a source out of reach is a check not made, not a crash)."""
    try:
        return function()
    except WheelwrightError as exc:
        return str(exc)


def _linux_x86_64(wheel: IndexFile) -> bool:
    return any(t.platform.startswith(("manylinux", "linux_")) and t.platform.endswith("_x86_64") for t in wheel.tags)


def _shared_object(member: str) -> bool:
    base = member.rsplit("/", 1)[-1]
    return base.endswith(".so") or ".so." in base


def check_recipes(project: Project, variants: dict[str, VariantSpec], *, packages: list[str], family: str | None,
                  index: SimpleJsonIndex, cache_dir: Path, offline: bool = False) -> CheckReport:
    """Check each recipe (or those of ``packages``) for each variant row it applies to (or ``family``'s) and each pinned version."""
    known = recipe_names(project.recipes_dir)
    if unknown := [p for p in packages if canonicalize_name(p) not in known]:
        hint = did_you_mean(canonicalize_name(unknown[0]), known)
        raise ConfigError(f"no recipe for {', '.join(unknown)}{hint} in {project.recipes_dir} (recipes: {', '.join(known)})")
    if family is not None:
        select_variant(variants, family)  # an unknown family: the usual error, naming the known ones
    book = RecipeBook(project.recipes_dir, frozenset(variants), lambda v: _row_constraints(project, v).exact_pins())
    sources = _Sources(project, index, cache_dir, offline)
    names = [canonicalize_name(p) for p in dict.fromkeys(packages)] or known
    items: list[Item] = []
    checked = 0
    for name in names:
        loaded = book.get(name)
        where = f"recipes/{loaded.path.name if loaded.path else name}"
        for spec in variants.values():
            if (family is not None and spec.name != family) or not loaded.applies(spec.name):
                continue
            rows = sorted(spec.versions, key=lambda v: v != spec.default_version) if spec.versions else [None]
            for row in rows:
                variant = select_variant(variants, spec.name, row)
                if variant.takes_prebuilt(name):
                    items.append(Item(where, "not checked", f"{variant.label} takes {name} as a prebuilt vendor wheel: the recipe is not used there"))
                    continue
                if loaded.recipe.prebuilt:
                    items.append(Item(where, "not checked", f"{variant.label}: the recipe does not build {name} from source ({loaded.recipe.prebuilt})"))
                    continue
                pins, why = _pins(project, variant, name, sources, loaded.recipe.source_for(variant.name) is None)
                if not pins:
                    items.append(Item(where, "not checked", why))
                for version in pins:
                    found, made = _check_version(book, sources, where, name, version, variant)
                    items += found
                    checked += made
    return CheckReport(len(names), checked, tuple(items))


def _pins(project: Project, variant: Variant, name: str, sources: _Sources, from_index: bool) -> tuple[list[Version], str]:
    """The versions the row's constraints (nested -c included) pin with ``==`` for ``name``, on Linux x86_64 and CPython 3.11;
    under a range (vllm>=0.20,<0.27) the newest sdist on the index it allows, which is what a build would take. Else why none."""
    constraints = _row_constraints(project, variant).for_target(_TARGET.environment())
    pins = {Version(s.version) for c in constraints.lines_for(name) for s in c.specifier if s.operator == "==" and "*" not in s.version}
    specifier = constraints.specifier_for(name)
    if pins or not str(specifier):
        return sorted(pins), f"{variant.label} pins no version of {name}"
    if not from_index:
        return [], f"{variant.label} constrains {name} to {specifier}, and its recipe's source has no index to pick the newest from"
    newest = _reason(lambda: choose_sdist(Requirement(f"{name}{specifier}"), _NO_CONSTRAINTS, sources.index, PYTHON).version)
    return ([newest], "") if isinstance(newest, Version) else ([], f"{variant.label}: {name}{specifier}: {newest}")


def _row_constraints(project: Project, variant: Variant) -> Constraints:
    return load_constraints([project.constraints_dir / c for c in variant.constraints])


def _check_version(book: RecipeBook, sources: _Sources, where: str, name: str, version: Version, variant: Variant) -> tuple[list[Item], bool]:
    """The items for one pinned version in one row, and whether anything about it was checked."""
    label, items, made = variant.label, [], False
    try:
        decisions = book.decisions(name, version, variant, PYTHON)
    except ConfigError as exc:  # the recipe cannot decide this row (a pin it needs, a version it does not know): a finding
        return [Item(where, "finding", f"{where} cannot decide {name} {version} for {label}: {exc}")], True
    settings = ([(f"sets {key}", key) for key, _ in decisions.env] + [(f"passes config setting {key!r}", key) for key in decisions.config() or {}]
                + [(f"points {key} at extra source {extra.name}", key) for extra in decisions.extra_sources for key in extra.env])
    if settings:
        files = sources.build_files(book, name, version, decisions.added_build_requires, variant.name)
        if isinstance(files, str):
            items.append(Item(where, "not checked", f"{label}: {files}"))
        else:
            made = True
            items += [Item(where, "finding", f"{where} {what} for {label}, which {why}") for what, key in settings if (why := files.unread(key))]
    patterns = _kernel_patterns(decisions)
    if patterns:
        modules = sources.modules(name, version, variant)
        if isinstance(modules, str):
            items.append(Item(where, "not checked", modules))
        else:
            made = True
            items += [Item(where, "finding", f"{where} declares kernels in {p} for {label}; no module of {modules.wheel} matches (its modules: {_listed(modules.members)})")
                      for p in patterns if not any(fnmatch.fnmatch(m, p) for m in modules.members)]
    unexplained = [p for p, why in _drop_reasons(book, name, version, variant).items() if not why]
    if unexplained:
        published = sources.published_requires(name, version)
        if isinstance(published, str):
            items.append(Item(where, "not checked", f"{label}: {published}"))
        else:
            made = True
            items += [Item(where, "finding", f"{where} drops {r!r} (upstream {name} {version}'s METADATA) for {label} without a reason "
                                             f"(return {{pattern: reason}} from drop_requires)")
                      for r in published if any(fnmatch.fnmatch(canonicalize_name(Requirement(r).name), p) for p in unexplained)]
    return items, made or not (settings or patterns or unexplained)


def _drop_reasons(book: RecipeBook, name: str, version: Version, variant: Variant) -> dict[str, str]:
    return book.get(name).drop_reasons(context(name, version, variant, PYTHON, pins=book.pins(variant)))


def _kernel_patterns(decisions: RecipeDecisions) -> list[str]:
    return [pattern for pattern, _ in decisions.kernels if pattern != "*"]  # "*": every module, which any wheel has or verify refuses


def _listed(members: tuple[str, ...], most: int = 12) -> str:
    shown = ", ".join(members[:most]) or "none"
    return shown + (f", and {len(members) - most} more" if len(members) > most else "")


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    recipe = sub.add_parser("recipe", help="work on recipes")
    commands = recipe.add_subparsers(dest="recipe_command", required=True)
    check = commands.add_parser("check", help="check recipes against upstream's source and wheels at the pinned versions")
    check.add_argument("packages", nargs="*", metavar="PKG", help="default: every recipe")
    check.add_argument("--variant", metavar="FAMILY", help="only this variant family (default: every family each recipe applies to)")
    check.add_argument("--cache-dir", type=Path, help="downloads (default: ~/.cache/wheelwright); shared with builds")
    check.add_argument("--index-url", default=PYPI_SIMPLE)
    check.add_argument("--offline", action="store_true", help="index pages, sources and module lists from the local cache only")
    new = commands.add_parser("new", help="scaffold recipes/<pkg>.py: every hook shown, none active (docs/recipes.md)")
    new.add_argument("package", metavar="PKG")


def run(args: argparse.Namespace, project: Project, variants: dict[str, VariantSpec]) -> int:
    """Exit 1 on any finding, 2 on a configuration error (unknown PKG or --variant), else 0."""
    if args.recipe_command == "new":
        from wheelwright.tools.recipenew import new_recipe

        try:
            print(f"written: {new_recipe(project.recipes_dir, args.package)}")
        except ConfigError as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 2
        return 0
    cache_dir = (args.cache_dir or default_cache_dir()).resolve()
    try:
        report = check_recipes(project, variants, packages=args.packages, family=args.variant,
                               index=SimpleJsonIndex(args.index_url, cache_dir / "index", offline=args.offline), cache_dir=cache_dir, offline=args.offline)
    except ConfigError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(report.render())
    return 1 if report.findings else 0
