"""Lint constraints files before a multi-hour build finds out: syntax, unknown or renamed packages,
pins the index does not have, and pins that contradict what another pinned package declares it needs
(torch 2.10.0 requires triton==3.6.0: a file pinning triton==3.5.0 can never install).

The network part (index pages, wheel METADATA, sdist PKG-INFO) runs per package in a thread pool
and only gathers facts; judging the lines against those facts is pure.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from packaging.requirements import InvalidRequirement, Requirement
from packaging.specifiers import InvalidSpecifier, SpecifierSet
from packaging.utils import NormalizedName, canonicalize_name
from packaging.version import InvalidVersion, Version

from wheelwright.config.constraints import ConstraintLine, read_lines
from wheelwright.errors import ConfigError, ResolutionError, WheelwrightError
from wheelwright.remote.index import IndexFile, PackageIndex, default_cache_dir
from wheelwright.recipes.api import GitSource, Source, UrlSource, load_recipe
from wheelwright.config.renames import Renames
from wheelwright.plan.published import read_release_metadata

Severity = Literal["error", "warning", "note"]
_RANK = {"error": 0, "warning": 1, "note": 2}


@dataclass(frozen=True)
class Finding:
    """One problem, reported against the line it occurs on; the message quotes every line involved."""

    file: str
    line: int
    severity: Severity
    message: str


@dataclass(frozen=True)
class LintReport:
    """Every finding, sorted by file then line; any error should fail the lint session."""

    findings: tuple[Finding, ...]

    @property
    def errors(self) -> tuple[Finding, ...]:
        return tuple(f for f in self.findings if f.severity == "error")

    def render(self) -> str:
        """Findings grouped by file, worst first within a line, then a one-line tally."""
        out: list[str] = []
        for file, group in itertools.groupby(self.findings, key=lambda f: f.file):
            out.append(f"{file}:")
            out.extend(f"  {f.severity:<8}{f.message}" for f in group)
        counts = {s: sum(f.severity == s for f in self.findings) for s in _RANK}
        out.append(", ".join(f"{n} {s}{'' if n == 1 else 's'}" for s, n in counts.items()) if self.findings else "no findings")
        return "\n".join(out)


@dataclass(frozen=True)
class Target:
    """The interpreter and platform that markers are evaluated for and wheels must fit."""

    python_version: str
    system: str
    machine: str

    def __str__(self) -> str:
        return f"{self.system} {self.machine}"

    def environment(self) -> dict[str, str]:
        full = self.python_version if self.python_version.count(".") == 2 else f"{self.python_version}.0"
        return {
            "python_version": ".".join(self.python_version.split(".")[:2]), "python_full_version": full,
            "platform_system": self.system, "platform_machine": self.machine,
            "sys_platform": {"Linux": "linux", "Darwin": "darwin", "Windows": "win32"}.get(self.system, self.system.lower()),
            "os_name": "nt" if self.system == "Windows" else "posix", "platform_python_implementation": "CPython",
            "implementation_name": "cpython", "implementation_version": full, "platform_release": "", "platform_version": "",
            "extra": "",
        }

    def applies(self, requirement: Requirement) -> bool:
        return requirement.marker is None or requirement.marker.evaluate(self.environment())

    def supports(self, requires_python: str | None) -> bool:
        try:
            return not requires_python or SpecifierSet(requires_python).contains(self.environment()["python_full_version"], prereleases=True)
        except InvalidSpecifier:
            return True  # a broken Requires-Python is the index's problem, not this file's

    def wheel_rank(self, wheel: IndexFile) -> int:
        """0: the wheel does not install here; higher: a more specific fit (cp311 > abi3 > py3)."""
        major, minor = self.python_version.split(".")[:2]

        def older(interpreter: str, prefix: str) -> bool:  # cp39 / py39 for a 3.11 target: built for 3.9+
            rest = interpreter.removeprefix(f"{prefix}{major}")
            return interpreter.startswith(prefix) and (rest == "" or rest.isdigit() and int(rest) <= int(minor))

        best = 0
        for tag in wheel.tags:
            if not self._platform_fits(tag.platform):
                continue
            if tag.interpreter == f"cp{major}{minor}" and tag.abi in (f"cp{major}{minor}", "abi3", "none"):
                best = max(best, 3)
            elif tag.abi == "abi3" and older(tag.interpreter, "cp"):
                best = max(best, 2)
            elif tag.abi == "none" and older(tag.interpreter, "py"):
                best = max(best, 1)
        return best

    def _platform_fits(self, platform: str) -> bool:
        if platform == "any":
            return True
        if self.system == "Linux":
            return platform.startswith(("manylinux", "linux_")) and platform.endswith(f"_{self.machine}")
        if self.system == "Darwin":
            return platform.startswith("macosx_") and platform.endswith((f"_{self.machine}", "_universal2"))
        if self.system == "Windows":
            return platform == {"x86_64": "win_amd64", "AMD64": "win_amd64", "ARM64": "win_arm64"}.get(self.machine)
        return False


@dataclass(frozen=True)
class _Dependencies:
    """What one pinned release declares it needs, or why that could not be read."""

    label: str  # "torch 2.10.0 METADATA"
    requires: tuple[Requirement, ...] | None  # None: could not check
    why: str = ""


@dataclass(frozen=True)
class _Facts:
    """Everything the network said about one package (``files`` None: the index has no such project)."""

    files: tuple[IndexFile, ...] | None = None
    problem: str | None = None  # the index could not be read
    source: Source | None = None
    recipe_problem: str | None = None
    dependencies: Mapping[str, _Dependencies] = field(default_factory=dict)  # by pinned version as written

    def versions(self, *, yanked: bool = False) -> list[Version]:
        return sorted({f.version for f in self.files or () if yanked or not f.yanked})


def lint_constraints(
    files: list[Path],
    *,
    index: PackageIndex,
    renames: Renames,
    recipes_dir: Path,
    python_version: str = "3.11",
    platform: tuple[str, str] = ("Linux", "x86_64"),
    sdist_cache: Path | None = None,
    workers: int = 8,
) -> LintReport:
    """Lint each file together with what it includes (one file set per argument: cuda.txt and
    rocm.txt pin different torches, so sets are never mixed); a line seen by several sets is
    reported once."""
    target = Target(python_version, *platform)
    findings: set[Finding] = set()
    sets: list[list[ConstraintLine]] = []
    for path in files:
        try:
            sets.append(read_lines(path))
        except ConfigError as exc:
            findings.add(Finding(path.name, 0, "error", str(exc)))
    asked: dict[NormalizedName, set[str]] = {}
    for line in _active(itertools.chain.from_iterable(sets), target):
        if not renames.renamed(_requirement(line).name):  # a renamed line's only finding is the rename
            pins = asked.setdefault(canonicalize_name(_requirement(line).name), set())
            if pin := _pin(_requirement(line).specifier):
                pins.add(pin)
    cache = sdist_cache or default_cache_dir() / "sdists"
    with ThreadPoolExecutor(max_workers=max(1, workers)) as pool:
        facts = dict(zip(asked, pool.map(lambda n: _gather(n, asked[n], index, recipes_dir, target, cache), asked), strict=True))
    for lines in sets:
        findings.update(_judge(lines, facts, renames, target))
    order = {name: i for i, name in enumerate(dict.fromkeys(line.path.name for line in itertools.chain(*sets)))}
    return LintReport(tuple(sorted(findings, key=lambda f: (order.get(f.file, -1), f.line, _RANK[f.severity], f.message))))


def _active(lines: Iterable[ConstraintLine], target: Target) -> list[ConstraintLine]:
    """Requirement lines that apply to the target (a marker can switch a line off)."""
    return [line for line in lines if line.requirement and target.applies(line.requirement)]


def _requirement(line: ConstraintLine) -> Requirement:
    """The requirement of a line ``_active`` kept (it keeps requirement lines only)."""
    assert line.requirement is not None
    return line.requirement


# --- gathering (network) -------------------------------------------------------------------------


def _gather(name: NormalizedName, pins: set[str], index: PackageIndex, recipes_dir: Path, target: Target, cache: Path) -> _Facts:
    try:
        source, recipe_problem = load_recipe(recipes_dir, name).recipe.source, None
    except ConfigError as exc:
        source, recipe_problem = None, str(exc)
    try:
        files = tuple(index.files(name))
    except ResolutionError:
        return _Facts(None, None, source, recipe_problem)
    except WheelwrightError as exc:
        return _Facts(None, str(exc), source, recipe_problem)
    dependencies = {}
    for pin in sorted(pins):
        try:
            spec = SpecifierSet(f"=={pin}")
        except InvalidSpecifier:
            spec = SpecifierSet(f"==={pin}")  # an arbitrary-equality pin
        release = [f for f in files if spec.contains(f.version, prereleases=True)]
        if release:
            dependencies[pin] = _dependencies(name, pin, release, index, target, cache)
    return _Facts(files, None, source, recipe_problem, dependencies)


def _dependencies(name: str, version: str, release: list[IndexFile], index: PackageIndex, target: Target, cache: Path) -> _Dependencies:
    """A fitting wheel's METADATA, else an sdist's PKG-INFO if its Requires-Dist is static."""
    metadata, why = read_release_metadata(index, release, wheel_rank=target.wheel_rank, sdist_cache=cache)
    if metadata is None:
        if why.startswith("no wheel fits the target"):
            why = f"no wheel for CPython {target.python_version} {target} and no sdist"
        return _Dependencies(f"{name} {version}", None, why)
    requires = []
    for text in metadata.requires_dist:
        try:
            requires.append(Requirement(text))
        except InvalidRequirement:
            continue  # a broken entry in someone else's metadata is not this file's problem
    return _Dependencies(f"{name} {version} {metadata.kind}", tuple(requires))


# --- judging (pure) ------------------------------------------------------------------------------


def _judge(lines: list[ConstraintLine], facts: Mapping[NormalizedName, _Facts], renames: Renames, target: Target) -> list[Finding]:
    found = [Finding(line.path.name, line.line, "error", f"{line.origin}: {line.error}") for line in lines if line.error]
    groups: dict[NormalizedName, list[ConstraintLine]] = {}
    for line in _active(lines, target):
        groups.setdefault(renames.current(_requirement(line).name), []).append(line)
    for name, group in groups.items():
        known = facts.get(name, _Facts()).versions(yanked=True)
        clash = False
        for first, second in itertools.combinations(group, 2):
            a, b = _requirement(first).specifier, _requirement(second).specifier
            if not _overlap(a, b, known):
                clash = True
                found.append(_about(second, "error", f"contradicts {first.origin} {first.text}: no version satisfies both"))
            elif str(a) == str(b) or (_pin(a) and _pin(b)):
                found.append(_about(second, "error", f"duplicate: {first.origin} {first.text} already constrains {name}"))
        for line in group:
            if rename := renames.renamed(_requirement(line).name):
                note = f" ({rename.note})" if rename.note else ""
                found.append(_about(line, "error", f"{rename.old} was renamed to {rename.new}{note}; pin {rename.new}"))
            elif name in facts:
                found += _judge_versions(line, facts[name], target)
                found += _judge_dependencies(line, facts[name], groups, facts, renames, target)
        own = [line for line in group if not renames.renamed(_requirement(line).name)]
        if len(own) > 1 and not clash and name in facts and facts[name].files and not facts[name].source:
            combined = SpecifierSet(",".join(str(_requirement(line).specifier) for line in own if _requirement(line).specifier))
            if not list(combined.filter(facts[name].versions())) and all(list(_requirement(line).specifier.filter(facts[name].versions())) for line in own):
                quoted = "; ".join(f"{line.origin} {line.text}" for line in own[:-1])
                found.append(_about(own[-1], "error", f"together with {quoted}: no non-yanked version of {name} on the index satisfies all"))
    return found


def _about(line: ConstraintLine, severity: Severity, message: str) -> Finding:
    return Finding(line.path.name, line.line, severity, f"{line.origin} {line.text}: {message}")


def _judge_versions(line: ConstraintLine, facts: _Facts, target: Target) -> list[Finding]:
    """Checks 2 and 3: the package exists (on the index or as a recipe source) and so does the version."""
    name, spec = line.name, _requirement(line).specifier
    pin = _pin(spec)
    found = [_about(line, "error", facts.recipe_problem)] if facts.recipe_problem else []
    if facts.problem:
        return [*found, _about(line, "error", f"could not read the index: {facts.problem}")]
    if facts.source is not None:
        return [*found, _judge_source(line, facts.source, pin)]
    if facts.files is None:
        return [*found, _about(line, "error", f"{name} is not on the index and no recipe declares a source")]
    if pin is None:
        if not list(spec.filter(facts.versions())):
            found.append(_about(line, "error", f"no non-yanked version of {name} on the index satisfies {spec}; newest: {_newest(facts.versions())}"))
        return found
    release = [f for f in facts.files if spec.contains(f.version, prereleases=True)]
    if not release:
        return [*found, _about(line, "error", f"{name} {pin} is not on the index; newest: {_newest(facts.versions())}")]
    usable = [f for f in release if not f.yanked]
    if not usable:
        return [*found, _about(line, "error", f"every file of {name} {pin} is yanked on the index")]
    if not any(target.supports(f.requires_python) for f in usable):
        found.append(_about(line, "warning", f"no file of {name} {pin} supports Python {target.python_version} (Requires-Python {usable[0].requires_python})"))
    hashes = {h.partition(":")[2].lower() for h in line.hashes if h.startswith("sha256:")}
    if line.hashes and not hashes & {f.sha256.lower() for f in release}:
        found.append(_about(line, "warning", f"none of its --hash values matches a file of {name} {pin} on the index"))
    return found


def _judge_source(line: ConstraintLine, source: Source, pin: str | None) -> Finding:
    """Packages built from a recipe's git tag or tarball: the pinned version must be audited there."""
    if pin is None:
        where = f"git {source.url}" if isinstance(source, GitSource) else source.url
        return _about(line, "warning", f"{line.name} is built from {where}: pin one version (==) so its source is fixed")
    if isinstance(source, GitSource) and pin in source.commits:
        return _about(line, "note", f"from git tag {source.ref(pin)} commit {source.commits[pin]} ({source.url})")
    if isinstance(source, GitSource):
        return _about(line, "warning", f"from git tag {source.ref(pin)} of {source.url}, but the tag is not pinned to a commit in the recipe")
    if isinstance(source, UrlSource) and pin in source.sha256:
        return _about(line, "note", f"from {source.url.format(version=pin)} (sha256 {source.sha256[pin]})")
    return _about(line, "warning", f"from {source.url.format(version=pin)}, but the recipe declares no sha256 for {pin}")


def _judge_dependencies(line: ConstraintLine, facts: _Facts, groups: Mapping[NormalizedName, list[ConstraintLine]],
                        all_facts: Mapping[NormalizedName, _Facts], renames: Renames, target: Target) -> list[Finding]:
    """Check 4: every line of the set satisfies what this pinned release declares it requires."""
    pin = _pin(_requirement(line).specifier)
    deps = facts.dependencies.get(pin) if pin else None
    if pin is None or facts.problem or (deps is None and facts.source is None):
        return []  # a range, or an error about the package or release was already reported
    if deps is None or deps.requires is None:
        why = deps.why if deps else f"{line.name} {pin} is not on the index (it is built from its recipe's source)"
        return [_about(line, "note", f"could not check {line.name}'s dependencies: {why}")]
    found = []
    for requirement in deps.requires:
        other = renames.current(requirement.name)
        if other == line.name or not target.applies(requirement):
            continue
        known = all_facts.get(other, _Facts()).versions(yanked=True)
        for constrained in groups.get(other, ()):
            if not _overlap(requirement.specifier, _requirement(constrained).specifier, known):
                verb = "pins" if _pin(_requirement(constrained).specifier) else "constrains"
                found.append(Finding(line.path.name, line.line, "error",
                                     f"{line.origin} {line.text} requires '{requirement.name}{requirement.specifier}' "
                                     f"({deps.label}, {target}) but {constrained.origin} {verb} {constrained.text}"))
    return found


# --- specifier helpers ---------------------------------------------------------------------------


def _pin(spec: SpecifierSet) -> str | None:
    """The version of an exact pin (``==1.2``, ``===1.2``); None for ranges and wildcards."""
    only = list(spec)
    if len(only) == 1 and only[0].operator in ("==", "===") and not only[0].version.endswith(".*"):
        return only[0].version
    return None


def _overlap(a: SpecifierSet, b: SpecifierSet, known: Sequence[Version]) -> bool:
    """Whether some version satisfies both: tried on the versions they name, a version just above
    each, and the index's versions. Unknowable cases (``===``) count as overlapping."""
    specs = list(a) + list(b)
    if not specs or any(s.operator == "===" for s in specs):
        return True
    witnesses: list[Version] = [Version("0"), *known]
    for s in specs:
        try:
            named = Version(s.version.removesuffix(".*"))
        except InvalidVersion:
            return True
        witnesses += [named, Version(f"{named.base_version}.0.1")]
    return any(a.contains(v, prereleases=True) and b.contains(v, prereleases=True) for v in witnesses)


def _newest(versions: list[Version]) -> str:
    """The last few releases, to show what a typo'd pin was probably meant to be."""
    finals = [v for v in versions if not v.is_prerelease] or versions
    return ", ".join(str(v) for v in finals[-5:][::-1]) or "none"
