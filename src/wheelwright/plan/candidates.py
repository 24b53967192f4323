"""Pick one version for a requirement: the newest sdist that the requirement, the variant's
constraints and the target Python all accept. Backtracking across the tree comes with resolvelib."""

from __future__ import annotations

import functools
from collections.abc import Iterable

from packaging.requirements import Requirement
from packaging.specifiers import SpecifierSet
from packaging.version import Version

from wheelwright.config.constraints import Constraints
from wheelwright.errors import ResolutionError
from wheelwright.remote.index import PackageIndex, SourceDistribution


def choose_sdist(
    requirement: Requirement,
    constraints: Constraints,
    index: PackageIndex,
    python_version: str,
) -> SourceDistribution:
    """The best sdist for ``requirement``, or a ResolutionError that says what ruled each one out."""
    offered = index.sdists(requirement.name)
    if not offered:
        raise ResolutionError(f"{requirement.name}: the index has no sdist for any version (wheels only?)")
    specifier = requirement.specifier & constraints.specifier_for(requirement.name)
    python = Version(python_version + ".0")
    pinned = _exact_pins(specifier)
    usable = [
        sdist
        for sdist in offered
        if (not sdist.yanked or sdist.version in pinned)
        and requires_python_ok(sdist.requires_python, python)
    ]
    versions = list(specifier.filter(sorted({s.version for s in usable}, reverse=True)))
    if not versions:
        raise ResolutionError(_explain(requirement, constraints, offered, usable, python_version))
    best = max(versions)
    # Several sdists for one version (.zip and .tar.gz): prefer .tar.gz, the modern format.
    return sorted((s for s in usable if s.version == best), key=lambda s: not s.filename.endswith(".tar.gz"))[0]


def _exact_pins(specifier: SpecifierSet) -> set[Version]:
    pins = set()
    for spec in specifier:
        if spec.operator in ("==", "===") and "*" not in spec.version:
            pins.add(Version(spec.version))
    return pins


@functools.lru_cache(maxsize=4096)
def requires_python_ok(requires_python: str | None, python: Version) -> bool:
    """Whether ``python`` meets a Requires-Python; none, or an unparsable one, does not rule a release out."""
    if not requires_python:
        return True
    try:
        return SpecifierSet(requires_python).contains(python, prereleases=True)
    except Exception:
        return True  # an unparsable Requires-Python is the backend's problem, not a reason to skip


def _explain(
    requirement: Requirement,
    constraints: Constraints,
    offered: Iterable[SourceDistribution],
    usable: Iterable[SourceDistribution],
    python_version: str,
) -> str:
    offered_versions = sorted({s.version for s in offered})
    usable_versions = sorted({s.version for s in usable})
    lines = [c.origin + " " + c.text for c in constraints.lines_for(requirement.name)]
    why = f"requirement {str(requirement)!r}"
    if lines:
        why += f" with constraint {'; '.join(lines)}"
    if not usable_versions:
        return f"{requirement.name}: no sdist is usable for Python {python_version} (all yanked or Requires-Python excludes it)"
    return (
        f"{requirement.name}: no sdist matches {why}; "
        f"available: {', '.join(map(str, usable_versions[-8:]))}"
        + (f" (of {len(offered_versions)})" if len(offered_versions) > 8 else "")
    )
