"""The repair step's seam. Pure-Python wheels pass through; auditwheel repair plugs in here."""

from __future__ import annotations

from pathlib import Path
from typing import Protocol


class Repairer(Protocol):
    def repair(self, wheel: Path, out_dir: Path) -> Path:
        """Return the wheel to publish (the same file when nothing needs repair)."""
        ...


class PassThrough:
    """Publishes the wheel as built."""

    def repair(self, wheel: Path, out_dir: Path) -> Path:
        return wheel
