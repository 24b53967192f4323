"""What GPU code a built module really carries, read from its bytes.

A wheel can build "successfully" with its kernels silently left out: an xFormers ROCm wheel once
skipped HIP compilation, shipped with no code objects at all, and crashed weeks later on MI300X. The
inspector reads each ELF file's CUDA fatbins and HIP offload bundles, and the runtimes it links, so a
check can hold them against the variant's arch list. It never runs a binary, needs no GPU toolkit and
parses only headers, so a whole wheel takes about as long as inflating it.

Formats, as verified against nvcc 13.0, cuobjdump 13.5, Debian's hipcc 5.2 (clang 15) and clang 19:

* CUDA fatbin (sections ``.nv_fatbin`` and, for ``-rdc`` code, ``__nv_relfatbin``): one or more
  fatbins back to back, each a 16-byte header (``<IHHQ``: magic 0xBA55ED50, version 1, header size 16,
  size of the entries that follow), then entries. An entry header (``<HHIQ IIHHI IIQ QQ``, 64 bytes or
  more) is: kind (1 PTX, 2 ELF/SASS cubin, 8 LTO-IR), format version, header size, payload size,
  compressed size, options offset, minor and major version, arch (80 for sm_80), name offset and
  length, flags, reserved, uncompressed size. Flags: 0x1 64-bit, 0x2 debug (-G), 0x10 Linux, 0x2000
  LZ4-compressed (``-compress-mode=speed``; what CUDA 12 libraries ship), 0x8000 zstd-compressed
  (nvcc 13's default for PTX, and for everything under ``-Xfatbin -compress-all``), 0x100000
  arch-specific ``sm_90a``, 0x200000 family-specific ``sm_100f``. The arch is in the entry header, so
  compressed entries are listed without being decompressed.
* Clang offload bundle (section ``.hip_fatbin``): one bundle per translation unit, each aligned to
  4096. Plain: ``__CLANG_OFFLOAD_BUNDLE__``, u64 entry count, then per entry u64 offset (from the
  bundle's start), u64 size, u64 id length and the id, ``hipv4-amdgcn-amd-amdhsa--gfx90a``. Compressed
  (clang >= 18, ``--offload-compress``): ``CCOB``, u16 version, u16 method (0 zlib, 1 zstd), then
  v1: u32 uncompressed size, u64 hash; v2: u32 total size, u32 uncompressed size, u64 hash; v3: u64,
  u64, u64. The total size counts the header; the hash is the first 8 bytes of the MD5 of the
  uncompressed bundle, little-endian. zstd needs the optional ``zstandard`` module; without it the
  bundle is reported as compressed and unreadable.
"""

from __future__ import annotations

import contextlib
import fnmatch
import hashlib
import io
import mmap
import os
import re
import struct
import threading
import zipfile
import zlib
from collections.abc import Iterable, Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType
from typing import IO, Any, cast

from elftools.elf.dynamic import DynamicSection, DynamicSegment, DynamicTag
from elftools.elf.elffile import ELFFile

try:  # optional: only compressed HIP bundles written with zstd need it
    import zstandard as _zstd
except ImportError:  # pragma: no cover - depends on the environment
    _zstd = None  # type: ignore[assignment]  # _compressed_bundle checks for None before _decompress uses it

ELF_MAGIC = b"\x7fELF"
FATBIN_MAGIC = 0xBA55ED50
FATBIN_MAGIC_BYTES = struct.pack("<I", FATBIN_MAGIC)
FATBIN_SECTIONS = (".nv_fatbin", "__nv_relfatbin")
FATBIN_KIND_PTX, FATBIN_KIND_ELF, FATBIN_KIND_LTO = 1, 2, 8
FATBIN_FLAG_DEBUG = 0x2
FATBIN_FLAG_LZ4 = 0x2000
FATBIN_FLAG_ZSTD = 0x8000
FATBIN_FLAG_ARCH_SPECIFIC = 0x100000  # sm_90a
FATBIN_FLAG_FAMILY_SPECIFIC = 0x200000  # sm_100f
_FATBIN_HEADER = struct.Struct("<IHHQ")
_FATBIN_ENTRY = struct.Struct("<HHIQIIHHIIIQQQ")  # 64 bytes; longer headers carry options after it

BUNDLE_SECTION = ".hip_fatbin"
BUNDLE_MAGIC = b"__CLANG_OFFLOAD_BUNDLE__"
CCOB_MAGIC = b"CCOB"
CCOB_METHODS = {0: "zlib", 1: "zstd"}
_CCOB_HEADERS = {1: (20, "<IQ"), 2: (24, "<IIQ"), 3: (32, "<QQQ")}  # size, fields after magic/version/method
_MAX_BUNDLE_ENTRIES = 65536
_MAX_UNCOMPRESSED = 1 << 32

EM_CUDA, EM_AMDGPU = 190, 224
# EF_AMDGPU_MACH values from LLVM's BinaryFormat/ELF.h; each one here was checked against clang 19 output.
AMDGPU_MACH = MappingProxyType({
    0x2C: "gfx900", 0x2F: "gfx906", 0x30: "gfx908", 0x36: "gfx1030", 0x3F: "gfx90a", 0x40: "gfx940",
    0x41: "gfx1100", 0x43: "gfx1150", 0x46: "gfx1101", 0x48: "gfx1200", 0x4A: "gfx1151", 0x4B: "gfx941",
    0x4C: "gfx942", 0x4E: "gfx1201",
})
_AMDGPU_FEATURES = (("sramecc", 0xC00, {0x800: "-", 0xC00: "+"}), ("xnack", 0x300, {0x200: "-", 0x300: "+"}))

# Which runtime a module links says which accelerator it expects, even where it carries no kernels of
# its own (vendor stacks ship theirs as separate recipes). A table, so a new vendor is one line.
RUNTIME_LIBRARIES: Mapping[str, tuple[str, ...]] = MappingProxyType({
    "cuda": ("libcudart.so*", "libcuda.so*"),
    "hip": ("libamdhip64.so*", "libhsa-runtime64.so*"),
    "gaudi": ("libsynapse.so*", "libhl_*"),
    "tpu": ("libtpu.so*",),
    "spyre": ("libsenlib*", "libflex*"),
})


@dataclass(frozen=True)
class CudaImage:
    """One entry of a CUDA fatbin: a SASS cubin for one GPU, PTX for the driver to JIT, or LTO-IR."""

    kind: str  # "sass", "ptx", "lto" (or "kind<N>" for one nvcc may add later)
    arch: str  # sm_90a, compute_90, lto_90
    size: int  # bytes in the fatbin, compressed if compressed
    compressed: bool = False
    compression: str = ""  # "lz4", "zstd"
    debug: bool = False
    section: str = ".nv_fatbin"
    flags: int = 0


@dataclass(frozen=True)
class HipCodeObject:
    """One device entry of an offload bundle: the code object for one target id."""

    target: str  # gfx942, gfx90a:xnack-
    bundle_id: str  # hipv4-amdgcn-amd-amdhsa--gfx942
    size: int


@dataclass(frozen=True)
class HipBundle:
    """One clang offload bundle; a compressed one whose codec is missing has no code objects but an error."""

    offset: int  # within the section
    code_objects: tuple[HipCodeObject, ...] = ()
    compressed: bool = False
    compression: str = ""  # "zlib", "zstd"
    error: str = ""


@dataclass(frozen=True)
class RuntimeLink:
    """A DT_NEEDED entry that names an accelerator runtime."""

    family: str  # a key of RUNTIME_LIBRARIES
    soname: str


@dataclass(frozen=True)
class ModulePayload:
    """What one ELF file carries. ``error`` is set (and the rest is empty) when it could not be read."""

    name: str
    cuda: tuple[CudaImage, ...] = ()
    hip: tuple[HipBundle, ...] = ()
    needed: tuple[str, ...] = ()
    runtimes: tuple[RuntimeLink, ...] = ()
    notes: tuple[str, ...] = ()
    error: str = ""

    @property
    def kind(self) -> str:
        """cuda, hip, cuda+hip or none: which device code the file itself carries."""
        kinds = [k for k, present in (("cuda", self.cuda), ("hip", self.hip)) if present]
        return "+".join(kinds) or "none"

    @property
    def sass(self) -> frozenset[str]:
        return frozenset(i.arch for i in self.cuda if i.kind == "sass")

    @property
    def ptx(self) -> frozenset[str]:
        return frozenset(i.arch for i in self.cuda if i.kind == "ptx")

    @property
    def lto(self) -> frozenset[str]:
        return frozenset(i.arch for i in self.cuda if i.kind == "lto")

    @property
    def hip_targets(self) -> frozenset[str]:
        return frozenset(o.target for b in self.hip for o in b.code_objects)

    @property
    def hip_processors(self) -> frozenset[str]:
        """Targets without their feature settings (gfx942:xnack- -> gfx942), as variants.toml lists archs."""
        return frozenset(t.split(":", 1)[0] for t in self.hip_targets)

    @property
    def unreadable_bundles(self) -> int:
        """HIP bundles whose targets are unknown: a check must not mistake them for missing ones."""
        return sum(1 for b in self.hip if b.error)

    @property
    def archs(self) -> tuple[str, ...]:
        """Every arch label, SASS then PTX then LTO then HIP, each in natural order."""
        return (*_sorted(self.sass), *_sorted(self.ptx), *_sorted(self.lto), *_sorted(self.hip_targets))

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name, "kind": self.kind, "archs": list(self.archs), "error": self.error,
            "cuda": [vars(i) for i in self.cuda],
            "hip": [{**vars(b), "code_objects": [vars(o) for o in b.code_objects]} for b in self.hip],
            "needed": list(self.needed), "runtimes": [vars(r) for r in self.runtimes], "notes": list(self.notes),
        }


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


def _inspect_elf(buf: bytes | mmap.mmap, name: str, runtimes: Mapping[str, Iterable[str]]) -> ModulePayload:
    elf = ELFFile(cast("IO[bytes]", buf) if isinstance(buf, mmap.mmap) else io.BytesIO(buf))  # an mmap reads and seeks like a file
    device_code = elf.little_endian  # fatbins and bundles are little-endian; s390x modules carry none
    images: list[CudaImage] = []
    bundles: list[HipBundle] = []
    notes: list[str] = []
    needed: list[str] = []
    machine = elf.header["e_machine"]
    if machine in ("EM_CUDA", EM_CUDA):
        images.append(_standalone_cubin(elf, len(buf)))
    elif machine in ("EM_AMDGPU", EM_AMDGPU):
        target = _amdgpu_target(elf.header["e_flags"], elf.header["e_ident"]["EI_ABIVERSION"])
        bundles.append(HipBundle(0, (HipCodeObject(target, "code-object", len(buf)),)))
        notes.append("standalone AMDGPU code object")
    dynamic_seen = False
    for section in elf.iter_sections():
        kind = section["sh_type"]
        if isinstance(section, DynamicSection) and not dynamic_seen:
            dynamic_seen = True
            needed = [tag_string(tag, "needed") for tag in section.iter_tags("DT_NEEDED")]
            continue
        if not device_code or kind == "SHT_NOBITS" or section.name not in (*FATBIN_SECTIONS, BUNDLE_SECTION):
            continue
        start, size = section["sh_offset"], section["sh_size"]
        if start + size > len(buf):
            notes.append(f"{section.name} runs past the end of the file (truncated?)")
            size = max(0, len(buf) - start)
        if section.name == BUNDLE_SECTION:
            found, why = _parse_bundles(buf, start, start + size)
            bundles += found
        else:
            cubins, why = _parse_fatbins(buf, start, start + size, section.name)
            images += cubins
        notes += why
    if not dynamic_seen and elf.num_sections() == 0:
        for segment in elf.iter_segments():
            if isinstance(segment, DynamicSegment):
                needed = [tag_string(tag, "needed") for tag in segment.iter_tags("DT_NEEDED")]
                break
    links = tuple(_runtime_links(needed, runtimes))
    device = machine in ("EM_CUDA", EM_CUDA, "EM_AMDGPU", EM_AMDGPU)
    linked = elf.header["e_type"] in ("ET_DYN", "ET_EXEC") and not device
    notes += _cuda_notes(images, links if linked else None) + _bundle_notes(bundles)
    if not images and not bundles:
        notes += [f"links {link.soname} but carries no {_DEVICE_CODE[link.family]}"
                  for link in links if link.family in _DEVICE_CODE]
    return ModulePayload(name, cuda=tuple(images), hip=tuple(bundles), needed=tuple(needed), runtimes=links,
                         notes=_dedupe(notes))


_DEVICE_CODE = {"cuda": "CUDA kernels", "hip": "HIP code objects"}


def tag_string(tag: DynamicTag, field: str) -> str:
    """The string pyelftools resolves for a DT_NEEDED, DT_SONAME, DT_RPATH or DT_RUNPATH tag (``field``:
    "needed", "soname", "rpath", "runpath"); it sets that attribute at run time, so no type declares it."""
    value: str = getattr(tag, field)
    return value


def _runtime_links(needed: Iterable[str], table: Mapping[str, Iterable[str]]) -> Iterator[RuntimeLink]:
    for soname in needed:
        for family, patterns in table.items():
            if any(fnmatch.fnmatchcase(soname, pattern) for pattern in patterns):
                yield RuntimeLink(family, soname)
                break


def _standalone_cubin(elf: ELFFile, size: int) -> CudaImage:
    """A bare .cubin: the arch is in e_flags (low byte before CUDA ELF ABI 8, the next byte from 8 on)."""
    flags = elf.header["e_flags"]
    abi = elf.header["e_ident"]["EI_ABIVERSION"]
    arch = (flags >> 8) & 0xFF if isinstance(abi, int) and abi >= 8 else flags & 0xFF
    return CudaImage("sass", f"sm_{arch}", size, section="<file>", flags=flags)


def _amdgpu_target(flags: int, abi: Any = 2) -> str:
    """Target id of a bare AMDGPU code object; feature bits are read for code object v4+ (ABI 2+) only."""
    mach = flags & 0xFF
    target = AMDGPU_MACH.get(mach, f"gfx?(mach {mach:#x})")
    for feature, mask, values in _AMDGPU_FEATURES if isinstance(abi, int) and abi >= 2 else ():
        if sign := values.get(flags & mask):
            target += f":{feature}{sign}"
    return target


# --- CUDA fatbins ---------------------------------------------------------------------------------


def _parse_fatbins(buf: bytes | mmap.mmap, start: int, end: int, section: str) -> tuple[list[CudaImage], list[str]]:
    """Every entry of every fatbin in ``buf[start:end]``; damage stops the walk with a note, never raises."""
    images: list[CudaImage] = []
    notes: list[str] = []
    pos = start
    while pos + _FATBIN_HEADER.size <= end:
        found = buf.find(FATBIN_MAGIC_BYTES, pos, end)
        if found < 0:
            break
        if _nonzero(buf, pos, found):
            notes.append(f"{section}: {found - pos} unrecognised bytes at {pos - start:#x}")
        pos = found
        if pos + _FATBIN_HEADER.size > end:
            break
        _, _, header_size, fat_size = _FATBIN_HEADER.unpack_from(buf, pos)
        stop = pos + header_size + fat_size
        if header_size < _FATBIN_HEADER.size or stop > end:
            notes.append(f"{section}: malformed fatbin header at {pos - start:#x}")
            return images, notes
        entry = pos + header_size
        while entry + _FATBIN_ENTRY.size <= stop:
            image, length = _fatbin_entry(buf, entry, stop, section)
            if image is None:
                notes.append(f"{section}: malformed fatbin entry at {entry - start:#x}")
                return images, notes
            images.append(image)
            entry += length
        pos = stop
    if pos < end and _nonzero(buf, pos, end):
        notes.append(f"{section}: {end - pos} unrecognised bytes at {pos - start:#x}")
    return images, notes


def _fatbin_entry(buf: bytes | mmap.mmap, at: int, stop: int, section: str) -> tuple[CudaImage | None, int]:
    (kind, _version, header_size, size, _csize, _options, _minor, _major, arch, _name_off, _name_len, flags,
     _reserved, _usize) = _FATBIN_ENTRY.unpack_from(buf, at)
    if header_size < _FATBIN_ENTRY.size or at + header_size + size > stop:
        return None, 0
    suffix = "a" if flags & FATBIN_FLAG_ARCH_SPECIFIC else "f" if flags & FATBIN_FLAG_FAMILY_SPECIFIC else ""
    label = {FATBIN_KIND_ELF: ("sass", "sm"), FATBIN_KIND_PTX: ("ptx", "compute"),
             FATBIN_KIND_LTO: ("lto", "lto")}.get(kind, (f"kind{kind}", f"kind{kind}"))
    compression = "zstd" if flags & FATBIN_FLAG_ZSTD else "lz4" if flags & FATBIN_FLAG_LZ4 else ""
    image = CudaImage(label[0], f"{label[1]}_{arch}{suffix}", size, bool(compression), compression,
                      bool(flags & FATBIN_FLAG_DEBUG), section, flags)
    return image, header_size + size


def _cuda_notes(images: list[CudaImage], links: tuple[RuntimeLink, ...] | None) -> list[str]:
    if not images:
        return []
    notes = []
    if compressed := [i for i in images if i.compressed]:
        codecs = "/".join(sorted({i.compression for i in compressed}))
        notes.append(f"{len(compressed)} of {len(images)} CUDA images compressed ({codecs})")
    if not any(i.kind == "sass" for i in images):
        notes.append("no SASS: PTX/LTO only, compiled by the driver at load time")
    if unknown := sorted({i.kind for i in images} - {"sass", "ptx", "lto"}):
        notes.append(f"unknown fatbin entry kinds: {', '.join(unknown)}")
    if debug := sum(i.debug for i in images):
        notes.append(f"{debug} debug (-G) images")
    if links is not None and not any(link.family == "cuda" for link in links):
        notes.append("no CUDA runtime in DT_NEEDED (cudart linked statically)")
    return notes


# --- HIP offload bundles --------------------------------------------------------------------------


def _parse_bundles(buf: bytes | mmap.mmap, start: int, end: int) -> tuple[list[HipBundle], list[str]]:
    """Every bundle, plain or compressed, in ``buf[start:end]`` (one per translation unit, padded)."""
    bundles: list[HipBundle] = []
    notes: list[str] = []
    pos = start
    while pos < end:
        hits = [h for h in (buf.find(BUNDLE_MAGIC, pos, end), buf.find(CCOB_MAGIC, pos, end)) if h >= 0]
        if not hits:
            break
        found = min(hits)
        if _nonzero(buf, pos, found):
            notes.append(f"{BUNDLE_SECTION}: {found - pos} unrecognised bytes at {pos - start:#x}")
        if buf[found:found + 4] == CCOB_MAGIC:
            bundle, length = _compressed_bundle(buf, found, end, found - start)
        else:
            bundle, length = _plain_bundle(buf, found, end, found - start)
        bundles.append(bundle)
        pos = found + max(length, 4)
    if pos < end and _nonzero(buf, pos, end):
        notes.append(f"{BUNDLE_SECTION}: {end - pos} unrecognised bytes at {pos - start:#x}")
    return bundles, notes


def _plain_bundle(buf: bytes | mmap.mmap, base: int, end: int, offset: int, compressed: str = ""
                  ) -> tuple[HipBundle, int]:
    """An uncompressed bundle at ``base``; its length is where its last entry ends."""
    try:
        (count,) = struct.unpack_from("<Q", buf, base + len(BUNDLE_MAGIC))
        if count > _MAX_BUNDLE_ENTRIES:
            raise ValueError(f"{count} entries")
        at, stop = base + len(BUNDLE_MAGIC) + 8, base
        objects = []
        for _ in range(count):
            entry_offset, size, id_length = struct.unpack_from("<QQQ", buf, at)
            bundle_id = bytes(buf[at + 24:at + 24 + id_length]).decode("ascii", "replace")
            at += 24 + id_length
            if at > end or base + entry_offset + size > end:
                raise ValueError(f"entry {bundle_id!r} runs past the end")
            stop = max(stop, at, base + entry_offset + size)
            kind, target = _split_bundle_id(bundle_id)
            if kind != "host":
                objects.append(HipCodeObject(target, bundle_id, size))
    except (struct.error, ValueError) as exc:
        return HipBundle(offset, compressed=bool(compressed), compression=compressed,
                         error=f"malformed offload bundle: {exc}"), len(BUNDLE_MAGIC)
    return HipBundle(offset, tuple(objects), bool(compressed), compressed), stop - base


def _split_bundle_id(bundle_id: str) -> tuple[str, str]:
    """``hipv4-amdgcn-amd-amdhsa--gfx90a:xnack-`` -> (hipv4, gfx90a:xnack-); the triple's env is empty for HIP."""
    kind, _, rest = bundle_id.partition("-")
    if "--" in rest:
        return kind, rest.split("--", 1)[1]
    match = re.search(r"-((?:gfx|amdgcnspirv)\S*)$", rest)  # pre-clang-12 ids: hip-amdgcn-amd-amdhsa-gfx906
    return kind, match.group(1) if match else rest


def _compressed_bundle(buf: bytes | mmap.mmap, base: int, end: int, offset: int) -> tuple[HipBundle, int]:
    """A CCOB bundle: decompress it (zlib always, zstd when ``zstandard`` is installed) and read it."""
    try:
        version, method = struct.unpack_from("<HH", buf, base + 4)
        if version not in _CCOB_HEADERS:
            raise ValueError(f"unknown version {version}")
        header_size, layout = _CCOB_HEADERS[version]
        fields = struct.unpack_from(layout, buf, base + 8)
    except (struct.error, ValueError) as exc:
        return HipBundle(offset, compressed=True, error=f"malformed compressed bundle: {exc}"), 4
    total, uncompressed, stored_hash = (None, *fields) if version == 1 else fields
    codec = CCOB_METHODS.get(method, f"method {method}")
    if total is not None and (total < header_size or base + total > end):
        return HipBundle(offset, compressed=True, compression=codec,
                         error=f"compressed bundle of {total} bytes runs past the end"), 4
    length = total if total is not None else end - base
    if method not in CCOB_METHODS:
        return HipBundle(offset, compressed=True, compression=codec, error=f"unknown compression {codec}"), length
    if method == 1 and _zstd is None:
        return HipBundle(offset, compressed=True, compression=codec,
                         error="zstd-compressed bundle unreadable: install zstandard"), length
    if uncompressed > _MAX_UNCOMPRESSED:
        return HipBundle(offset, compressed=True, compression=codec,
                         error=f"claims {uncompressed} uncompressed bytes"), length
    payload = buf[base + header_size:base + length]
    try:
        data, consumed = _decompress(method, payload, uncompressed, total is not None)
    except Exception as exc:  # zlib.error, zstandard.ZstdError
        return HipBundle(offset, compressed=True, compression=codec,
                         error=f"cannot decompress bundle: {exc}"), length
    if total is None:
        length = header_size + consumed
    if int.from_bytes(hashlib.md5(data).digest()[:8], "little") != stored_hash:
        return HipBundle(offset, compressed=True, compression=codec,
                         error="compressed bundle hash mismatch (corrupt)"), length
    if not data.startswith(BUNDLE_MAGIC):
        return HipBundle(offset, compressed=True, compression=codec,
                         error="compressed bundle holds no offload bundle"), length
    bundle, _ = _plain_bundle(data, 0, len(data), offset, codec)
    return bundle, length


def _decompress(method: int, payload: bytes, size: int, bounded: bool) -> tuple[bytes, int]:
    """The uncompressed bytes (at most ``size``) and how many input bytes the stream used.

    ``bounded``: the payload is exactly the stream (v2, v3); a v1 header gives no length, so the
    stream's own end says where the next bundle may start.
    """
    if method == 0:
        stream = zlib.decompressobj()
        data = stream.decompress(payload, size)
        return data, len(payload) - len(stream.unused_data)
    if bounded:
        return _zstd.ZstdDecompressor().decompress(payload, max_output_size=size), len(payload)
    zstream = _zstd.ZstdDecompressor().decompressobj()
    data = zstream.decompress(payload)
    return data[:size], len(payload) - len(getattr(zstream, "unused_data", b""))


def _bundle_notes(bundles: list[HipBundle]) -> list[str]:
    notes = [b.error for b in bundles if b.error]
    if compressed := [b for b in bundles if b.compressed and not b.error]:
        codecs = "/".join(sorted({b.compression for b in compressed}))
        notes.append(f"{len(compressed)} of {len(bundles)} offload bundles compressed ({codecs})")
    for bundle in bundles:
        notes += [f"empty code object for {o.target}" for o in bundle.code_objects if o.size == 0]
        if not bundle.error and not bundle.code_objects:
            notes.append("offload bundle with no device code objects")
    return notes


def _dedupe(notes: list[str]) -> tuple[str, ...]:
    """Each note once, in first-seen order, with a count where it repeats (one per bundle adds up)."""
    counts: dict[str, int] = {}
    for note in notes:
        counts[note] = counts.get(note, 0) + 1
    return tuple(note if count == 1 else f"{note} (x{count})" for note, count in counts.items())


def _nonzero(buf: bytes | mmap.mmap, start: int, stop: int) -> bool:
    return stop > start and bool(bytes(buf[start:stop]).strip(b"\0"))


def _sorted(labels: Iterable[str]) -> list[str]:
    return sorted(labels, key=lambda s: [int(t) if t.isdigit() else t for t in re.split(r"(\d+)", s)])


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
