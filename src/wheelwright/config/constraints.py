"""pip-format constraints files: ``name<specifier>`` lines, comments, ``-c``/``-r`` includes, and the
``--hash`` options and backslash continuations of pip-compile lock files.

One line-level parser (:func:`read_lines`) serves both the resolver (:func:`load_constraints`, which
stops at the first bad line) and the lint (which reports every bad line).
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

from packaging.markers import Marker
from packaging.requirements import InvalidRequirement, Requirement
from packaging.specifiers import SpecifierSet
from packaging.utils import NormalizedName, canonicalize_name

from wheelwright.errors import ConfigError

_COMMENT = re.compile(r"(^|\s+)#.*$")  # pip's rule: '#' starts a comment only at the start or after a space
_INCLUDE = re.compile(r"^(-c|--constraint|-r|--requirement)(?:\s*=\s*|\s+)(\S.*)$")
_HASH = re.compile(r"\s--hash(?:\s*=\s*|\s+)(\S+)")


@dataclass(frozen=True)
class ConstraintLine:
    """One logical line (continuations joined, comment stripped), with where it starts.

    Exactly one of ``requirement``, ``include`` and ``error`` is set.
    """

    path: Path
    line: int  # first physical line of the logical line
    text: str  # the requirement or include as written, without comment and ``--hash`` options
    requirement: Requirement | None = None
    hashes: tuple[str, ...] = ()  # "sha256:<hex>", as pip-compile writes them
    include: Path | None = None
    include_kind: str = "constraint"  # -c (constraint) or -r (requirement)
    error: str | None = None  # why the line is unusable, without the origin prefix

    @property
    def origin(self) -> str:
        return f"{self.path.name}:{self.line}"

    @property
    def name(self) -> NormalizedName | None:
        return canonicalize_name(self.requirement.name) if self.requirement else None


@dataclass(frozen=True)
class Constraint:
    """One constraint line, remembered with where it came from so errors can quote it."""

    name: NormalizedName
    specifier: SpecifierSet
    origin: str  # "file:line"
    text: str
    hashes: tuple[str, ...] = ()
    marker: Marker | None = None  # a line for another platform or interpreter does not constrain this one


@dataclass(frozen=True)
class Constraints:
    """Every constraint of one variant, by package name."""

    by_name: Mapping[NormalizedName, tuple[Constraint, ...]]
    files: tuple[Path, ...]

    def for_target(self, markers: Mapping[str, str]) -> Constraints:
        """The lines whose PEP 508 marker holds for this interpreter and platform, as pip applies them:
        a ``six==1.15.0; sys_platform == "win32"`` line does not touch six on Linux."""
        kept = {name: tuple(c for c in lines if c.marker is None or c.marker.evaluate({**markers, "extra": ""}))
                for name, lines in self.by_name.items()}
        return Constraints({k: v for k, v in kept.items() if v}, self.files)

    def specifier_for(self, name: str) -> SpecifierSet:
        """The intersection of all constraints on ``name`` (empty set when unconstrained)."""
        spec = SpecifierSet()
        for constraint in self.by_name.get(canonicalize_name(name), ()):
            spec &= constraint.specifier
        return spec

    def lines_for(self, name: str) -> tuple[Constraint, ...]:
        return self.by_name.get(canonicalize_name(name), ())

    def exact_pins(self) -> dict[str, str]:
        """name -> version for every package pinned to one version (==, no wildcard) on every platform: what recipes may read."""
        pins: dict[str, str] = {}
        for name, lines in self.by_name.items():
            versions = {s.version for c in lines if c.marker is None for s in c.specifier if s.operator in ("==", "===") and "*" not in s.version}
            if len(versions) == 1:
                pins[name] = versions.pop()
        return pins


def load_constraints(paths: Iterable[Path]) -> Constraints:
    """Parse constraint files (following ``-c`` includes once each) into one lookup.

    The first unusable line raises :class:`ConfigError` naming its file and line.
    """
    by_name: dict[NormalizedName, list[Constraint]] = {}
    seen: list[Path] = []
    for path in paths:
        for line in read_lines(path, seen):
            if line.error:
                raise ConfigError(f"{line.origin}: {line.error}")
            if line.requirement:
                name = canonicalize_name(line.requirement.name)
                by_name.setdefault(name, []).append(
                    Constraint(name, line.requirement.specifier, line.origin, line.text, line.hashes, line.requirement.marker)
                )
    return Constraints({k: tuple(v) for k, v in by_name.items()}, tuple(seen))


def read_lines(path: Path, seen: list[Path] | None = None) -> list[ConstraintLine]:
    """Every logical line of ``path`` and of the files it includes (each file once, in ``seen``
    order), includes expanded in place. A missing include is an error line at the ``-c`` line; a
    missing top-level file raises :class:`ConfigError`."""
    seen = [] if seen is None else seen
    path = path.resolve()
    if path in seen:
        return []
    try:
        physical = path.read_text().splitlines()
    except FileNotFoundError:
        raise ConfigError(f"{path}: constraints file not found") from None
    seen.append(path)
    result: list[ConstraintLine] = []
    for number, text in logical_lines(physical):
        if not text:
            continue
        line = parse_line(path, number, expand_env(text))
        if line.include is not None and line.include_kind == "requirement":
            line = ConstraintLine(path, number, text, error=f"{text!r}: pip reads the lines of a -r file inside a constraints file as "
                                                            f"requirements, not constraints; include constraints with -c")
        elif line.include is not None and not line.include.exists():
            line = ConstraintLine(path, number, text, error=f"{text!r}: included file {line.include} not found")
        result.append(line)
        if line.include is not None:
            result.extend(read_lines(line.include, seen))
    return result


def parse_line(path: Path, number: int, text: str) -> ConstraintLine:
    """Classify one non-blank logical line (comment already stripped): requirement, include or error."""
    if include := _INCLUDE.match(text):
        return ConstraintLine(path, number, text, include=(path.parent / expand_env(include.group(2).strip())).resolve(),
                              include_kind="constraint" if include.group(1) in ("-c", "--constraint") else "requirement")
    hashes: list[str] = []
    requirement_text = text
    if found := list(_HASH.finditer(f" {text}")):
        requirement_text = f" {text}"[: found[0].start()].strip()
        rest = _HASH.sub("", f" {text}"[found[0].start():]).strip()
        hashes = [m.group(1) for m in found]
        if bad := [h for h in hashes if not _valid_hash(h)]:
            return ConstraintLine(path, number, requirement_text, error=f"{requirement_text!r}: malformed --hash {bad[0]!r} (want sha256:HEX)")
        if rest:
            return ConstraintLine(path, number, requirement_text, error=f"{requirement_text!r}: unexpected text after --hash options: {rest!r}")
    if requirement_text.startswith("-"):
        return ConstraintLine(path, number, requirement_text, error=f"unsupported option in a constraints file: {requirement_text!r}")
    try:
        requirement = Requirement(requirement_text)
    except InvalidRequirement as exc:
        return ConstraintLine(path, number, requirement_text, error=f"malformed constraint {requirement_text!r}: {str(exc).splitlines()[0]}")
    if requirement.extras or requirement.url:
        return ConstraintLine(path, number, requirement_text, error=f"constraints may not carry extras or URLs: {requirement_text!r}")
    return ConstraintLine(path, number, requirement_text, requirement=requirement, hashes=tuple(hashes))


_ENV = re.compile(r"\$\{([A-Z0-9_]+)\}")


def expand_env(text: str) -> str:
    """pip expands ``${NAME}`` (upper case, digits, underscores) from the environment in requirement files."""
    return _ENV.sub(lambda m: os.environ.get(m.group(1), m.group(0)), text)


def logical_lines(physical: list[str]) -> list[tuple[int, str]]:
    """Join backslash continuations (numbered by their first line) and strip comments, as pip does."""
    result: list[tuple[int, str]] = []
    parts: list[str] = []
    start = 0
    for number, raw in enumerate(physical, start=1):
        start = start if parts else number
        text = _COMMENT.sub("", raw).strip()
        parts.append(text.removesuffix("\\").strip())
        if not text.endswith("\\"):
            result.append((start, " ".join(p for p in parts if p)))
            parts = []
    if parts:  # a continuation on the last line
        result.append((start, " ".join(p for p in parts if p)))
    return result


def _valid_hash(value: str) -> bool:
    algorithm, _, digest = value.partition(":")
    size = {"sha256": 64, "sha384": 96, "sha512": 128}.get(algorithm)
    return size == len(digest) and all(c in "0123456789abcdef" for c in digest.lower())


def check_hash_pins(constraints: Constraints, name: str, filename: str, sha256: str) -> None:
    """Lines that pin hashes (pip-compile --generate-hashes) admit only those files: the chosen sdist must be one."""
    pinned = [c for c in constraints.lines_for(name) if c.hashes]
    allowed = {h.partition(":")[2].lower() for c in pinned for h in c.hashes if h.startswith("sha256:")}
    if pinned and sha256.lower() not in allowed:
        raise ConfigError(f"{pinned[0].origin}: {pinned[0].text!r} pins hashes, and none is {filename}'s sha256 {sha256}")
