"""Find and apply ``patches/<pkg>/[<version>/][<variant>/]*.patch`` in name order, and say what in
``patches/`` would be silently ignored (:func:`patch_problems`)."""

from __future__ import annotations

import hashlib
import re
import subprocess
from collections.abc import Collection, Mapping
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


#: A project name as PEP 508 allows it (before normalising).
_NAME = re.compile(r"^([A-Z0-9]|[A-Z0-9][A-Z0-9._-]*[A-Z0-9])$", re.IGNORECASE)


def patch_problems(patches_dir: Path, planned: Mapping[str, Collection[str]], variant_names: frozenset[str]) -> list[str]:
    """One message per thing under ``patches_dir`` that :func:`find_patches` would silently ignore or that cannot
    apply to this plan, each naming its path (``patches/...``). Pure: reads the tree, raises nothing.

    ``planned``: package name -> the versions the plan builds. Reported: a package directory whose name is not the
    canonical (PEP 503) name; any file that is not ``*.patch`` (except ``README*`` and hidden files such as
    ``.gitkeep``), anywhere in the tree, including loose files directly in ``patches/``; a version directory that
    is not a version, or (for a package in the plan) a version the plan does not build; a variant directory that is
    not a known variant; a directory nested where nothing is read (inside a variant directory). A package not in
    the plan is otherwise fine: its patches may be for other runs."""
    if not patches_dir.is_dir():
        return []
    plan = {canonicalize_name(name): versions for name, versions in planned.items()}
    def shown(path: Path) -> str:
        return str(Path(patches_dir.name) / path.relative_to(patches_dir))

    known = ", ".join(sorted(variant_names)) or "none"
    problems: list[str] = []

    def files_only(directory: Path, leaf: bool) -> list[Path]:
        """Report stray files in ``directory``; its subdirectories (reported here when ``leaf``) are returned."""
        subdirs = []
        for child in sorted(directory.iterdir()):
            if child.is_dir():
                if leaf:
                    problems.append(f"{shown(child)}: a directory inside a variant directory; nothing in it is read (patches go directly in {shown(directory)}/)")
                else:
                    subdirs.append(child)
            elif child.suffix != ".patch" and not child.name.startswith(("README", ".")):
                problems.append(f"{shown(child)}: not a *.patch file; only *.patch files are applied (this one is ignored)")
        return subdirs

    for package in sorted(patches_dir.iterdir()):
        if not package.is_dir():
            if not package.name.startswith(("README", ".")):
                problems.append(f"{shown(package)}: not in a package directory; patches go under {patches_dir.name}/<package>/ (this one is ignored)")
            continue
        name = canonicalize_name(package.name)
        if not _NAME.match(package.name):
            problems.append(f"{shown(package)}: not a package name (these patches are ignored)")
            continue
        if package.name != name:
            problems.append(f"{shown(package)}: not a normalised package name; patches for {name} go under {patches_dir.name}/{name}/ (these are ignored)")
            continue
        for child in files_only(package, leaf=False):
            if child.name in variant_names:
                files_only(child, leaf=True)
                continue
            try:
                version = Version(child.name)
            except InvalidVersion:
                problems.append(f"{shown(child)}: neither a version nor a known variant ({known}); these patches are ignored")
                continue
            if name in plan and not any(_same_version(v, version) for v in plan[name]):
                builds = ", ".join(sorted(plan[name])) or "no version"
                problems.append(f"{shown(child)}: the plan does not build {name} {version} (it builds {builds}); these patches are not applied")
            for grandchild in files_only(child, leaf=False):
                if grandchild.name in variant_names:
                    files_only(grandchild, leaf=True)
                else:
                    problems.append(f"{shown(grandchild)}: not a known variant ({known}); these patches are ignored")
    return problems


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
