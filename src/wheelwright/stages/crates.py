"""Rust crates are fetched before the network goes away.

A maturin or setuptools-rust build runs cargo, and cargo downloads crates. Builds have no network,
so before the first build hook Wheelwright runs ``cargo vendor`` (with the engine's own cargo
configuration: crates.io, or the mirror an air-gapped shop configures with source replacement) into
a cache keyed by the tree's manifests and lock files, then hands the build a CARGO_HOME with the
source replacement cargo printed for it (crates-io and any git sources point at that directory)
and the network forbidden. The crates vendored are
recorded (name, version, checksum) for the SBOM.
"""

from __future__ import annotations

import functools
import hashlib
import os
import shutil
import subprocess
import tempfile
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from wheelwright.errors import OfflineMiss, SourceError
from wheelwright.stages.sbomfacts import CrateFacts

#: Directories whose Cargo.toml files are not the package's own build (fixtures, fuzzers, vendored copies).
_SKIP = frozenset({"target", "vendor", ".cargo", "tests", "test", "examples", "benches", "fuzz", "docs", ".git"})


@dataclass(frozen=True)
class VendoredCrates:
    """What a build needs to use them: a CARGO_HOME to hand it, and what was vendored."""

    cargo_home: Path
    crates: tuple[CrateFacts, ...]  # checksum from Cargo.lock; empty for git dependencies

    def env(self) -> dict[str, str]:
        return {"CARGO_HOME": str(self.cargo_home), "CARGO_NET_OFFLINE": "true"}


def cargo_manifests(source_dir: Path) -> list[Path]:
    """The tree's top Cargo.toml files: nested ones are covered by the workspace or path deps above them."""
    found: list[Path] = []
    for directory, subdirs, files in os.walk(source_dir):
        subdirs[:] = sorted(d for d in subdirs if d not in _SKIP)
        if "Cargo.toml" in files:
            found.append(Path(directory) / "Cargo.toml")
            subdirs[:] = []
    return found


def vendor_crates(source_dir: Path, cache_dir: Path, work_dir: Path, log: IO[str], *, offline: bool = False) -> VendoredCrates | None:
    """Vendor every crate the tree's Rust code needs, outside the build's network namespace; None when
    the tree has no Rust. Lock files cargo writes (an sdist without Cargo.lock) are put into the tree."""
    manifests = cargo_manifests(source_dir)
    if not manifests:
        return None
    key = _key(source_dir)
    entry = cache_dir / key
    if not (entry / "config.toml").is_file():
        if offline:
            raise OfflineMiss(f"{source_dir.name}: its Rust crates (key {key[:12]}) are not in the crate cache {cache_dir}")
        _vendor(source_dir, manifests, entry, log)
    for lock in (entry / "locks").rglob("Cargo.lock"):
        shutil.copyfile(lock, source_dir / lock.relative_to(entry / "locks"))
    cargo_home = work_dir / "cargo-home"
    cargo_home.mkdir(parents=True, exist_ok=True)
    (cargo_home / "config.toml").write_text((entry / "config.toml").read_text() + "\n[net]\noffline = true\n")
    crates = _locked_crates([m.parent / "Cargo.lock" for m in manifests])
    log.write(f"# vendored {len(crates)} crates from {entry / 'vendor'}; the build gets CARGO_HOME={cargo_home} (offline)\n")
    return VendoredCrates(cargo_home, crates)


def _key(source_dir: Path) -> str:
    """Everything that decides which crates get vendored: manifests and locks of the whole tree, the cargo."""
    digest = hashlib.sha256()
    for path in sorted(p for p in source_dir.rglob("Cargo.*") if p.name in ("Cargo.toml", "Cargo.lock")):
        digest.update(str(path.relative_to(source_dir)).encode() + b"\0" + path.read_bytes() + b"\0")
    digest.update(_cargo_version().encode())
    return digest.hexdigest()


@functools.cache
def _cargo_version() -> str:
    try:
        return subprocess.run(["cargo", "--version"], capture_output=True, text=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        raise SourceError("cargo not found: this package has Rust code, install a Rust toolchain (rustup) first") from None


def _vendor(source_dir: Path, manifests: list[Path], entry: Path, log: IO[str]) -> None:
    """``cargo vendor`` into a temp dir beside the cache entry, then one rename: never a half entry."""
    entry.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=entry.parent, prefix=f".{entry.name[:12]}.") as scratch:
        staging = Path(scratch)
        command = ["cargo", "vendor", "--respect-source-config", "--versioned-dirs", "--manifest-path", str(manifests[0])]
        for extra in manifests[1:]:
            command += ["--sync", str(extra)]
        command.append(str(staging / "vendor"))
        log.write(f"# {' '.join(command)}\n")
        log.flush()
        result = subprocess.run(command, cwd=source_dir, stdin=subprocess.DEVNULL, capture_output=True, text=True)
        log.write(result.stdout + result.stderr)
        if result.returncode != 0:
            last = next((line for line in reversed(result.stderr.strip().splitlines()) if line.strip()), "?")
            raise SourceError(f"{source_dir.name}: cargo vendor failed before the build (exit {result.returncode}): {last.strip()}")
        (staging / "vendor").mkdir(exist_ok=True)  # a crate with no dependencies vendors nothing
        # cargo prints the source replacement the vendored tree needs: crates-io, and every git source too
        (staging / "config.toml").write_text(result.stdout.replace(str(staging / "vendor"), str(entry / "vendor")))
        for manifest in manifests:
            lock = manifest.parent / "Cargo.lock"
            if lock.is_file():
                target = staging / "locks" / lock.relative_to(source_dir)
                target.parent.mkdir(parents=True, exist_ok=True)
                shutil.copyfile(lock, target)
        if entry.exists() and not (entry / "config.toml").is_file():
            shutil.rmtree(entry)  # an incomplete entry of an older layout
        try:
            os.replace(staging, entry)
        except OSError:
            if not (entry / "config.toml").is_file():
                raise
            return  # another build vendored the same manifests first; theirs is as good
        staging.mkdir()  # TemporaryDirectory cleans up a path that must exist


def _locked_crates(locks: list[Path]) -> tuple[CrateFacts, ...]:
    crates: dict[tuple[str, str], CrateFacts] = {}
    for lock in locks:
        try:
            packages = tomllib.loads(lock.read_text()).get("package", [])
        except (OSError, tomllib.TOMLDecodeError):
            continue
        for package in packages:
            if "source" in package:  # path crates (the package's own) have no source
                crate = CrateFacts(name=package["name"], version=package["version"], checksum=package.get("checksum", ""))
                crates[(crate.name, crate.version)] = crate
    return tuple(sorted(crates.values(), key=lambda c: (c.name, c.version)))
