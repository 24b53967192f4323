"""Rust crates are fetched before the network goes away.

A maturin or setuptools-rust build runs cargo, and cargo downloads crates. Builds have no network,
so before the first build hook Wheelwright runs ``cargo vendor`` (with the engine's own cargo
configuration: crates.io, or the mirror an air-gapped shop configures with source replacement) into
a cache keyed by the tree's manifests and lock files, then hands the build a CARGO_HOME with the
source replacement cargo printed for it (crates-io and any git sources point at that directory)
and the network forbidden. The crates vendored are
recorded (name, version, checksum) for the SBOM.

Whether a tree builds Rust is decided from how it builds (its [build-system], [tool.maturin], the recipe's
added build requirements), never from a Cargo.toml found somewhere in it: meson's sdist carries them as
test data.
"""

from __future__ import annotations

import functools
import hashlib
import os
import re
import shutil
import subprocess
import tempfile
import tomllib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from packaging.utils import canonicalize_name

from wheelwright.errors import OfflineMiss, SourceError
from wheelwright.stages.sbomfacts import CrateFacts

#: Directories whose Cargo.toml files are not the package's own build (fixtures, fuzzers, vendored copies).
_SKIP = frozenset({"target", "vendor", ".cargo", "tests", "test", "examples", "benches", "fuzz", "docs", ".git"})

#: Build requirements (canonical names) whose builds run cargo.
RUST_BUILD_TOOLS = frozenset({"maturin", "setuptools-rust"})

_NAME = re.compile(r"\s*([A-Za-z0-9][A-Za-z0-9._-]*)")


@dataclass(frozen=True)
class VendoredCrates:
    """What a build needs to use them: a CARGO_HOME to hand it, and what was vendored."""

    cargo_home: Path
    crates: tuple[CrateFacts, ...]  # checksum from Cargo.lock; empty for git dependencies

    def env(self) -> dict[str, str]:
        return {"CARGO_HOME": str(self.cargo_home), "CARGO_NET_OFFLINE": "true"}


def needs_rust(build_system_requires: Iterable[str], backend: str, pyproject_data: Mapping[str, Any], extra_requires: Iterable[str] = ()) -> bool:
    """Whether the build runs cargo: the maturin backend, a [tool.maturin] table, or maturin / setuptools-rust among
    the [build-system] requires or the recipe's added build requirements. Cargo.toml files in the tree decide
    nothing: an sdist may carry them only as data (meson's test cases), and vendoring those fails offline."""
    if backend.partition(":")[0].strip().split(".")[0] == "maturin":
        return True
    tool = pyproject_data.get("tool")
    if isinstance(tool, Mapping) and isinstance(tool.get("maturin"), Mapping):
        return True
    names = (match.group(1) for req in (*build_system_requires, *extra_requires) if (match := _NAME.match(req)))
    return any(canonicalize_name(name) in RUST_BUILD_TOOLS for name in names)


def rust_manifests(source_dir: Path, pyproject_data: Mapping[str, Any]) -> list[Path]:
    """The manifests a Rust build compiles: [tool.maturin] manifest-path when it names one, else the tree's top
    Cargo.toml files; an error naming the package when there are none."""
    tool = pyproject_data.get("tool")
    maturin = tool.get("maturin") if isinstance(tool, Mapping) else None
    path = maturin.get("manifest-path") if isinstance(maturin, Mapping) else None
    if isinstance(path, str):
        manifest = Path(os.path.normpath(source_dir / path))
        if not manifest.resolve().is_relative_to(source_dir.resolve()) or not manifest.is_file():
            raise SourceError(f"{source_dir.name}: its [tool.maturin] manifest-path {path!r} is not a file in its source tree")
        return [manifest]
    manifests = cargo_manifests(source_dir)
    if not manifests:
        raise SourceError(f"{source_dir.name}: it builds Rust (maturin or setuptools-rust) but its source tree has no Cargo.toml")
    return manifests


def cargo_manifests(source_dir: Path) -> list[Path]:
    """The tree's top Cargo.toml files: nested ones are covered by the workspace or path deps above them."""
    found: list[Path] = []
    for directory, subdirs, files in os.walk(source_dir):
        subdirs[:] = sorted(d for d in subdirs if d not in _SKIP)
        if "Cargo.toml" in files:
            found.append(Path(directory) / "Cargo.toml")
            subdirs[:] = []
    return found


def vendor_crates(source_dir: Path, cache_dir: Path, work_dir: Path, log: IO[str], *, requires: Sequence[str], backend: str,
                  extra_requires: Sequence[str] = (), offline: bool = False) -> VendoredCrates | None:
    """Vendor every crate the tree's Rust code needs, outside the build's network namespace; None when the
    build is not a Rust one (``requires`` and ``backend``: the tree's [build-system]; ``extra_requires``: the
    recipe's added build requirements). Lock files cargo writes (an sdist without Cargo.lock) are put into the tree."""
    pyproject = _pyproject(source_dir)
    if not needs_rust(requires, backend, pyproject, extra_requires):
        return None
    manifests = rust_manifests(source_dir, pyproject)
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
    crates = _locked_crates([_lock_of(m, source_dir) for m in manifests])
    log.write(f"# vendored {len(crates)} crates from {entry / 'vendor'}; the build gets CARGO_HOME={cargo_home} (offline)\n")
    return VendoredCrates(cargo_home, crates)


def _pyproject(source_dir: Path) -> dict[str, Any]:
    try:
        return tomllib.loads((source_dir / "pyproject.toml").read_text())
    except FileNotFoundError:
        return {}
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise SourceError(f"{source_dir.name}: pyproject.toml is not valid TOML: {exc}") from None


def _lock_of(manifest: Path, source_dir: Path) -> Path:
    """The Cargo.lock a manifest resolves with: its own, else its workspace's above it (a maturin manifest-path
    into a workspace member), else where cargo writes it beside the manifest."""
    for directory in (manifest.parent, *manifest.parent.parents):
        if not directory.is_relative_to(source_dir):
            break
        if (directory / "Cargo.lock").is_file() and (directory / "Cargo.toml").is_file():
            return directory / "Cargo.lock"
    return manifest.parent / "Cargo.lock"


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
            lock = _lock_of(manifest, source_dir)
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
