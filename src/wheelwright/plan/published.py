"""Dependencies as published, before anything is built: PEP 658 wheel metadata, else a static sdist
PKG-INFO (Metadata 2.2+, with `Dynamic` respected), else "only known after the build"."""

from __future__ import annotations

import email.parser
import fnmatch
import re
import tarfile
import zipfile
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Protocol

from packaging.requirements import InvalidRequirement, Requirement
from packaging.tags import Tag
from packaging.utils import canonicalize_name
from packaging.version import InvalidVersion, Version

from wheelwright.config.constraints import Constraints
from wheelwright.config.variants import Variant
from wheelwright.errors import ResolutionError, SourceError
from wheelwright.plan.graph import SourceRef
from wheelwright.recipes.api import LoadedRecipe
from wheelwright.plan.progress import PlanProgress
from wheelwright.recipes.book import RecipeBook
from wheelwright.remote.index import IndexFile, PackageIndex
from wheelwright.remote.sources import fetch_sdist


_EXTRA_IN_MARKER = re.compile(r"""extra\s*==\s*['"]([^'"]+)['"]""")


@dataclass(frozen=True)
class PublishedMetadata:
    requires_dist: tuple[str, ...]
    requires_python: str | None
    origin: str  # where it was read, for explanations and the plan
    kind: str = "METADATA"  # METADATA (a wheel's), PKG-INFO (an sdist's), or built
    provides_extra: tuple[str, ...] | None = None  # None: not stated where it was read

    def known_extras(self) -> frozenset[str] | None:
        """Provides-Extra, plus any extra a Requires-Dist marker names (metadata before 2.1 states only those)."""
        if self.provides_extra is None:
            return None
        named = {canonicalize_name(m) for line in self.requires_dist for m in _EXTRA_IN_MARKER.findall(line)}
        return frozenset({canonicalize_name(e) for e in self.provides_extra} | named)


@dataclass(frozen=True)
class Release:
    """One version the resolver may pick."""

    version: Version
    yanked: bool
    requires_python: str | None


class DirectRelease(Protocol):
    """A source given directly (name @ URL, a local path): its version and what it states about its dependencies."""

    @property
    def version(self) -> Version: ...

    @property
    def metadata(self) -> PublishedMetadata | None: ...

    @property
    def ref(self) -> SourceRef: ...


class MetadataSource(Protocol):
    """Everything the resolver learns about packages comes through here (real index or JSON fixture)."""

    def releases(self, name: str) -> list[Release]: ...

    def metadata(self, name: str, version: Version) -> PublishedMetadata | None: ...

    def why_unavailable(self, name: str) -> str: ...


class IndexMetadataSource:
    """Releases that have an sdist (we build from source), with metadata from the index."""

    def __init__(self, index: PackageIndex, sdist_cache: Path, tags: frozenset[Tag], offline: bool = False) -> None:
        self.offline = offline
        self.index = index
        self.sdist_cache = sdist_cache
        self.tags = tags

    def releases(self, name: str) -> list[Release]:
        try:
            files = self.index.files(name)
        except ResolutionError:
            return []
        by_version: dict[Version, list[IndexFile]] = {}
        for file in files:
            by_version.setdefault(file.version, []).append(file)
        return [
            Release(version, all(f.yanked for f in sdists), sdists[0].requires_python)
            for version, group in by_version.items()
            if (sdists := [f for f in group if not f.is_wheel])
        ]

    def why_unavailable(self, name: str) -> str:
        try:
            files = self.index.files(name)
        except ResolutionError as exc:
            return str(exc).split(": ", 1)[-1]
        if not any(not f.is_wheel for f in files):
            return "the index has no sdist for any version (wheels only); a recipe must declare its source"
        return "every sdist is yanked or excluded by Requires-Python"

    def metadata(self, name: str, version: Version) -> PublishedMetadata | None:
        files = [f for f in self.index.files(name) if f.version == version]
        return read_release_metadata(self.index, files, wheel_rank=self._rank, sdist_cache=self.sdist_cache, offline=self.offline)[0]

    def _rank(self, wheel: IndexFile) -> int:
        """A platform wheel for this machine states this machine's deps; a generic one comes second."""
        if not wheel.tags & self.tags:
            return 0
        return 1 if any(t.platform == "any" for t in wheel.tags) else 2


def read_release_metadata(index: PackageIndex, files: Sequence[IndexFile], *, wheel_rank: Callable[[IndexFile], int],
                          sdist_cache: Path, offline: bool = False) -> tuple[PublishedMetadata | None, str]:
    """One release's dependencies as published, or None and why: the best-fitting wheel's METADATA
    (``wheel_rank`` 0 means it does not fit), else the sdist's PKG-INFO when it is static."""
    wheels = sorted((f for f in files if f.is_wheel and wheel_rank(f)), key=lambda f: (not f.yanked, wheel_rank(f), f.filename), reverse=True)
    problems = []
    for wheel in wheels[:2]:
        try:
            return _parse(index.wheel_metadata(wheel), f"METADATA of {wheel.filename}", "METADATA"), ""
        except SourceError as exc:
            problems.append(str(exc))
    sdists = sorted((f for f in files if not f.is_wheel), key=lambda f: (not f.yanked, f.filename.endswith(".tar.gz")), reverse=True)
    for sdist in sdists[:1]:
        try:
            parsed, why = static_pkg_info(fetch_sdist(sdist, sdist_cache, offline=offline))
        except SourceError as exc:
            return None, f"reading its metadata failed: {exc}"
        return parsed, why
    if problems:
        return None, f"reading its metadata failed: {problems[0]}"
    return None, "no wheel fits the target and no sdist"


def _parse(data: bytes, origin: str, kind: str) -> PublishedMetadata:
    message = email.parser.BytesParser().parsebytes(data, headersonly=True)
    return PublishedMetadata(tuple(str(v) for v in message.get_all("Requires-Dist") or []), message.get("Requires-Python"), origin, kind,
                             tuple(str(v) for v in message.get_all("Provides-Extra") or []))


def static_pkg_info(archive: Path) -> tuple[PublishedMetadata | None, str]:
    """PKG-INFO counts only from Metadata 2.2 on, and only when Requires-Dist is not Dynamic: older or
    dynamic sdist metadata may differ from what the build produces."""
    try:
        if archive.name.endswith(".zip"):
            with zipfile.ZipFile(archive) as zf:
                names = [n for n in zf.namelist() if n.count("/") == 1 and n.endswith("/PKG-INFO")]
                data = zf.read(names[0]) if names else None
        else:
            with tarfile.open(archive) as tar:
                member = next((m for m in tar.getmembers() if m.name.count("/") == 1 and m.name.endswith("/PKG-INFO")), None)
                handle = tar.extractfile(member) if member else None
                data = handle.read() if handle else None
    except (tarfile.TarError, zipfile.BadZipFile, OSError, EOFError) as exc:
        return None, f"{archive.name} cannot be read: {exc}"
    if data is None:
        return None, f"{archive.name} has no PKG-INFO"
    return pkg_info_requires(data, archive.name)


def pkg_info_requires(data: bytes, label: str) -> tuple[PublishedMetadata | None, str]:
    """A PKG-INFO's dependencies when they are static (Metadata 2.2+, Requires-Dist not Dynamic), else None and why."""
    message = email.parser.BytesParser().parsebytes(data, headersonly=True)
    try:
        metadata_version = Version(message.get("Metadata-Version", "1.0"))
    except InvalidVersion:
        return None, f"{label}: unreadable Metadata-Version"
    dynamic = {canonicalize_name(d) for d in message.get_all("Dynamic") or []}
    if metadata_version < Version("2.2"):
        return None, f"no wheel fits and its sdist's Requires-Dist is not static (Metadata-Version {metadata_version})"
    if "requires-dist" in dynamic:
        return None, "no wheel fits and its sdist's Requires-Dist is not static (Requires-Dist is Dynamic)"
    return _parse(data, f"PKG-INFO of {label} (Metadata {metadata_version})", "PKG-INFO"), ""


def _requirement_name(line: str) -> str:
    return canonicalize_name(re.split(r"[\s;\[<>=!~(]", line.strip(), maxsplit=1)[0])


class RecipeAwareSource:
    """The index, plus what recipes know: a package built from a git tag or tarball (torch, aotriton…)
    is a candidate at every version the index publishes or the constraints pin, and a recipe's
    per-variant extra requirements (vllm on rocm needs amd-aiter) join its published ones."""

    def __init__(self, base: IndexMetadataSource, book: RecipeBook, variant: Variant, constraints: Constraints, python_version: str,
                 prebuilt_index: PackageIndex | None = None, permissive: bool = False,
                 direct: Mapping[str, DirectRelease] | None = None) -> None:
        self.base = base
        self.direct = dict(direct or {})  # name @ URL, local sdists and trees: the one release of that name
        self.prebuilt_index = prebuilt_index
        self.permissive = permissive  # plan mode: wheel-only packages stay in the plan, flagged, instead of failing it
        self.wheel_only: set[str] = set()
        self.unreachable: dict[str, str] = {}  # prebuilt packages whose index could not be read
        self.book = book  # the run's recipes, loaded once: the same decisions the planner writes into the graph
        self.variant = variant
        self.constraints = constraints
        self.python_version = python_version
        self.progress: PlanProgress | None = None  # set by the app: a plan streams what it reads

    def recipe(self, name: str) -> LoadedRecipe:
        return self.book.get(name)

    def _prebuilt_files(self, name: str) -> list[IndexFile] | None:
        if not self.variant.takes_prebuilt(name) or self.prebuilt_index is None:
            return None
        try:
            return [f for f in self.prebuilt_index.files(name) if f.is_wheel and self.base._rank(f)]
        except (ResolutionError, SourceError) as exc:
            self.unreachable[name] = str(exc)
            return []

    def _pins(self, name: str) -> set[Version]:
        """Every == pin of any line (whatever its marker): candidates, which each interpreter's constraints then filter."""
        return {Version(s.version) for c in self.constraints.lines_for(name) for s in c.specifier if s.operator == "==" and "*" not in s.version}

    def releases(self, name: str) -> list[Release]:
        if name in self.direct:
            return [Release(self.direct[name].version, False, None)]
        prebuilt = self._prebuilt_files(name)
        if prebuilt is not None:  # vendor wheels: their versions, or the pins when the vendor index is out of reach
            versions = {f.version for f in prebuilt if not f.yanked} or (self._pins(name) if name in self.unreachable else set())
            return [Release(v, False, None) for v in versions]
        self.book.require_buildable(name, self.variant)
        if self.recipe(name).recipe.source_for(self.variant.name) is None:
            releases = self.base.releases(name)
            if releases or not self.permissive:
                return releases
            try:
                files = self.base.index.files(name)
            except ResolutionError:
                return []
            if files:
                self.wheel_only.add(name)
            return [Release(v, False, None) for v in {f.version for f in files if not f.yanked}]
        try:
            versions = {f.version for f in self.base.index.files(name)}
        except ResolutionError:
            versions = set()
        versions |= self._pins(name)
        return [Release(v, False, None) for v in versions]

    def metadata(self, name: str, version: Version) -> PublishedMetadata | None:
        if self.progress is not None:
            self.progress.read(name, version)
        published = None
        prebuilt = self._prebuilt_files(name)
        try:
            if name in self.direct:
                published = self.direct[name].metadata
            elif prebuilt is not None and self.prebuilt_index is not None:
                files = [f for f in prebuilt if f.version == version]
                published = read_release_metadata(self.prebuilt_index, files, wheel_rank=self.base._rank, sdist_cache=self.base.sdist_cache, offline=self.base.offline)[0]
            else:
                published = self.base.metadata(name, version)
        except (ResolutionError, SourceError):
            published = None
        if prebuilt is not None:
            return published  # a vendor wheel is published unchanged: its own Requires-Dist is what pip installs, recipe or not
        return self.with_recipe(name, version, published)

    def with_recipe(self, name: str, version: Version, published: PublishedMetadata | None) -> PublishedMetadata | None:
        """Published (or built) metadata as this variant's build will declare it: the recipe's dropped
        requirements out, its added ones in. Unknown stays unknown: additions alone are not the whole story."""
        if published is None:
            return None
        decisions = self.book.decisions(name, version, self.variant, self.python_version)
        where = decisions.recipe or "the default recipe"
        if decisions.dropped_requires:
            kept = tuple(r for r in published.requires_dist
                         if not any(fnmatch.fnmatch(_requirement_name(r), p) for p in decisions.dropped_requires))
            published = replace(published, requires_dist=kept, origin=f"{published.origin} - dropped by {where}")
        present = {_normalized(r) for r in published.requires_dist}
        added = tuple(r for r in decisions.added_requires if _normalized(r) not in present)  # as the wheel's rewrite: no line twice
        if not added:  # build_requires are build edges, planned per node, never runtime ones
            return published
        return replace(published, requires_dist=published.requires_dist + added, origin=f"{published.origin} + {where}")

    def why_unavailable(self, name: str) -> str:
        source = self.recipe(name).recipe.source_for(self.variant.name)
        if source is not None:
            return f"its recipe builds it from {source.url}; pin one version (==) in the constraints"
        if self.variant.takes_prebuilt(name):
            where = getattr(self.prebuilt_index, "url", "no prebuilt_index declared")
            return f"taken prebuilt from {where}: {self.unreachable.get(name, 'no wheel there fits this interpreter and the constraints')}"
        return self.base.why_unavailable(name)


def _normalized(requirement: str) -> str:
    try:
        return str(Requirement(requirement))
    except InvalidRequirement:
        return requirement
