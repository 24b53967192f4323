"""What the user asked for, read the way pip reads it: requirement specifiers (markers kept, for the planner
to evaluate per interpreter), direct references, local sdists and source directories, and ``-r``/``-c``
files (nested, with comments, continuations and ``${VAR}``). An option pip would honour and we cannot is
refused naming it, never skipped."""

from __future__ import annotations

import os
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from packaging.requirements import InvalidRequirement, Requirement

from wheelwright.config.constraints import expand_env, logical_lines
from wheelwright.errors import ConfigError

_INCLUDE = re.compile(r"^(-c|--constraint|-r|--requirement)(?:\s*=\s*|\s+)(\S.*)$")
_ARCHIVE = (".tar.gz", ".tgz", ".tar.bz2", ".tbz", ".tar.xz", ".txz", ".tar", ".zip", ".whl")
_PATH_EXTRAS = re.compile(r"^(?P<path>.+?)(?P<extras>\[[^\]]*\])?$")


@dataclass(frozen=True)
class Requested:
    """One top-level requirement as written, and where: a PEP 508 requirement (possibly ``name @ URL``), or a
    local path whose name and version only its files can tell (``path`` set, ``requirement`` None)."""

    text: str
    origin: str  # "command line" or "file:line"
    requirement: Requirement | None = None
    path: Path | None = None
    extras: tuple[str, ...] = ()  # of a local path: ./src/foo[test]
    marker: str | None = None  # of a local path: ./src/foo; python_version >= "3.11"


@dataclass(frozen=True)
class Inputs:
    requested: tuple[Requested, ...]
    constraint_files: tuple[Path, ...]  # -c on the command line and in requirement files, in order


def read_inputs(texts: Sequence[str], requirement_files: Sequence[Path] = (), constraint_files: Sequence[Path] = (),
                cwd: Path | None = None) -> Inputs:
    """Command-line requirements, then ``-r`` files; ``-c`` files from either become constraint files."""
    cwd = cwd or Path.cwd()
    requested: list[Requested] = [parse_requested(text, "command line", cwd) for text in texts]
    constraints: list[Path] = []
    for given in constraint_files:
        constraints.append(_existing(cwd / given, f"-c {given}"))
    seen: list[Path] = []
    for given in requirement_files:
        _read_file(_existing(cwd / given, f"-r {given}"), cwd, requested, constraints, seen)
    return Inputs(tuple(requested), tuple(dict.fromkeys(constraints)))


def _existing(path: Path, what: str) -> Path:
    if not path.is_file():
        raise ConfigError(f"{what}: no such file ({path})")
    return path.resolve()


def _read_file(path: Path, cwd: Path, requested: list[Requested], constraints: list[Path], seen: list[Path]) -> None:
    if path in seen:
        return
    seen.append(path)
    for number, raw in logical_lines(path.read_text().splitlines()):
        if not raw:
            continue
        text, origin = expand_env(raw), f"{path.name}:{number}"
        if include := _INCLUDE.match(text):
            target = path.parent / include.group(2).strip()  # nested files are relative to the file that names them
            if not target.is_file():
                raise ConfigError(f"{origin}: {text!r}: included file {target} not found")
            if include.group(1) in ("-c", "--constraint"):
                constraints.append(target.resolve())
            else:
                _read_file(target.resolve(), cwd, requested, constraints, seen)
            continue
        if text.startswith("-"):
            option = text.split()[0]
            raise ConfigError(f"{origin}: {option} in a requirements file is not supported here "
                              f"({'editable installs are not wheels' if option in ('-e', '--editable') else 'give it to wheelwright on the command line, or drop it'})")
        if " --hash" in f" {text}":
            raise ConfigError(f"{origin}: {text.split()[0]!r} carries --hash: hash pins belong in a constraints file (-c), where they are checked")
        requested.append(parse_requested(text, origin, cwd))


def parse_requested(text: str, origin: str, cwd: Path) -> Requested:
    """A PEP 508 requirement, or a path as pip recognises one (it has a separator, starts with a dot, or is an archive)."""
    text = text.strip()
    body, _, marker = text.partition(";")
    body = body.strip()
    match = _PATH_EXTRAS.match(body)
    candidate = match.group("path") if match else body
    if _looks_like_path(candidate):
        path = (cwd / os.path.expanduser(candidate)).resolve()
        if not path.exists():
            raise ConfigError(f"{origin}: {text!r} looks like a path, but {path} does not exist")
        extras = tuple(e.strip() for e in (match.group("extras") or "[]")[1:-1].split(",") if e.strip()) if match else ()
        return Requested(text, origin, path=path, extras=extras, marker=marker.strip() or None)
    try:
        return Requested(text, origin, requirement=Requirement(text))
    except InvalidRequirement as exc:
        raise ConfigError(f"{origin}: requirement {text!r} is malformed: {str(exc).splitlines()[0]}") from None


def _looks_like_path(text: str) -> bool:
    if "@" in text or "://" in text:
        return False
    return "/" in text or os.sep in text or text.startswith(".") or text.lower().endswith(_ARCHIVE)
