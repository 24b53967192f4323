"""A source's ``[build-system]`` table, read at plan time from the archive (with its patches applied).

The planner needs it to know which build tools to resolve before anything is built; the executor
reads it again from the prepared tree and refuses a build whose tree disagrees with the plan.
"""

from __future__ import annotations

import tarfile
import tempfile
import tomllib
import zipfile
from collections.abc import Sequence
from io import StringIO
from typing import Any
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from wheelwright.errors import SourceError
from wheelwright.recipes.patches import Patch, apply_patches
from wheelwright.remote.sources import UnpackLimits, unpack_sdist


def read_archive_build_system(archive: Path, patches: Sequence[Patch], label: str, limits: UnpackLimits) -> BuildSystem:
    """Without patches the archive's own pyproject.toml is enough; with patches the tree is unpacked
    and patched in a scratch directory, because a patch may change [build-system]."""
    if patches:
        with tempfile.TemporaryDirectory(prefix="ww-plan-") as scratch:
            tree = unpack_sdist(archive, Path(scratch) / "src", limits)
            apply_patches(tuple(patches), tree, StringIO())
            pyproject = tree / "pyproject.toml"
            return parse_build_system(pyproject.read_text() if pyproject.exists() else None, label)
    return parse_build_system(_pyproject_text(archive), label)


def _pyproject_text(archive: Path) -> str | None:
    try:
        if archive.name.endswith(".zip"):
            with zipfile.ZipFile(archive) as zf:
                names = [n for n in zf.namelist() if n.count("/") == 1 and n.endswith("/pyproject.toml")]
                return zf.read(names[0]).decode() if names else None
        with tarfile.open(archive) as tar:
            member = next((m for m in tar.getmembers() if m.isfile() and m.name.count("/") == 1 and m.name.endswith("/pyproject.toml")), None)
            handle = tar.extractfile(member) if member else None
            return handle.read().decode() if handle else None
    except (tarfile.TarError, zipfile.BadZipFile, OSError, EOFError, UnicodeDecodeError) as exc:
        archive.unlink(missing_ok=True)  # a broken or hostile archive is not kept in the cache
        raise SourceError(f"{archive.name}: cannot unpack: {exc}") from None


#: PEP 517's fallback for projects without a [build-system] table.
LEGACY_BACKEND = ("setuptools.build_meta:__legacy__", ("setuptools>=40.8.0",))


@dataclass(frozen=True)
class BuildSystem:
    """The [build-system] table, with PEP 517 defaults filled in."""

    requires: tuple[str, ...]
    backend: str
    backend_path: tuple[str, ...] | None

    def to_json(self) -> dict[str, Any]:
        return {"requires": list(self.requires), "backend": self.backend, "backend_path": list(self.backend_path) if self.backend_path is not None else None}

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> BuildSystem:
        path = data.get("backend_path")
        return cls(tuple(data["requires"]), data["backend"], tuple(path) if path is not None else None)


def read_build_system(source_dir: Path, label: str) -> BuildSystem:
    pyproject = source_dir / "pyproject.toml"
    return parse_build_system(pyproject.read_text() if pyproject.exists() else None, label)


def parse_build_system(text: str | None, label: str) -> BuildSystem:
    """PEP 517/518 defaults: no pyproject.toml, or no build-backend, means setuptools' legacy backend."""
    if text is None:
        return BuildSystem(LEGACY_BACKEND[1], LEGACY_BACKEND[0], None)
    try:
        table = tomllib.loads(text).get("build-system", {})
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise SourceError(f"{label}: pyproject.toml is not valid TOML: {exc}") from None
    if "build-backend" not in table:
        return BuildSystem(tuple(table.get("requires", LEGACY_BACKEND[1])), LEGACY_BACKEND[0], None)
    path = table.get("backend-path")
    return BuildSystem(tuple(table.get("requires", ())), table["build-backend"], tuple(path) if path is not None else None)


