"""Plan the install tree with resolvelib, before anything is built.

The provider is the only place that knows packaging: names (with renames followed), specifiers,
constraints, yanked releases, Requires-Python, markers and extras. resolvelib does the
backtracking. The plan it yields is later checked against every built wheel's real METADATA.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass

from packaging.requirements import Requirement
from packaging.utils import NormalizedName, canonicalize_name
from packaging.version import Version
from resolvelib import AbstractProvider, BaseReporter, ResolutionImpossible, Resolver
from resolvelib.resolvers import ResolutionTooDeep
from resolvelib.structs import RequirementInformation

from wheelwright.config.constraints import Constraints
from wheelwright.errors import ResolutionError
from wheelwright.plan.requirements import applicable
from wheelwright.plan.published import MetadataSource, PublishedMetadata
from wheelwright.config.renames import Renames
from wheelwright.plan.candidates import requires_python_ok


@dataclass(frozen=True)
class Candidate:
    name: NormalizedName
    version: Version
    extras: frozenset[str] = frozenset()

    def __str__(self) -> str:
        extras = f"[{','.join(sorted(self.extras))}]" if self.extras else ""
        return f"{self.name}{extras}=={self.version}"


@dataclass(frozen=True)
class PlannedPackage:
    name: NormalizedName
    version: Version
    extras: frozenset[str]
    requires: tuple[str, ...]  # applicable requirements, as resolved
    origin: str | None  # where its dependencies were read; None: only known after its build


@dataclass(frozen=True)
class Plan:
    packages: Mapping[NormalizedName, PlannedPackage]
    edges: tuple[tuple[str, str, str], ...]  # (parent name or "<toplevel>", child name, requirement)
    warnings: tuple[str, ...] = ()  # what pip would warn about too: an extra the project does not define

    def pin(self, name: str) -> Version | None:
        package = self.packages.get(canonicalize_name(name))
        return package.version if package else None

    def to_json(self) -> str:
        return json.dumps(
            {
                "packages": {
                    name: {"version": str(p.version), "extras": sorted(p.extras), "requires": list(p.requires), "metadata": p.origin}
                    for name, p in sorted(self.packages.items())
                },
                "edges": [{"parent": p, "child": c, "requirement": r} for p, c, r in self.edges],
            },
            indent=1,
        )


class _Provider(AbstractProvider[Requirement, Candidate, str]):
    def __init__(self, source: MetadataSource, constraints: Constraints, renames: Renames, markers: Mapping[str, str],
                 python_version: str, overrides: Mapping[tuple[str, Version], PublishedMetadata]) -> None:
        self.source = source
        self.constraints = constraints
        self.renames = renames
        self.markers = markers
        self.python = Version(python_version)
        self.overrides = overrides
        self.metadata: dict[tuple[str, Version], PublishedMetadata | None] = {}

    def _name(self, name: str) -> NormalizedName:
        return self.renames.current(name)

    def identify(self, requirement_or_candidate: Requirement | Candidate) -> str:
        name = self._name(requirement_or_candidate.name)
        extras = requirement_or_candidate.extras
        return f"{name}[{','.join(sorted(extras))}]" if extras else name

    def get_preference(self, identifier: str, resolutions: Mapping[str, Candidate], candidates: Mapping[str, Iterator[Candidate]],
                       information: Mapping[str, Iterator[RequirementInformation[Requirement, Candidate]]],
                       backtrack_causes: Sequence[RequirementInformation[Requirement, Candidate]]) -> tuple[bool, bool, str]:
        pinned = any(s.operator in ("==", "===") for info in information[identifier] for s in info.requirement.specifier)
        causes = {self.identify(c.requirement) for c in backtrack_causes}
        return (not pinned, identifier not in causes, identifier)

    def find_matches(self, identifier: str, requirements: Mapping[str, Iterator[Requirement]], incompatibilities: Mapping[str, Iterator[Candidate]]) -> list[Candidate]:
        name, _, extras_text = identifier.partition("[")
        extras = frozenset(e for e in extras_text.rstrip("]").split(",") if e)
        specifier = self.constraints.specifier_for(name)
        for requirement in requirements[identifier]:
            specifier &= requirement.specifier
        excluded = {c.version for c in incompatibilities[identifier]}
        pinned = {Version(s.version) for s in specifier if s.operator == "==" and "*" not in s.version}
        usable = [
            r.version for r in self.source.releases(name)
            if (not r.yanked or r.version in pinned) and r.version not in excluded and requires_python_ok(r.requires_python, self.python)
        ]
        return [Candidate(NormalizedName(name), v, extras) for v in sorted(specifier.filter(usable), reverse=True)]

    def is_satisfied_by(self, requirement: Requirement, candidate: Candidate) -> bool:
        return self._name(requirement.name) == candidate.name and requirement.specifier.contains(candidate.version, prereleases=True)

    def published(self, candidate: Candidate) -> PublishedMetadata | None:
        key = (candidate.name, candidate.version)
        if key not in self.metadata:
            self.metadata[key] = self.overrides.get(key) or self.source.metadata(candidate.name, candidate.version)
        return self.metadata[key]

    def applicable(self, candidate: Candidate) -> list[Requirement]:
        metadata = self.published(candidate)
        if metadata is None:
            return []
        result = applicable(metadata.requires_dist, self.markers, sorted(candidate.extras), source=metadata.origin)
        for requirement in result:
            requirement.marker = None  # evaluated: the plan states what this interpreter gets
        return result

    def get_dependencies(self, candidate: Candidate) -> list[Requirement]:
        dependencies = self.applicable(candidate)
        if candidate.extras:  # an extra is the base package at the same version, plus more
            dependencies.append(Requirement(f"{candidate.name}=={candidate.version}"))
            base = self.applicable(Candidate(candidate.name, candidate.version))
            dependencies = [d for d in dependencies if d not in base or d.name == candidate.name]
        return dependencies


def missing_extra(name: str, version: object, extra: str) -> str:
    """pip's words for it."""
    return f"{name} {version} does not provide the extra '{extra}'"


def plan_install_tree(
    requirements: Sequence[Requirement],
    *,
    source: MetadataSource,
    constraints: Constraints,
    renames: Renames,
    markers: Mapping[str, str],
    overrides: Mapping[tuple[str, Version], PublishedMetadata] | None = None,
) -> Plan:
    """Resolve the runtime tree of ``requirements``; a ResolutionError explains any conflict first."""
    provider = _Provider(source, constraints, renames, markers, markers["python_full_version"], overrides or {})
    try:
        result = Resolver(provider, BaseReporter()).resolve(requirements, max_rounds=5000)
    except ResolutionImpossible as exc:
        raise ResolutionError(_explain(exc.causes, constraints, renames, source)) from None
    except ResolutionTooDeep:
        raise ResolutionError("resolution gave up after 5000 rounds of backtracking; pin more of the tree in constraints/") from None
    packages: dict[NormalizedName, PlannedPackage] = {}
    for candidate in result.mapping.values():
        current = packages.get(candidate.name)
        extras = candidate.extras | (current.extras if current else frozenset())
        requires = provider.applicable(Candidate(candidate.name, candidate.version, extras))
        metadata = provider.published(candidate)
        packages[candidate.name] = PlannedPackage(candidate.name, candidate.version, extras, tuple(sorted(map(str, requires))),
                                                  metadata.origin if metadata else None)
    warnings = []
    for package in sorted(packages.values(), key=lambda p: p.name):
        metadata = provider.published(Candidate(package.name, package.version))
        known = metadata.known_extras() if metadata else None
        for extra in sorted(package.extras):
            if known is not None and canonicalize_name(extra) not in known:
                warnings.append(missing_extra(package.name, package.version, extra))
    edges = [("<toplevel>", provider._name(r.name), str(r)) for r in requirements]
    for package in packages.values():
        for line in package.requires:
            child = provider._name(Requirement(line).name)
            if child != package.name:
                edges.append((package.name, child, line))
    return Plan(packages, tuple(sorted(set(edges))), tuple(warnings))


def _explain(causes: Iterable[RequirementInformation[Requirement, Candidate]], constraints: Constraints, renames: Renames, source: MetadataSource) -> str:
    """Which parents require what, and which constraint lines exclude it: one line, read left to right."""
    parts: list[str] = []
    names: list[str] = []
    for cause in causes:
        parent = "the top level" if cause.parent is None else str(cause.parent)
        parts.append(f"{parent} requires {cause.requirement}")
        names.append(renames.current(cause.requirement.name))
    details = []
    unique = list(dict.fromkeys(names))
    if len(unique) == 1 and not source.releases(unique[0]):
        return f"{unique[0]}: {source.why_unavailable(unique[0])} ({'; '.join(parts)})"
    for name in unique:
        lines = [f"{c.origin} {c.text}" for c in constraints.lines_for(name)]
        if lines:
            details.append(f"constraint {'; '.join(lines)}")
        releases = source.releases(name)
        if not releases:
            details.append(f"{name}: {source.why_unavailable(name)}")
        else:
            latest = sorted(r.version for r in releases if not r.yanked)[-5:]
            yanked = sorted(str(r.version) for r in releases if r.yanked)
            details.append(f"{name} releases include {', '.join(map(str, latest))}" if latest
                           else f"every release of {name} is yanked ({', '.join(yanked)}); pin one with == to take it anyway")
    return f"no version set satisfies everything: {'; '.join(parts)}" + (f" ({'; '.join(details)})" if details else "")
