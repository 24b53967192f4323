"""Copying wheel members untouched: the one place that knows zipfile's raw-copy trick, used by every
step that rewrites a wheel (SBOM embedding, Requires-Dist rewriting)."""

from __future__ import annotations

import stat
import struct
import zipfile
from pathlib import Path

from wheelwright.errors import BuildError


def dist_info(zf: zipfile.ZipFile, wheel: Path) -> str:
    found = sorted({n.split("/", 1)[0] for n in zf.namelist() if n.count("/") == 1 and n.endswith(".dist-info/RECORD")})
    if len(found) != 1:
        raise BuildError(f"{wheel.name}: expected one .dist-info/RECORD, found {len(found)}")
    return found[0]


def normalized_attr(external_attr: int) -> int:
    """A member's Unix mode without the builder's umask: 0644, or 0755 where any execute bit is set (directories
    0755); the file type and the DOS bits stay. setuptools writes the mode its files had on disk, so umask 0002
    turned -rw-r--r-- into -rw-rw-r-- and changed the wheel's bytes (and every SBOM and RECORD built with it)."""
    mode = external_attr >> 16
    if not mode or stat.S_ISLNK(mode):
        return external_attr
    perms = 0o755 if stat.S_ISDIR(mode) or mode & 0o111 else 0o644
    return ((stat.S_IFMT(mode) | perms) << 16) | (external_attr & 0xFFFF)


def clone_info(info: zipfile.ZipInfo) -> zipfile.ZipInfo:
    clone = zipfile.ZipInfo(info.filename, date_time=info.date_time)
    clone.compress_type = info.compress_type
    clone.create_system = info.create_system
    clone.external_attr = normalized_attr(info.external_attr)
    clone.internal_attr = info.internal_attr
    return clone


def copy_raw(zin: zipfile.ZipFile, info: zipfile.ZipInfo, zout: zipfile.ZipFile) -> None:
    """Copy one member's compressed bytes as they are: no recompression (a multi-GB torch wheel copies at disk
    speed) and byte-identical data. zipfile has no public raw copy, so this writes the local header itself and
    registers the entry the way ``ZipFile.open(..., "w")`` does; the central directory is zipfile's own."""
    if info.flag_bits & 0x01:
        raise BuildError(f"{info.filename}: encrypted zip members are not supported")
    assert zin.fp is not None and zout.fp is not None
    zin.fp.seek(info.header_offset)
    header = zin.fp.read(30)
    if header[:4] != b"PK\x03\x04":
        raise BuildError(f"{info.filename}: bad local file header in the wheel")
    name_length, extra_length = struct.unpack("<HH", header[26:30])
    zin.fp.seek(info.header_offset + 30 + name_length + extra_length)

    clone = clone_info(info)
    clone.flag_bits = info.flag_bits & ~0x08  # sizes go in the local header: no data descriptor
    clone.CRC, clone.compress_size, clone.file_size = info.CRC, info.compress_size, info.file_size
    clone.header_offset = zout.fp.tell()
    zout.fp.write(clone.FileHeader())
    remaining = info.compress_size
    while remaining:
        block = zin.fp.read(min(remaining, 1 << 20))
        if not block:
            raise BuildError(f"{info.filename}: the wheel is truncated")
        zout.fp.write(block)
        remaining -= len(block)
    zout.filelist.append(clone)
    zout.NameToInfo[clone.filename] = clone
    zout.start_dir = zout.fp.tell()  # where the next entry (or the central directory) goes
