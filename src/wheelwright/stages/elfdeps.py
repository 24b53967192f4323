"""The dynamic-linking facts (DT_SONAME, DT_NEEDED, RPATH/RUNPATH) of the ELF files inside a wheel.

Split out of repair.py: the repairer reads these before and after auditwheel to know the wheel's own
libraries, what they need and whether their RPATHs reach each other.
"""

from __future__ import annotations

import os
import shutil
import zipfile
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path, PurePosixPath


# ---------------------------------------------------------------------------------------------------
# ELF files inside a wheel


@dataclass(frozen=True)
class _Elf:
    member: str  # path inside the wheel
    soname: str | None
    needed: tuple[str, ...]
    rpaths: tuple[str, ...]  # DT_RPATH and DT_RUNPATH entries, as written


def _read_dynamic(path: Path, member: str) -> _Elf | None:
    """DT_SONAME, DT_NEEDED and RPATH/RUNPATH of one ELF file (pyelftools comes with auditwheel)."""
    from elftools.common.exceptions import ELFError
    from elftools.elf.dynamic import DynamicSection
    from elftools.elf.elffile import ELFFile

    from wheelwright.stages.elfscan import tag_string

    soname, needed, rpaths = None, [], []
    try:
        with open(path, "rb") as handle:
            elf = ELFFile(handle)
            for section in elf.iter_sections():
                if not isinstance(section, DynamicSection):
                    continue
                for tag in section.iter_tags():
                    if tag.entry.d_tag == "DT_SONAME":
                        soname = tag_string(tag, "soname")
                    elif tag.entry.d_tag == "DT_NEEDED":
                        needed.append(tag_string(tag, "needed"))
                    elif tag.entry.d_tag == "DT_RPATH":
                        rpaths += tag_string(tag, "rpath").split(":")
                    elif tag.entry.d_tag == "DT_RUNPATH":
                        rpaths += tag_string(tag, "runpath").split(":")
    except (ELFError, OSError, ValueError, KeyError):
        return None
    return _Elf(member, soname, tuple(needed), tuple(r for r in rpaths if r))


def _elf_files(wheel: Path, scratch: Path, only: Iterable[str] | None = None) -> list[_Elf]:
    """Every ELF file in the wheel (or the members in ``only``), read through copies under ``scratch``."""
    found = []
    with zipfile.ZipFile(wheel) as zf:
        wanted = set(only) if only is not None else None
        for index, info in enumerate(zf.infolist()):
            if info.is_dir() or (wanted is not None and info.filename not in wanted):
                continue
            with zf.open(info) as src:
                if src.read(4) != b"\x7fELF":
                    continue
            copy = scratch / f"elf-{index}"
            with zf.open(info) as src, open(copy, "wb") as dst:
                shutil.copyfileobj(src, dst, 1 << 20)
            elf = _read_dynamic(copy, info.filename)
            copy.unlink()
            if elf is not None:
                found.append(elf)
    return found


def _unreachable_own_libraries(elves: Sequence[_Elf]) -> list[str]:
    """Notes for ELF files that need one of the wheel's own libraries their RPATH does not reach."""
    where: dict[str, set[str]] = {}
    for elf in elves:
        path = PurePosixPath(elf.member)
        for name in {path.name, elf.soname} - {None}:
            where.setdefault(name, set()).add(str(path.parent))  # type: ignore[arg-type]
    notes = []
    for elf in elves:
        origin = PurePosixPath(elf.member).parent
        reachable: set[str] = set()  # the loader never looks beside a file unless its RPATH says $ORIGIN
        for entry in elf.rpaths:
            for prefix in ("$ORIGIN", "${ORIGIN}"):
                if entry == prefix or entry.startswith(prefix + "/"):
                    reachable.add(os.path.normpath(str(origin / entry[len(prefix):].lstrip("/"))))
        for soname in elf.needed:
            dirs = where.get(soname)
            if dirs and not ({os.path.normpath(d) for d in dirs} & reachable):
                notes.append(f"{elf.member} needs {soname}, which the wheel ships in {', '.join(sorted(dirs))}, "
                             f"but its RPATH/RUNPATH {list(elf.rpaths)} does not reach it: it loads only if "
                             "something loads it first")
    return notes


def _source_soname(source: Path) -> str:
    elf = _read_dynamic(source, source.name) if source.is_file() else None
    return (elf.soname if elf and elf.soname else None) or source.name
