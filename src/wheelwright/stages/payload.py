"""What GPU code a built module really carries, read from its bytes.

A wheel can build "successfully" with its kernels silently left out: an xFormers ROCm wheel once
skipped HIP compilation, shipped with no code objects at all, and crashed weeks later on MI300X. The
inspector reads each ELF file's CUDA fatbins and HIP offload bundles, and the runtimes it links, so a
check can hold them against the variant's arch list. It never runs a binary, needs no GPU toolkit and
parses only headers, so a whole wheel takes about as long as inflating it.

Static libraries (``.a``) are ar archives: each ELF member is read like a file of its own and reported as
``lib.a(member.o)``, not loadable (see ModulePayload.loadable), the way cuobjdump lists archive members.

This module is the wheel-level API (``inspect_wheel``, ``inspect_elf``, ``inspect_archive``, ``render``). One ELF file is read by
elfscan.py; the fatbin and offload-bundle byte formats are decoded by offload.py, whose docstring lists them.
Every name they define that callers used to import from here is re-exported.
"""

from __future__ import annotations

import contextlib
import mmap
import os
import threading
import zipfile
import zlib
from collections.abc import Iterable, Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from wheelwright.stages.elfscan import (
    AMDGPU_MACH,
    ELF_MAGIC,
    EM_AMDGPU,
    EM_CUDA,
    RUNTIME_LIBRARIES,
    ModulePayload,
    RuntimeLink,
    _bundle_notes,
    _cuda_notes,
    _dedupe,
    _inspect_elf,
    _sorted,
    tag_string,
)
from wheelwright.stages.offload import (
    BUNDLE_MAGIC,
    BUNDLE_SECTION,
    CCOB_MAGIC,
    CCOB_METHODS,
    FATBIN_FLAG_ARCH_SPECIFIC,
    FATBIN_FLAG_DEBUG,
    FATBIN_FLAG_FAMILY_SPECIFIC,
    FATBIN_FLAG_LZ4,
    FATBIN_FLAG_ZSTD,
    FATBIN_KIND_ELF,
    FATBIN_KIND_LTO,
    FATBIN_KIND_PTX,
    FATBIN_MAGIC,
    FATBIN_MAGIC_BYTES,
    FATBIN_SECTIONS,
    RELOCATABLE_FATBIN_SECTION,
    CudaImage,
    HipBundle,
    HipCodeObject,
    _parse_bundles,
    _parse_fatbins,
)


__all__ = [
    "AMDGPU_MACH", "AR_MAGIC", "BUNDLE_MAGIC", "BUNDLE_SECTION", "CCOB_MAGIC", "CCOB_METHODS", "ELF_MAGIC", "EM_AMDGPU",
    "EM_CUDA", "FATBIN_FLAG_ARCH_SPECIFIC", "FATBIN_FLAG_DEBUG", "FATBIN_FLAG_FAMILY_SPECIFIC", "FATBIN_FLAG_LZ4",
    "FATBIN_FLAG_ZSTD", "FATBIN_KIND_ELF", "FATBIN_KIND_LTO", "FATBIN_KIND_PTX", "FATBIN_MAGIC", "FATBIN_MAGIC_BYTES",
    "FATBIN_SECTIONS", "RELOCATABLE_FATBIN_SECTION", "RUNTIME_LIBRARIES", "TEXT_SUFFIXES", "CudaImage", "HipBundle",
    "HipCodeObject", "ModulePayload", "RuntimeLink", "WheelPayload", "inspect_archive", "inspect_elf", "inspect_wheel",
    "render", "tag_string",
]

AR_MAGIC, AR_THIN_MAGIC = b"!<arch>\n", b"!<thin>\n"  # a static library; a thin one only names files elsewhere





@dataclass(frozen=True)
class WheelPayload:
    """Every ELF (or standalone fatbin/bundle) member of one wheel, and every ELF member of its static
    libraries, in name order. ``kind`` and ``gpu_modules`` count them all; the arch sets (``sass``, ``ptx``,
    ``hip_targets``, ``hip_processors``) are what the wheel can run: its loadable modules' only."""

    wheel: str
    modules: tuple[ModulePayload, ...] = ()
    error: str = ""  # the wheel itself could not be read

    @property
    def kind(self) -> str:
        kinds = {k for m in self.modules for k in m.kind.split("+") if k != "none"}
        return "+".join(k for k in ("cuda", "hip") if k in kinds) or "none"

    @property
    def gpu_modules(self) -> tuple[ModulePayload, ...]:
        return tuple(m for m in self.modules if m.kind != "none")

    @property
    def loadable_modules(self) -> tuple[ModulePayload, ...]:
        return tuple(m for m in self.modules if m.loadable)

    @property
    def sass(self) -> frozenset[str]:
        return frozenset().union(*(m.sass for m in self.loadable_modules))

    @property
    def ptx(self) -> frozenset[str]:
        return frozenset().union(*(m.ptx for m in self.loadable_modules))

    @property
    def hip_targets(self) -> frozenset[str]:
        return frozenset().union(*(m.hip_targets for m in self.loadable_modules))

    @property
    def hip_processors(self) -> frozenset[str]:
        return frozenset().union(*(m.hip_processors for m in self.loadable_modules))

    def to_dict(self) -> dict[str, Any]:
        return {"wheel": self.wheel, "kind": self.kind, "error": self.error,
                "modules": [m.to_dict() for m in self.modules]}


# --- one ELF file ---------------------------------------------------------------------------------


def inspect_elf(source: str | os.PathLike[str] | bytes | bytearray | memoryview, name: str | None = None, *,
                runtimes: Mapping[str, Iterable[str]] = RUNTIME_LIBRARIES) -> ModulePayload:
    """Report the device code and accelerator runtimes of one ELF file (a path, or its bytes).

    Never raises for bad input: a file that is not ELF, or is truncated or corrupt, comes back with
    ``error`` set. A standalone fatbin or offload bundle (not ELF) is read too.
    """
    if isinstance(source, (bytes, bytearray, memoryview)):
        return _inspect_buffer(bytes(source) if not isinstance(source, bytes) else source,
                               name or "<bytes>", runtimes)
    path = Path(source)
    name = name or path.name
    try:
        with open(path, "rb") as handle:
            if os.fstat(handle.fileno()).st_size == 0:
                return ModulePayload(name, error="empty file")
            try:
                view = mmap.mmap(handle.fileno(), 0, access=mmap.ACCESS_READ)
            except (OSError, ValueError):  # not mappable (a pipe, a special file): read it
                return _inspect_buffer(handle.read(), name, runtimes)
    except OSError as exc:
        return ModulePayload(name, error=f"cannot read: {exc.strerror or exc}")
    try:
        return _inspect_buffer(view, name, runtimes)
    finally:
        with contextlib.suppress(BufferError):
            view.close()


def _inspect_buffer(buf: bytes | mmap.mmap, name: str, runtimes: Mapping[str, Iterable[str]]) -> ModulePayload:
    try:
        head = buf[:24]
        if head[:4] == FATBIN_MAGIC_BYTES:
            images, notes = _parse_fatbins(buf, 0, len(buf), "<file>")
            return ModulePayload(name, cuda=tuple(images), notes=_dedupe(notes + _cuda_notes(images, None)))
        if head.startswith((BUNDLE_MAGIC, CCOB_MAGIC)):
            bundles, notes = _parse_bundles(buf, 0, len(buf))
            return ModulePayload(name, hip=tuple(bundles), notes=_dedupe(notes + _bundle_notes(bundles)))
        if head.startswith((AR_MAGIC, AR_THIN_MAGIC)):
            return ModulePayload(name, error="a static library (ar archive): inspect_archive reads its members")
        if head[:4] != ELF_MAGIC:
            return ModulePayload(name, error="not an ELF file")
        return _inspect_elf(buf, name, runtimes)
    except Exception as exc:  # pyelftools raises ELFError, struct.error, ValueError… on corrupt input
        return ModulePayload(name, error=f"unreadable ELF: {type(exc).__name__}: {exc}"[:300])

# --- static libraries -----------------------------------------------------------------------------


def inspect_archive(source: str | os.PathLike[str] | bytes | bytearray | memoryview, name: str | None = None, *,
                    runtimes: Mapping[str, Iterable[str]] = RUNTIME_LIBRARIES) -> tuple[ModulePayload, ...]:
    """Every ELF member of a static library (a path, or its bytes), named ``lib.a(member.o)``, in archive
    order and each ``loadable=False``; members that are not ELF (LLVM bitcode, symbol tables) are left out.

    Never raises: an unreadable or damaged archive adds one entry named ``lib.a`` with ``error`` set, after
    the members read before the damage.
    """
    if isinstance(source, (bytes, bytearray, memoryview)):
        return tuple(_inspect_archive(bytes(source), name or "<bytes>", runtimes))
    path = Path(source)
    try:
        data = path.read_bytes()
    except OSError as exc:
        return (ModulePayload(name or path.name, error=f"cannot read: {exc.strerror or exc}"),)
    return tuple(_inspect_archive(data, name or path.name, runtimes))


def _inspect_archive(data: bytes, name: str, runtimes: Mapping[str, Iterable[str]]) -> list[ModulePayload]:
    if data.startswith(AR_THIN_MAGIC):
        return [ModulePayload(name, error="thin static library: its members are files outside it", loadable=False)]
    if not data.startswith(AR_MAGIC):
        return [ModulePayload(name, error="not a static library (no !<arch> magic)", loadable=False)]
    members, damage = _ar_members(data)
    found = [replace(_inspect_buffer(data[start:stop], f"{name}({member})", runtimes), loadable=False)
             for member, start, stop in members if data.startswith(ELF_MAGIC, start)]
    if damage:
        found.append(ModulePayload(name, error=f"malformed static library: {damage}", loadable=False))
    return found


def _ar_members(data: bytes) -> tuple[list[tuple[str, int, int]], str]:
    """(name, start, stop) of each file member of a System V/GNU or BSD ar archive, and what stopped the
    walk early ("" at the end). Symbol tables (``/``, ``/SYM64/``, ``__.SYMDEF``) and the GNU long-name
    table (``//``) are read past; long names (``/123`` into that table, BSD ``#1/N`` before the data) resolved."""
    members: list[tuple[str, int, int]] = []
    long_names = b""
    pos = len(AR_MAGIC)
    while pos < len(data):
        if data[pos:pos + 1] == b"\n":  # stray padding some writers leave
            pos += 1
            continue
        header = data[pos:pos + 60]
        if len(header) < 60 or header[58:60] != b"`\n":
            return members, f"bad member header at {pos:#x}"
        raw = header[:16].decode("utf-8", "replace").rstrip(" ")
        try:
            size = int(header[48:58].decode("ascii").strip() or "0")
        except (UnicodeDecodeError, ValueError):
            return members, f"bad member size at {pos:#x}"
        start, stop = pos + 60, pos + 60 + size
        if stop > len(data):
            return members, f"member {raw!r} runs past the end (truncated?)"
        pos = stop + (size & 1)  # members are 2-aligned
        if raw == "//":
            long_names = data[start:stop]
            continue
        if raw in ("/", "/SYM64/") or raw.startswith("__.SYMDEF"):
            continue
        if raw.startswith("#1/") and raw[3:].isdigit():
            length = int(raw[3:])
            member = data[start:start + length].rstrip(b"\0").decode("utf-8", "replace")
            start = min(start + length, stop)
            if member.startswith("__.SYMDEF"):
                continue
        elif raw.startswith("/") and raw[1:].isdigit():
            offset = int(raw[1:])
            end = long_names.find(b"\n", offset)
            member = long_names[offset:end if end >= 0 else len(long_names)].decode("utf-8", "replace").rstrip("/")
        else:
            member = raw.removesuffix("/")
        members.append((member, start, stop))
    return members, ""

# --- wheels ---------------------------------------------------------------------------------------

_MEMORY_BUDGET = 1 << 30  # bytes of members held at once; a bigger member is read alone
_MAGICS = (ELF_MAGIC, FATBIN_MAGIC_BYTES, BUNDLE_MAGIC, CCOB_MAGIC, AR_MAGIC, AR_THIN_MAGIC)
# Text a wheel is mostly made of (torch: ~15,000 headers and modules): never opened to look for a magic.
TEXT_SUFFIXES = frozenset({
    ".py", ".pyi", ".pyx", ".pxd", ".h", ".hh", ".hpp", ".hxx", ".cuh", ".inl", ".c", ".cc", ".cpp", ".cu",
    ".txt", ".md", ".rst", ".json", ".yaml", ".yml", ".toml", ".cfg", ".ini", ".cmake", ".html", ".css", ".js",
    ".typed", ".proto", ".csv", ".pem",
})


def inspect_wheel(wheel: str | os.PathLike[str], *, runtimes: Mapping[str, Iterable[str]] = RUNTIME_LIBRARIES,
                  workers: int | None = None) -> WheelPayload:
    """Every ELF member of ``wheel``: ``.so`` files, and any other member that starts with an ELF (or a
    bare fatbin or offload bundle) magic, and each ELF member of its static libraries (``.a``, reported as
    ``lib.a(member.o)``). Source and text files (TEXT_SUFFIXES) and dist-info are not opened.

    Members are inflated in memory, never unpacked to disk, on a few threads (zlib lets go of the GIL)
    under a memory budget, so a 1 GB torch wheel is read one big library at a time.
    """
    path = Path(wheel)
    try:
        archive = zipfile.ZipFile(path)
    except (OSError, zipfile.BadZipFile) as exc:
        return WheelPayload(path.name, error=f"cannot read wheel: {exc}")
    with archive:  # one handle for every thread: zipfile serialises the reads, inflating runs in parallel
        try:
            candidates = _candidates(archive)
        except (OSError, zipfile.BadZipFile, EOFError, zlib.error) as exc:
            return WheelPayload(path.name, error=f"cannot read wheel: {exc}")
        budget = _Budget(_MEMORY_BUDGET)

        def one(info: zipfile.ZipInfo) -> list[ModulePayload]:
            try:
                with budget.hold(info.file_size):
                    data = archive.read(info)
                    if data.startswith((AR_MAGIC, AR_THIN_MAGIC)):
                        return _inspect_archive(data, info.filename, runtimes)
                    if not data.startswith(_MAGICS):
                        return []  # a linker script or stub named .so
                    return [_inspect_buffer(data, info.filename, runtimes)]
            except (OSError, zipfile.BadZipFile, EOFError, zlib.error) as exc:
                return [ModulePayload(info.filename, error=f"cannot read member: {exc}")]

        workers = workers or min(4, os.cpu_count() or 1, max(1, len(candidates)))
        with ThreadPoolExecutor(max_workers=workers) as pool:
            results = list(pool.map(one, candidates))
    modules = sorted((m for found in results for m in found), key=lambda m: m.name)
    return WheelPayload(path.name, tuple(modules))


def _candidates(archive: zipfile.ZipFile) -> list[zipfile.ZipInfo]:
    """Members named like libraries, and any other non-text member whose first bytes are a known magic."""
    found = []
    for info in archive.infolist():
        if info.is_dir() or info.file_size < 4:
            continue
        if _looks_like_library(info.filename):
            found.append(info)
        elif not _is_text(info.filename):
            with archive.open(info) as member:
                if member.read(len(BUNDLE_MAGIC)).startswith(_MAGICS):
                    found.append(info)
    return found


def _looks_like_library(name: str) -> bool:
    base = name.rsplit("/", 1)[-1]
    return base.endswith((".so", ".a")) or ".so." in base


def _is_text(name: str) -> bool:
    top, _, rest = name.partition("/")
    if top.endswith(".dist-info") and rest:
        return True
    base = name.rsplit("/", 1)[-1]
    return "." in base and base[base.rindex("."):].lower() in TEXT_SUFFIXES


class _Budget:
    """A byte semaphore: threads wait until the members already in memory leave room for theirs."""

    def __init__(self, limit: int) -> None:
        self.limit, self.used = limit, 0
        self.cond = threading.Condition()

    @contextlib.contextmanager
    def hold(self, size: int) -> Iterator[None]:
        size = min(size, self.limit)
        with self.cond:
            while self.used + size > self.limit:
                self.cond.wait()
            self.used += size
        try:
            yield
        finally:
            with self.cond:
                self.used -= size
                self.cond.notify_all()


# --- text -----------------------------------------------------------------------------------------


def render(payload: WheelPayload | ModulePayload | Iterable[ModulePayload]) -> str:
    """A plain-text table (module | kind | archs | runtimes | notes) for the CLI. Archs are the loadable
    ones; code found only in ``__nv_relfatbin`` follows as ``rdc:compute_90``, and ``?`` is an unreadable bundle."""
    if isinstance(payload, WheelPayload):
        modules = payload.modules
        title = f"{payload.wheel}: {len(modules)} ELF module(s), {len(payload.gpu_modules)} with device code"
        if payload.error:
            return f"{payload.wheel}: {payload.error}\n"
    elif isinstance(payload, ModulePayload):
        modules, title = (payload,), ""
    else:
        modules, title = tuple(payload), ""
    rows = [("module", "kind", "archs", "runtimes", "notes")]
    for m in modules:
        if m.error:
            rows.append((m.name, "error", "", "", m.error))
            continue
        relocatable_only = [f"rdc:{a}" for a in _sorted(m.relocatable - set(m.archs))]  # __nv_relfatbin only
        archs = " ".join((*m.archs, *relocatable_only)) + (" ?" * m.unreadable_bundles)
        rows.append((m.name, m.kind, archs.strip() or "-", " ".join(r.soname for r in m.runtimes) or "-",
                     "; ".join(m.notes)))
    widths = [max(len(row[i]) for row in rows) for i in range(4)]
    lines = [title] if title else []
    for index, row in enumerate(rows):
        lines.append("  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=False)) + "  " + row[4])  # the notes column is not padded
        if index == 0:
            lines.append("  ".join("-" * w for w in widths) + "  " + "-" * 5)
    return "\n".join(line.rstrip() for line in lines) + "\n"
