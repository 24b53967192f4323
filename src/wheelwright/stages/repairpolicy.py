"""What a repair may graft, and which platform tag it targets: the never-graft/forbid patterns and the glibc policy.

Split out of repair.py so the policy checks can be used (and tested) without running auditwheel; repair.py
re-exports every name here. The patterns' semantics are in repair.py's docstring.
"""

from __future__ import annotations

import contextlib
import fnmatch
import json
import os
import platform
import re
import zipfile
from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from wheelwright.errors import BuildError


@dataclass(frozen=True)
class GraftedLibrary:
    """One library auditwheel copied into the wheel."""

    soname: str  # as the wheel needed it, e.g. liblzma.so.5
    source: Path  # the file it was copied from, on this machine
    sha256: str  # of the copy as stored in the repaired wheel (patched: new soname, RPATH)
    name: str  # its path inside the wheel, e.g. pkg.libs/liblzma-1a2b3c4d.so.5.4.1


# ---------------------------------------------------------------------------------------------------
# Patterns


def matching_pattern(name: str, patterns: Iterable[str]) -> str | None:
    """The first fnmatch pattern that ``name`` matches, the way auditwheel's ``--exclude`` matches it.

    Case-sensitive, and ``*`` spans dots: ``libamdhip64.so*`` matches ``libamdhip64.so.6`` and
    ``libamdhip64.so.6.4.43482``; an unversioned ``libamdhip64.so`` matches neither.
    """
    return next((p for p in patterns if fnmatch.fnmatchcase(name, p)), None)


def _literal(name: str) -> str:
    """An fnmatch pattern that matches exactly ``name``."""
    return re.sub(r"([*?\[\]])", r"[\1]", name)


_HASHED = re.compile(r"^(?P<base>[^.]*)-[0-9a-f]{8}(?P<ext>\..*)$")


def _unhashed(filename: str) -> str:
    """``libfoo-1a2b3c4d.so.1.2`` (auditwheel's grafted name) -> ``libfoo.so.1.2`` (the file it came from)."""
    match = _HASHED.match(filename)
    return f"{match['base']}{match['ext']}" if match else filename


def check_never_grafted(repaired: Path, patterns: Sequence[str], *, policy: str = "variant's",
                        grafted: Sequence[GraftedLibrary] = (), preexisting: Collection[str] = (),
                        label: str | None = None) -> None:
    """Fail if the repaired wheel's ``<name>.libs/`` holds a library that ``patterns`` say is never grafted.

    A file there is checked under its own name, the name it was grafted from, and (when ``grafted``
    records it) the soname it was needed as. ``preexisting`` names members the input already had: those
    the package shipped itself and are not grafts. ``label`` names the wheel in the message.
    """
    if not patterns:
        return
    by_name = {g.name: g.soname for g in grafted}
    with zipfile.ZipFile(repaired) as zf:
        members = [n for n in zf.namelist() if not n.endswith("/")]
    for member in members:
        parts = PurePosixPath(member).parts
        if len(parts) < 2 or not parts[0].endswith(".libs") or member in preexisting:
            continue
        filename = parts[-1]
        for candidate in dict.fromkeys(filter(None, (by_name.get(member), _unhashed(filename), filename))):
            if matching_pattern(candidate, patterns):
                soname = by_name.get(member) or _unhashed(filename)
                raise BuildError(f"{label or repaired.name}: would graft {soname}, which the {policy} policy never grafts")


# ---------------------------------------------------------------------------------------------------
# The target tag


def _glibc_version() -> tuple[int, int] | None:
    with contextlib.suppress(ValueError, OSError, AttributeError):
        text = os.confstr("CS_GNU_LIBC_VERSION") or ""  # "glibc 2.36"
        match = re.fullmatch(r"glibc (\d+)\.(\d+).*", text)
        if match:
            return int(match[1]), int(match[2])
    return None


def best_manylinux_tag(arch: str | None = None, glibc: tuple[int, int] | None = None) -> str | None:
    """The highest ``manylinux_X_Y_<arch>`` auditwheel has a policy for whose glibc X.Y is not above this
    machine's, e.g. ``manylinux_2_36_x86_64`` on Debian 12; None off glibc or where auditwheel says nothing."""
    arch = arch or platform.machine()
    glibc = glibc or _glibc_version()
    if glibc is None:
        return None
    try:
        from importlib.resources import files

        policies = json.loads((files("auditwheel.policy") / "manylinux-policy.json").read_text())
    except (ImportError, OSError, ValueError):
        return None
    best: tuple[int, int] | None = None
    for policy in policies:
        match = re.fullmatch(r"manylinux_(\d+)_(\d+)", policy.get("name", ""))
        if match and arch in policy.get("symbol_versions", {}):
            version = int(match[1]), int(match[2])
            if version <= glibc and (best is None or version > best):
                best = version
    return f"manylinux_{best[0]}_{best[1]}_{arch}" if best else None
