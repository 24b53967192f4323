"""Edit a built wheel's ``Requires-Dist`` so what ``pip install`` pulls from our index is what the recipe decided
(a ROCm vllm needs ``amd-aiter`` and no ``nvidia-*``), touching nothing else in the wheel."""

from __future__ import annotations

import base64
import csv
import fnmatch
import hashlib
import io
import re
import zipfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from packaging.requirements import InvalidRequirement, Requirement
from packaging.utils import InvalidWheelFilename, canonicalize_name, parse_wheel_filename
from packaging.version import Version

from wheelwright.errors import BuildError
from wheelwright.fsutil import atomic_writer
from wheelwright.stages.zipcopy import clone_info, copy_raw
from wheelwright.stages.zipcopy import dist_info as find_dist_info


@dataclass(frozen=True)
class _Header:
    """One logical METADATA header: its physical lines (continuations included), kept as they were written."""

    lines: tuple[str, ...]

    @property
    def is_requires_dist(self) -> bool:
        return self.lines[0].split(":", 1)[0].strip().lower() == "requires-dist"

    @property
    def value(self) -> str:
        return re.sub(r"\r?\n", "", "".join(self.lines).split(":", 1)[1]).strip()


def rewrite_requires_dist(wheel: Path, out: Path, *, add: Sequence[str], drop: Sequence[str]) -> tuple[str, ...]:
    """Write ``wheel`` to ``out`` with Requires-Dist lines whose canonical name matches a ``drop`` fnmatch pattern
    removed and ``add`` requirements appended (after the kept ones; an identical line is not repeated; an add wins
    over a drop). Every other header, the body and every other member stay byte-for-byte; RECORD gets METADATA's new
    hash and size. When nothing changes ``out`` is not written. Returns the final Requires-Dist values."""
    added: list[str] = []
    for item in add:
        try:
            added.append(str(Requirement(item)))
        except InvalidRequirement as exc:
            raise BuildError(f"{wheel.name}: recipe requirement {item!r} to add is not a valid requirement: {exc}") from None
    patterns = [canonicalize_name(pattern) for pattern in drop]  # "nvidia_*" means "nvidia-*", as names do
    with zipfile.ZipFile(wheel) as zin:
        dist_info = find_dist_info(zin, wheel)
        metadata_name, record_name = f"{dist_info}/METADATA", f"{dist_info}/RECORD"
        try:
            old = zin.read(metadata_name)
        except KeyError:
            raise BuildError(f"{wheel.name}: no {metadata_name}") from None
        new, requires = _edit_metadata(old.decode("utf-8"), patterns, added)
        if new == old:
            return requires
        if {f"{record_name}.jws", f"{record_name}.p7s"} & set(zin.namelist()):
            raise BuildError(f"{wheel.name}: RECORD is signed; changing Requires-Dist would break the signature")
        _replace_member(zin, wheel, out, metadata_name, new, record_name)
    return requires


def _replace_member(zin: zipfile.ZipFile, wheel: Path, out: Path, member: str, data: bytes, record_name: str) -> None:
    """``wheel`` written to ``out`` with one member's bytes replaced and its RECORD line updated; every other member
    copied raw, in order, with its own metadata."""
    record = _record_with(zin.read(record_name).decode("utf-8"), member, data, wheel)
    with atomic_writer(out) as handle, zipfile.ZipFile(handle, "w") as zout:
        zout.comment = zin.comment
        for info in zin.infolist():
            if info.filename in (member, record_name):
                zout.writestr(clone_info(info), data if info.filename == member else record)
            else:
                copy_raw(zin, info, zout)


def _edit_metadata(text: str, patterns: Sequence[str], added: Sequence[str]) -> tuple[bytes, tuple[str, ...]]:
    """Split the header block into logical headers (the body after the first blank line is left alone), drop and
    append Requires-Dist headers, and join it back with the file's own line ending."""
    headers: list[list[str]] = []
    pos = 0
    while pos < len(text):
        end = text.find("\n", pos)
        end = len(text) if end < 0 else end + 1
        line = text[pos:end]
        if line in ("\n", "\r\n"):
            break
        if line[:1] in (" ", "\t") and headers:
            headers[-1].append(line)
        else:
            headers.append([line])
        pos = end
    newline = "\r\n" if "\r\n" in text[:pos] or (not headers and text.startswith("\r\n")) else "\n"
    kept: list[_Header] = []
    last_requires = -1
    for header in (_Header(tuple(lines)) for lines in headers):
        if header.is_requires_dist:
            name, normalized = _parse(header.value)
            if normalized not in added and any(fnmatch.fnmatchcase(name, pattern) for pattern in patterns):
                continue
            last_requires = len(kept)
        kept.append(header)
    present = {_parse(header.value)[1] for header in kept if header.is_requires_dist}
    new_headers = [_Header((f"Requires-Dist: {req}{newline}",)) for req in dict.fromkeys(added) if req not in present]
    at = last_requires + 1 if last_requires >= 0 else len(kept)
    if new_headers and at and not kept[at - 1].lines[-1].endswith("\n"):  # last header had no line ending (no body)
        kept[at - 1] = _Header((*kept[at - 1].lines[:-1], kept[at - 1].lines[-1] + newline))
    kept[at:at] = new_headers
    result = "".join(line for header in kept for line in header.lines) + text[pos:]
    return result.encode("utf-8"), tuple(header.value for header in kept if header.is_requires_dist)


def _parse(value: str) -> tuple[str, str]:
    """(canonical name, normalized line) of a Requires-Dist value; a line packaging cannot parse keeps its leading name."""
    try:
        requirement = Requirement(value)
    except InvalidRequirement:
        match = re.match(r"[A-Za-z0-9._-]+", value)
        return canonicalize_name(match.group(0) if match else ""), value
    return canonicalize_name(requirement.name), str(requirement)


def _record_with(record: str, member: str, data: bytes, wheel: Path) -> str:
    """RECORD with ``member``'s line given ``data``'s hash and size, keeping every other line and the line endings."""
    lines = record.splitlines(keepends=True)
    for index, line in enumerate(lines):
        if line.strip() and next(csv.reader([line]))[0] == member:
            ending = line[len(line.rstrip("\r\n")) :]
            digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
            buffer = io.StringIO()
            csv.writer(buffer, lineterminator=ending).writerow([member, f"sha256={digest}", len(data)])
            lines[index] = buffer.getvalue()
            return "".join(lines)
    raise BuildError(f"{wheel.name}: RECORD has no line for {member}")




def set_build_tag(wheel: Path, out: Path, tag: int) -> Path:
    """``wheel`` as ``out`` (its name carrying build tag ``tag``) with ``Build: tag`` in its WHEEL file, RECORD updated:
    PEP 427's build number, so pip prefers it over the untagged wheel of the same version and tags."""
    with zipfile.ZipFile(wheel) as zin:
        dist_info = find_dist_info(zin, wheel)
        wheel_name, record_name = f"{dist_info}/WHEEL", f"{dist_info}/RECORD"
        lines = [line for line in zin.read(wheel_name).decode("utf-8").splitlines() if not line.startswith("Build:")]
        new = ("\n".join(lines).rstrip("\n") + f"\nBuild: {tag}\n").encode()
        _replace_member(zin, wheel, out, wheel_name, new, record_name)
    return out


def require_planned_identity(wheel: Path, name: str, version: str, log_path: str | None = None) -> None:
    """The wheel a backend returns must be the project and version the graph planned. Two real ways it is not, both
    silent in a plain `pip wheel`: triton's setup.py names its wheel `triton` unless TRITON_WHEEL_NAME says
    pytorch-triton-rocm, and setuptools-scm in a tree without .git versions it 0.1.0."""
    try:
        built_name, built_version, _, _ = parse_wheel_filename(wheel.name)
    except InvalidWheelFilename as exc:
        raise BuildError(f"{wheel.name}: not a wheel file name ({exc})", log_path) from None
    if built_name != canonicalize_name(name) or Version(built_version.public) != Version(Version(version).public):  # a local label (+cu130) is the build's own
        raise BuildError(f"{wheel.name}: the backend built {built_name} {built_version}, not the {canonicalize_name(name)} {version} "
                         f"the graph planned (a renamed wheel or a fallback version: check the recipe's env)", log_path)
