"""pip-format constraints files: ``name<specifier>`` lines, comments, and ``-c other.txt`` includes."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

from packaging.requirements import InvalidRequirement, Requirement
from packaging.specifiers import SpecifierSet
from packaging.utils import NormalizedName, canonicalize_name

from .errors import ConfigError


@dataclass(frozen=True)
class Constraint:
    """One constraint line, remembered with where it came from so errors can quote it."""

    name: NormalizedName
    specifier: SpecifierSet
    origin: str  # "file:line"
    text: str


@dataclass(frozen=True)
class Constraints:
    """Every constraint of one variant, by package name."""

    by_name: Mapping[NormalizedName, tuple[Constraint, ...]]
    files: tuple[Path, ...]

    def specifier_for(self, name: str) -> SpecifierSet:
        """The intersection of all constraints on ``name`` (empty set when unconstrained)."""
        spec = SpecifierSet()
        for constraint in self.by_name.get(canonicalize_name(name), ()):
            spec &= constraint.specifier
        return spec

    def lines_for(self, name: str) -> tuple[Constraint, ...]:
        return self.by_name.get(canonicalize_name(name), ())


def load_constraints(paths: Iterable[Path]) -> Constraints:
    """Parse constraint files (following ``-c`` includes once each) into one lookup."""
    by_name: dict[NormalizedName, list[Constraint]] = {}
    seen: list[Path] = []
    for path in paths:
        _read(path.resolve(), by_name, seen)
    return Constraints({k: tuple(v) for k, v in by_name.items()}, tuple(seen))


def _read(path: Path, by_name: dict[NormalizedName, list[Constraint]], seen: list[Path]) -> None:
    if path in seen:
        return
    seen.append(path)
    try:
        lines = path.read_text().splitlines()
    except FileNotFoundError:
        raise ConfigError(f"{path}: constraints file not found") from None
    for number, raw in enumerate(lines, start=1):
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        origin = f"{path.name}:{number}"
        if line.startswith(("-c ", "--constraint ", "-r ")):
            _read((path.parent / line.split(None, 1)[1].strip()).resolve(), by_name, seen)
            continue
        try:
            req = Requirement(line)
        except InvalidRequirement as exc:
            raise ConfigError(f"{origin}: malformed constraint {line!r}: {exc}") from None
        if req.extras or req.url:
            raise ConfigError(f"{origin}: constraints may not carry extras or URLs: {line!r}")
        name = canonicalize_name(req.name)
        by_name.setdefault(name, []).append(Constraint(name, req.specifier, origin, line))
