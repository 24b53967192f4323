"""Putting an SBOM inside a wheel (PEP 770) and hashing a wheel's content so that doing so changes nothing.

Split out of sbom.py: this is zip and RECORD surgery and knows nothing of CycloneDX; sbom.py's
``finalize_wheel`` runs it between building the embedded and the published copy.
"""

from __future__ import annotations

import base64
import csv
import hashlib
import io
import zipfile
from pathlib import Path

from wheelwright.errors import BuildError
from wheelwright.fsutil import atomic_writer
from wheelwright.stages.zipcopy import clone_info, copy_raw
from wheelwright.stages.zipcopy import dist_info as find_dist_info

EMBEDDED_SBOM_NAME = "wheelwright.cdx.json"


def wheel_content_sha256(wheel: Path) -> str:
    """SHA-256 of the ``sha256sum``-style listing of a wheel's files, sorted by path, leaving out RECORD, its
    signatures and ``.dist-info/sboms/*``: what the wheel contains, unchanged by embedding an SBOM."""
    with zipfile.ZipFile(wheel) as zf:
        dist_info = find_dist_info(zf, wheel)
        skip = {f"{dist_info}/RECORD", f"{dist_info}/RECORD.jws", f"{dist_info}/RECORD.p7s"}
        lines = []
        for info in zf.infolist():
            if info.is_dir() or info.filename in skip or info.filename.startswith(f"{dist_info}/sboms/"):
                continue
            digest = hashlib.sha256()
            with zf.open(info) as member:
                for block in iter(lambda: member.read(1 << 20), b""):
                    digest.update(block)
            lines.append(f"{digest.hexdigest()}  {info.filename}\n")
    return hashlib.sha256("".join(sorted(lines, key=lambda line: line[66:])).encode()).hexdigest()


def embed_sbom(wheel: Path, sbom: bytes, out: Path, *, filename: str = EMBEDDED_SBOM_NAME) -> Path:
    """Write a copy of ``wheel`` to ``out`` (atomically) with ``sbom`` as ``<dist-info>/sboms/<filename>``
    (PEP 770) and a RECORD line for it (sha256 + size), so installers still verify it. Every other member keeps
    its order, bytes, timestamp and mode; the SBOM goes just before RECORD with RECORD's timestamp; an earlier
    copy of the same file is replaced. Other members are copied still compressed (``_copy_raw``), so this takes
    about as long as copying the file. ``wheel`` itself is never changed (``out`` may be the same path)."""
    if "/" in filename or not filename.endswith(".json"):
        raise ValueError(f"SBOM file name {filename!r}: a plain file name ending in .json")
    with zipfile.ZipFile(wheel) as zin:
        dist_info = find_dist_info(zin, wheel)
        record_name, member = f"{dist_info}/RECORD", f"{dist_info}/sboms/{filename}"
        names = set(zin.namelist())
        if names & {f"{record_name}.jws", f"{record_name}.p7s"}:
            raise BuildError(f"{wheel.name}: RECORD is signed; adding an SBOM would break the signature")
        record_info = zin.getinfo(record_name)
        folded = {f"{dist_info}/sboms/{name}" for name in FOLDED_SBOMS}
        record = _record_with(zin.read(record_info).decode("utf-8"), record_name, member, sbom, drop=folded)
        with atomic_writer(out) as handle, zipfile.ZipFile(handle, "w") as zout:
            for info in zin.infolist():
                if info.filename == member or info.filename in folded:
                    continue
                if info.filename == record_name:
                    sbom_info = zipfile.ZipInfo(member, date_time=record_info.date_time)
                    sbom_info.compress_type = zipfile.ZIP_DEFLATED
                    sbom_info.create_system = 3
                    sbom_info.external_attr = 0o100644 << 16
                    zout.writestr(sbom_info, sbom)
                    zout.writestr(clone_info(info), record.encode("utf-8"))
                    continue
                copy_raw(zin, info, zout)
    return out


#: SBOMs other tools put into the wheel that ours replaces: auditwheel's (CycloneDX 1.4) names each grafted library's
#: distribution package and nothing else (no licence, no hash); ours states that package too (syspackages.py), with
#: the library's sha256, licence and origin path, so one document per wheel is the record and the weaker one goes.
FOLDED_SBOMS = ("auditwheel.cdx.json",)


def _record_with(record: str, record_name: str, member: str, data: bytes, drop: set[str] | frozenset[str] = frozenset()) -> str:
    """RECORD with one line for ``member`` (any old one dropped, and the lines of ``drop``), placed before RECORD's own line."""
    lines = record.splitlines(keepends=True)
    newline = "\r\n" if lines and lines[0].endswith("\r\n") else "\n"
    if lines and not lines[-1].endswith(("\n", "\r")):
        lines[-1] += newline
    digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator=newline).writerow([member, f"sha256={digest}", len(data)])
    kept: list[str] = []
    at: int | None = None
    for line in lines:
        path = next(csv.reader([line]), [""])[0] if line.strip() else ""
        if path == member or path in drop:
            continue
        if path == record_name and at is None:
            at = len(kept)
        kept.append(line)
    kept.insert(len(kept) if at is None else at, buffer.getvalue())
    return "".join(kept)
