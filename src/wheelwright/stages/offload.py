"""Decoding the device code an ELF section (or a standalone file) holds: CUDA fatbins and clang offload bundles.

Split out of payload.py so the byte formats live apart from ELF walking and the wheel-level API; it reads
only buffers, never files, and knows nothing of ELF.

Formats, as verified against nvcc 13.0, cuobjdump 13.5, Debian's hipcc 5.2 (clang 15) and clang 19:

* CUDA fatbin (sections ``.nv_fatbin`` and, for ``-rdc`` code, ``__nv_relfatbin``, which only nvlink reads:
  a device-linked library keeps its objects' ``__nv_relfatbin`` beside the ``.nv_fatbin`` the runtime loads,
  and the two can differ, e.g. PTX that was never device-linked): one or more
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

import hashlib
import mmap
import re
import struct
import zlib
from dataclasses import dataclass

try:  # optional: only compressed HIP bundles written with zstd need it
    import zstandard as _zstd
except ImportError:  # pragma: no cover - depends on the environment
    _zstd = None  # type: ignore[assignment]  # _compressed_bundle checks for None before _decompress uses it

FATBIN_MAGIC = 0xBA55ED50
FATBIN_MAGIC_BYTES = struct.pack("<I", FATBIN_MAGIC)
FATBIN_SECTIONS = (".nv_fatbin", "__nv_relfatbin")
RELOCATABLE_FATBIN_SECTION = "__nv_relfatbin"  # -rdc device code for nvlink; the CUDA runtime never loads it
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

    @property
    def relocatable(self) -> bool:
        """Relocatable device code (``__nv_relfatbin``, from ``-rdc``): input to the device linker, which
        writes what the runtime loads into ``.nv_fatbin``. A GPU with only this code for it has nothing to run."""
        return self.section == RELOCATABLE_FATBIN_SECTION


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


def _nonzero(buf: bytes | mmap.mmap, start: int, stop: int) -> bool:
    return stop > start and bool(bytes(buf[start:stop]).strip(b"\0"))
