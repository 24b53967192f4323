"""The local PEP 503 index: the only place builds install from, and what users pip install from.

A published file never changes: within one index a filename maps to one sha256 forever (PyPI, ``pip
--require-hashes`` and uv lock files assume it). A wheel whose bytes differ from the published one of the
same name gets the next free PEP 427 build tag (``name-1.0-1-py3-none-any.whl``), chosen by the caller
through :meth:`LocalIndex.free_name`; :meth:`publish` refuses anything else. ``index.json`` beside the pages
is the index's manifest: one entry per file in ``simple/``, written under the same lock as the file.
"""

from __future__ import annotations

import contextlib
import html
import json
import threading
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from packaging.tags import Tag
from packaging.utils import canonicalize_name, parse_wheel_filename
from packaging.version import Version

from wheelwright.errors import PublishError
from wheelwright.fsutil import atomic_copy, atomic_write_text, sha256_file

MANIFEST_FORMAT = 1


def with_build_tag(filename: str, tag: int | None) -> str:
    """``pkg-1.0-py3-none-any.whl`` with build tag ``tag`` (None: without one)."""
    parts = filename[:-4].split("-")
    head = parts[:2]  # distribution and version as the file spells them
    tail = parts[-3:]
    return "-".join(head + ([str(tag)] if tag is not None else []) + tail) + ".whl"


class LocalIndex:
    """``root/<project>/<wheel>`` plus index.html pages and ``root/../index.json``, every write atomic."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.manifest_path = root.parent / "index.json"
        self._lock = threading.Lock()

    # ----- the manifest ---------------------------------------------------------------------------

    def manifest(self) -> dict[str, dict[str, Any]]:
        """filename -> entry, for every wheel the index holds."""
        if not self.manifest_path.is_file():
            return {}
        data = json.loads(self.manifest_path.read_text())
        wheels: dict[str, dict[str, Any]] = data.get("wheels", {})
        return wheels

    def reconcile(self, variant: str) -> list[str]:
        """Make the manifest match ``simple/`` (an index from before the manifest, or a file removed by hand):
        files without an entry get one saying so; entries without a file go. Returns what changed."""
        with self._lock:
            wheels = self.manifest()
            on_disk = {p.name: p for p in self.root.glob("*/*.whl")} if self.root.is_dir() else {}
            changed = [f"{name}: in the manifest, not in simple/ (entry dropped)" for name in sorted(set(wheels) - set(on_disk))]
            for name in sorted(set(on_disk) - set(wheels)):
                project, version, _, _ = parse_wheel_filename(name)
                wheels[name] = {"project": project, "version": str(version), "sha256": sha256_file(on_disk[name]),
                                "origin": "found in simple/ without a manifest entry (published before the manifest existed)"}
                changed.append(f"{name}: in simple/, not in the manifest (entry added)")
            for name in sorted(set(wheels) - set(on_disk)):
                del wheels[name]
            if changed or not self.manifest_path.is_file():
                self._write_manifest(wheels, variant)
        return changed

    def _write_manifest(self, wheels: Mapping[str, Mapping[str, Any]], variant: str) -> None:
        atomic_write_text(self.manifest_path, json.dumps({"format": MANIFEST_FORMAT, "variant": variant,
                                                          "wheels": dict(sorted(wheels.items()))}, indent=1, sort_keys=True) + "\n")

    # ----- publishing -----------------------------------------------------------------------------

    def free_name(self, filename: str, sha256: str) -> tuple[str, str | None]:
        """The name this wheel may be published under: its own when free or holding these very bytes, else
        the next build tag that is free (or holds these bytes). Also returns the published file it differs from."""
        project = canonicalize_name(parse_wheel_filename(filename)[0])
        wheels = self.manifest()
        plain = with_build_tag(filename, None)
        differs = None
        for tag in (None, *range(1, 1000)):
            candidate = with_build_tag(plain, tag)
            path = self.root / project / candidate
            published = wheels.get(candidate, {}).get("sha256") or (sha256_file(path) if path.is_file() else None)
            if published is None or published == sha256:
                return candidate, differs
            differs = differs or candidate
        raise PublishError(f"{filename}: a thousand build tags are taken; clean the index")

    def publish(self, wheel: Path, entry: Mapping[str, Any], variant: str) -> Path:
        """Copy ``wheel`` in and record ``entry`` for it, then refresh the pages. A name that holds other
        bytes is refused (a published file never changes); the same bytes again change nothing but the entry.
        A failed write (a full disk) leaves the index exactly as it was."""
        name = canonicalize_name(parse_wheel_filename(wheel.name)[0])
        target = self.root / name / wheel.name
        sha = sha256_file(wheel)
        with self._lock:
            wheels = self.manifest()
            existed = target.exists()
            if existed and sha256_file(target) != sha:
                raise PublishError(f"{wheel.name}: the index already holds other bytes under this name "
                                   f"({wheels.get(wheel.name, {}).get('node', 'published earlier')}); a published file never changes")
            try:
                if not existed:
                    atomic_copy(wheel, target)
                wheels[wheel.name] = {**dict(entry), "sha256": sha}
                self._write_manifest(wheels, variant)
                self._write_project_page(name)
                self._write_root_page()
            except OSError as exc:
                if not existed:
                    target.unlink(missing_ok=True)
                    with contextlib.suppress(OSError):
                        target.parent.rmdir()  # only if it is empty: a new project's directory
                raise PublishError(f"{wheel.name}: cannot publish to {self.root}: {exc.strerror or exc}; the index is unchanged") from None
        return target

    def remove_partial_files(self) -> None:
        for leftover in self.root.glob("**/.*.tmp"):
            leftover.unlink(missing_ok=True)

    def wheels(self, name: str) -> list[Path]:
        directory = self.root / canonicalize_name(name)
        return sorted(directory.glob("*.whl")) if directory.is_dir() else []

    def best_wheel(self, name: str, accept: Callable[[Version], bool], tags: frozenset[Tag]) -> tuple[Version, Path] | None:
        """Newest wheel of ``name`` whose version ``accept`` takes and whose tags fit the target (highest build tag first, as pip)."""
        best: tuple[tuple[Version, tuple[int, str] | tuple[()]], Path] | None = None
        for wheel in self.wheels(name):
            _, version, build, wheel_tags = parse_wheel_filename(wheel.name)
            if accept(version) and wheel_tags & tags and (best is None or (version, build) > best[0]):
                best = ((version, build), wheel)
        return (best[0][0], best[1]) if best else None

    def _write_project_page(self, name: str) -> None:
        links = "\n".join(
            f'<a href="{html.escape(w.name)}#sha256={sha256_file(w)}">{html.escape(w.name)}</a><br/>' for w in self.wheels(name)
        )
        atomic_write_text(self.root / name / "index.html", f"<!DOCTYPE html>\n<html><body>\n{links}\n</body></html>\n")

    def _write_root_page(self) -> None:
        projects = sorted(p.name for p in self.root.iterdir() if p.is_dir() and any(p.glob("*.whl")))
        links = "\n".join(f'<a href="{p}/">{p}</a><br/>' for p in projects)
        atomic_write_text(self.root / "index.html", f"<!DOCTYPE html>\n<html><body>\n{links}\n</body></html>\n")
