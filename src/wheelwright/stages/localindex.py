"""The local PEP 503 index: the only place builds install from, and what users pip install from."""

from __future__ import annotations

import contextlib
import html
import threading
from collections.abc import Callable
from pathlib import Path

from packaging.tags import Tag
from packaging.utils import canonicalize_name, parse_wheel_filename
from packaging.version import Version

from wheelwright.errors import PublishError
from wheelwright.fsutil import atomic_copy, atomic_write_text, sha256_file


class LocalIndex:
    """``root/<project>/<wheel>`` plus index.html pages, every write atomic."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self._lock = threading.Lock()

    def publish(self, wheel: Path) -> Path:
        """Copy ``wheel`` in (replacing a same-named one atomically) and refresh the pages. A failed
        write (a full disk) leaves the index exactly as it was: a new wheel no page lists is taken back."""
        name = canonicalize_name(parse_wheel_filename(wheel.name)[0])
        target = self.root / name / wheel.name
        with self._lock:
            existed = target.exists()
            try:
                atomic_copy(wheel, target)
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
        """Newest wheel of ``name`` whose version ``accept`` takes and whose tags fit the target."""
        best: tuple[Version, Path] | None = None
        for wheel in self.wheels(name):
            _, version, _, wheel_tags = parse_wheel_filename(wheel.name)
            if accept(version) and wheel_tags & tags and (best is None or version > best[0]):
                best = (version, wheel)
        return best

    def _write_project_page(self, name: str) -> None:
        links = "\n".join(
            f'<a href="{html.escape(w.name)}#sha256={sha256_file(w)}">{html.escape(w.name)}</a><br/>' for w in self.wheels(name)
        )
        atomic_write_text(self.root / name / "index.html", f"<!DOCTYPE html>\n<html><body>\n{links}\n</body></html>\n")

    def _write_root_page(self) -> None:
        projects = sorted(p.name for p in self.root.iterdir() if p.is_dir() and any(p.glob("*.whl")))
        links = "\n".join(f'<a href="{p}/">{p}</a><br/>' for p in projects)
        atomic_write_text(self.root / "index.html", f"<!DOCTYPE html>\n<html><body>\n{links}\n</body></html>\n")
