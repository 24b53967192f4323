"""Find and apply ``patches/<pkg>/[<version>/][<variant>/]*.patch`` in name order."""

from __future__ import annotations

import hashlib
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from packaging.utils import canonicalize_name
from packaging.version import InvalidVersion, Version

from wheelwright.errors import SourceError


@dataclass(frozen=True)
class Patch:
    path: Path
    sha256: str


def find_patches(patches_dir: Path, name: str, version: Version, variant: str, variants: frozenset[str]) -> tuple[Patch, ...]:
    """Patches for this package that apply to this version and variant, sorted by file name."""
    root = patches_dir / canonicalize_name(name)
    if not root.is_dir():
        return ()
    found: list[Path] = list(root.glob("*.patch"))
    for child in root.iterdir():
        if not child.is_dir():
            continue
        if child.name in variants:
            if child.name == variant:
                found += child.glob("*.patch")
        elif _same_version(child.name, version):
            found += child.glob("*.patch")
            found += (child / variant).glob("*.patch")
    ordered = sorted(found, key=lambda p: (p.name, str(p)))
    return tuple(Patch(p, hashlib.sha256(p.read_bytes()).hexdigest()) for p in ordered)


def _same_version(text: str, version: Version) -> bool:
    try:
        return Version(text) == version
    except InvalidVersion:
        return False


def apply_patches(patches: tuple[Patch, ...], source_dir: Path, log: IO[str]) -> None:
    """Apply each patch (dry run first, so a failure leaves nothing half-applied) or raise naming it."""
    for patch in patches:
        for extra in (["--dry-run"], []):
            result = subprocess.run(
                ["patch", "-p1", "--batch", "--forward", "--no-backup-if-mismatch", *extra, "-i", str(patch.path)],
                cwd=source_dir,
                capture_output=True,
                text=True,
            )
            log.write(f"$ patch -p1 {' '.join(extra)} -i {patch.path}\n{result.stdout}{result.stderr}")
            if result.returncode != 0:
                failing = [line for line in (result.stdout + result.stderr).splitlines() if "FAILED" in line or "can't find" in line.lower()]
                detail = failing[0].strip() if failing else (result.stdout + result.stderr).strip().splitlines()[-1:]
                raise SourceError(f"patch {patch.path.name} does not apply to {source_dir.name}: {detail}")
