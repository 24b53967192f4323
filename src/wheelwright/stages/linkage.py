"""The libraries a module must link, checked in the wheel about to be published.

Optional accelerator libraries are where CMake's autodetection bites: torch's build turns cuDNN, cuSPARSELt or NVSHMEM
off with a warning when it does not find them, torchvision skips its PNG/JPEG/WebP decoders when a header is missing,
and either way a wheel comes out, imports, and lacks the feature. A recipe declares what it wants
(``links``: module pattern -> soname patterns); a module that does not have each one as DT_NEEDED fails the build,
naming it. Read after repair: a library auditwheel grafted is matched under its original name
(libpng16-1a2b3c4d.so.16, auditwheel's spelling, and libpng16.1a2b3c4d.so.16, PyTorch's, count as libpng16.so.16).
"""

from __future__ import annotations

import fnmatch
import re
import tempfile
import zipfile
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import IO

from wheelwright.errors import VerificationFailed
from wheelwright.stages.elfdeps import _elf_files

_GRAFTED = re.compile(r"[-.][0-9a-f]{8}(?=\.so)")  # the hash a repair tool adds to a grafted library's name


def ungrafted(soname: str) -> str:
    """The name a grafted library had before auditwheel renamed it."""
    return _GRAFTED.sub("", soname, count=1)


def missing_links(wheel: Path, declared: Mapping[str, Sequence[str]]) -> list[str]:
    """One line per declared module that is absent, or that does not link a library it must."""
    if not declared:
        return []
    with zipfile.ZipFile(wheel) as archive:
        members = [n for n in archive.namelist() if not n.endswith("/")]
    problems = []
    with tempfile.TemporaryDirectory(prefix="ww-links-") as scratch:
        for pattern, libraries in sorted(declared.items()):
            matched = [m for m in members if fnmatch.fnmatchcase(m, pattern)]
            if not matched:
                problems.append(f"no member matches {pattern} (declared to link {', '.join(libraries)})")
                continue
            elves = {elf.member: elf for elf in _elf_files(wheel, Path(scratch), only=matched)}
            for member in matched:
                elf = elves.get(member)
                needed = {ungrafted(n) for n in elf.needed} if elf else set()
                lacking = [lib for lib in libraries if not any(fnmatch.fnmatchcase(n, lib) for n in needed)]
                if elf is None:
                    problems.append(f"{member} is not an ELF shared object (declared to link {', '.join(libraries)})")
                elif lacking:
                    problems.append(f"{member} does not link {', '.join(lacking)} (it links {', '.join(sorted(needed)) or 'nothing'})")
    return problems


def missing_members(wheel: Path, patterns: Sequence[str]) -> list[str]:
    """The declared member patterns nothing in the wheel matches."""
    with zipfile.ZipFile(wheel) as archive:
        members = archive.namelist()
    return [f"no member matches {p}" for p in patterns if not any(fnmatch.fnmatchcase(m, p) for m in members)]


def require_links(wheel: Path, declared: Mapping[str, Sequence[str]], ships: Sequence[str] = (), *, recipe: str | None, variant: str,
                  log: IO[str]) -> None:
    """Refuse the wheel (before anything is published) when a declared library is not linked or a declared file is absent."""
    if not declared and not ships:
        return
    missing = missing_links(wheel, declared) + missing_members(wheel, ships)
    log.write("# links and files: " + ("; ".join(missing) or f"every declared library linked and file present "
                                                               f"({len(declared)} modules, {len(ships)} files)") + "\n")
    if missing:
        raise VerificationFailed(f"{wheel.name}: lacks what {recipe} declares for {variant}: {'; '.join(missing)}", log.name)
