"""What GPU code a built module really carries, read from its bytes.

A wheel can build "successfully" with its kernels silently left out: an xFormers ROCm wheel once
skipped HIP compilation, shipped with no code objects at all, and crashed weeks later on MI300X. The
inspector reads each ELF file's CUDA fatbins and HIP offload bundles, and the runtimes it links, so a
check can hold them against the variant's arch list. It never runs a binary, needs no GPU toolkit and
parses only headers, so a whole wheel takes about as long as inflating it.

This module is the wheel-level API (``inspect_wheel``, ``inspect_elf``, ``render``). One ELF file is read by
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
from dataclasses import dataclass
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
    CudaImage,
    HipBundle,
    HipCodeObject,
    _parse_bundles,
    _parse_fatbins,
)


__all__ = [
    "AMDGPU_MACH", "BUNDLE_MAGIC", "BUNDLE_SECTION", "CCOB_MAGIC", "CCOB_METHODS", "ELF_MAGIC", "EM_AMDGPU", "EM_CUDA",
    "FATBIN_FLAG_ARCH_SPECIFIC", "FATBIN_FLAG_DEBUG", "FATBIN_FLAG_FAMILY_SPECIFIC", "FATBIN_FLAG_LZ4", "FATBIN_FLAG_ZSTD",
    "FATBIN_KIND_ELF", "FATBIN_KIND_LTO", "FATBIN_KIND_PTX", "FATBIN_MAGIC", "FATBIN_MAGIC_BYTES", "FATBIN_SECTIONS",
    "RUNTIME_LIBRARIES", "TEXT_SUFFIXES", "CudaImage", "HipBundle", "HipCodeObject", "ModulePayload", "RuntimeLink",
    "WheelPayload", "inspect_elf", "inspect_wheel", "render", "tag_string",
]





@dataclass(frozen=True)
class WheelPayload:
    """Every ELF (or standalone fatbin/bundle) member of one wheel, in member-name order."""

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
    def sass(self) -> frozenset[str]:
        return frozenset().union(*(m.sass for m in self.modules))

    @property
    def ptx(self) -> frozenset[str]:
        return frozenset().union(*(m.ptx for m in self.modules))

    @property
    def hip_targets(self) -> frozenset[str]:
        return frozenset().union(*(m.hip_targets for m in self.modules))

    @property
    def hip_processors(self) -> frozenset[str]:
        return frozenset().union(*(m.hip_processors for m in self.modules))

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
        if head[:4] != ELF_MAGIC:
            return ModulePayload(name, error="not an ELF file")
        return _inspect_elf(buf, name, runtimes)
    except Exception as exc:  # pyelftools raises ELFError, struct.error, ValueError… on corrupt input
        return ModulePayload(name, error=f"unreadable ELF: {type(exc).__name__}: {exc}"[:300])

# --- wheels ---------------------------------------------------------------------------------------

_MEMORY_BUDGET = 1 << 30  # bytes of members held at once; a bigger member is read alone
_MAGICS = (ELF_MAGIC, FATBIN_MAGIC_BYTES, BUNDLE_MAGIC, CCOB_MAGIC)
# Text a wheel is mostly made of (torch: ~15,000 headers and modules): never opened to look for a magic.
TEXT_SUFFIXES = frozenset({
    ".py", ".pyi", ".pyx", ".pxd", ".h", ".hh", ".hpp", ".hxx", ".cuh", ".inl", ".c", ".cc", ".cpp", ".cu",
    ".txt", ".md", ".rst", ".json", ".yaml", ".yml", ".toml", ".cfg", ".ini", ".cmake", ".html", ".css", ".js",
    ".typed", ".proto", ".csv", ".pem",
})


def inspect_wheel(wheel: str | os.PathLike[str], *, runtimes: Mapping[str, Iterable[str]] = RUNTIME_LIBRARIES,
                  workers: int | None = None) -> WheelPayload:
    """Every ELF member of ``wheel``: ``.so`` files, and any other member that starts with an ELF (or a
    bare fatbin or offload bundle) magic. Source and text files (TEXT_SUFFIXES) and dist-info are not opened.

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

        def one(info: zipfile.ZipInfo) -> ModulePayload | None:
            try:
                with budget.hold(info.file_size):
                    data = archive.read(info)
                    if not data.startswith(_MAGICS):
                        return None  # a linker script or stub named .so
                    return _inspect_buffer(data, info.filename, runtimes)
            except (OSError, zipfile.BadZipFile, EOFError, zlib.error) as exc:
                return ModulePayload(info.filename, error=f"cannot read member: {exc}")

        workers = workers or min(4, os.cpu_count() or 1, max(1, len(candidates)))
        with ThreadPoolExecutor(max_workers=workers) as pool:
            results = list(pool.map(one, candidates))
    modules = sorted((r for r in results if r is not None), key=lambda m: m.name)
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
    return base.endswith(".so") or ".so." in base


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
    """A plain-text table (module | kind | archs | runtimes | notes) for the CLI."""
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
        archs = " ".join(m.archs) + (" ?" * m.unreadable_bundles)
        rows.append((m.name, m.kind, archs.strip() or "-", " ".join(r.soname for r in m.runtimes) or "-",
                     "; ".join(m.notes)))
    widths = [max(len(row[i]) for row in rows) for i in range(4)]
    lines = [title] if title else []
    for index, row in enumerate(rows):
        lines.append("  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=False)) + "  " + row[4])  # the notes column is not padded
        if index == 0:
            lines.append("  ".join("-" * w for w in widths) + "  " + "-" * 5)
    return "\n".join(line.rstrip() for line in lines) + "\n"
