"""Two builds of one wheel, compared byte for byte, and each difference named by its class.

reprotest says *that* two builds differ; a build engineer needs to know *why* before fixing anything: the zip's own
metadata (member order, modes), its timestamps, RECORD (which only follows other changes), a compiled module's
build-id or debug paths, an absolute path of the build embedded in a file, the embedded SBOM, or plain content. Where
diffoscope is installed its text report of the pair is kept as the detail.
"""

from __future__ import annotations

import shutil
import subprocess
import zipfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from wheelwright.fsutil import sha256_file

#: The classes, in the order a fix usually goes (zip metadata first: everything else then reads cleanly).
CLASSES = ("zip metadata", "timestamp", "RECORD", "build-id or debug paths", "embedded absolute path", "SBOM", "content", "missing")


@dataclass(frozen=True)
class MemberDifference:
    member: str
    kind: str  # one of CLASSES


@dataclass(frozen=True)
class WheelComparison:
    """One published wheel against its rebuild."""

    wheel: str
    identical: bool
    differences: tuple[MemberDifference, ...] = ()
    detail: str = ""  # diffoscope's first lines, when it ran

    @property
    def classes(self) -> tuple[str, ...]:
        found = {d.kind for d in self.differences}
        return tuple(c for c in CLASSES if c in found)

    def to_json(self) -> dict[str, object]:
        return {"identical": self.identical, "classes": list(self.classes),
                "members": [{"member": d.member, "class": d.kind} for d in self.differences[:50]],
                **({"diffoscope": self.detail} if self.detail else {})}


def compare_wheels(published: Path, rebuilt: Path | None, build_paths: Sequence[str] = (), *, diffoscope_lines: int = 40) -> WheelComparison:
    """Byte comparison, then the class of every member that differs. ``build_paths`` are the absolute directories the
    two builds ran in (either one found inside a member is an embedded absolute path)."""
    if rebuilt is None or not rebuilt.is_file():
        return WheelComparison(published.name, False, (MemberDifference("(the whole wheel)", "missing"),))
    if sha256_file(published) == sha256_file(rebuilt):
        return WheelComparison(published.name, True)
    differences = _member_differences(published, rebuilt, [p.encode() for p in build_paths if p])
    return WheelComparison(published.name, False, tuple(differences), _diffoscope(published, rebuilt, diffoscope_lines))


def _member_differences(a: Path, b: Path, paths: list[bytes]) -> list[MemberDifference]:
    found: list[MemberDifference] = []
    with zipfile.ZipFile(a) as za, zipfile.ZipFile(b) as zb:
        ia, ib = za.infolist(), zb.infolist()
        if [i.filename for i in ia] != [i.filename for i in ib]:
            found.append(MemberDifference("(member list or order)", "zip metadata"))
        theirs = {i.filename: i for i in ib}
        for info in ia:
            other = theirs.get(info.filename)
            if other is None:
                found.append(MemberDifference(info.filename, "missing"))
                continue
            if (info.external_attr, info.create_system, info.compress_type) != (other.external_attr, other.create_system, other.compress_type):
                found.append(MemberDifference(info.filename, "zip metadata"))
            if info.date_time != other.date_time:
                found.append(MemberDifference(info.filename, "timestamp"))
            if info.CRC == other.CRC and info.file_size == other.file_size:
                continue
            found.append(MemberDifference(info.filename, _content_class(info.filename, za.read(info), zb.read(other), paths)))
    return found


def _content_class(member: str, mine: bytes, theirs: bytes, paths: list[bytes]) -> str:
    if member.endswith(".dist-info/RECORD"):
        return "RECORD"
    if "/sboms/" in member and member.endswith(".json"):
        return "SBOM"
    if any(p in mine or p in theirs for p in paths):
        return "embedded absolute path"
    if mine[:4] == b"\x7fELF" and theirs[:4] == b"\x7fELF":
        return "build-id or debug paths" if _build_id(mine) != _build_id(theirs) or b".debug_" in mine else "content"
    return "content"


def _build_id(elf: bytes) -> bytes:
    """The GNU build-id note's payload (searched, not parsed: a note's name "GNU\\0" precedes its 20-byte id)."""
    at = elf.find(b"\x04\x00\x00\x00\x14\x00\x00\x00\x03\x00\x00\x00GNU\x00")
    return elf[at + 16:at + 36] if at >= 0 else b""


def _diffoscope(a: Path, b: Path, lines: int) -> str:
    tool = shutil.which("diffoscope")
    if tool is None:
        return ""
    try:
        result = subprocess.run([tool, "--text", "-", "--max-report-size", "200000", str(a), str(b)], capture_output=True, text=True, timeout=300)
    except subprocess.TimeoutExpired:
        return "diffoscope: timed out after 300 s"
    return "\n".join(result.stdout.splitlines()[:lines])
