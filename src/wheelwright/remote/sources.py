"""Fetch an sdist once, verify its sha256 on every use, and unpack it without trusting its paths."""

from __future__ import annotations

import gzip
import hashlib
import os
import shutil
import subprocess
import tarfile
import tempfile
import urllib.error
import urllib.request
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from wheelwright.errors import OfflineMiss, SourceError
from wheelwright.fsutil import atomic_writer, sha256_file
from wheelwright.remote.index import SourceDistribution


def fetch_source(source: SourceDistribution, cache_dir: Path, *, offline: bool = False) -> tuple[Path, str]:
    """A verified archive of the source and what identifies it (sha256, or the git commit it holds)."""
    if source.git_ref is not None:
        return fetch_git(source, cache_dir / "git", offline=offline)
    return fetch_sdist(source, cache_dir / "sdists", offline=offline), source.sha256


def fetch_git(source: SourceDistribution, cache_dir: Path, *, offline: bool = False) -> tuple[Path, str]:
    """Clone the tag (with submodules), check it is the pinned commit, and pack the tree into a
    deterministic tar.gz so the rest of the pipeline treats it like an sdist."""
    assert source.git_ref is not None
    if source.git_commit:
        cached = cache_dir / source.git_commit / source.filename
        if cached.exists():
            return cached, source.git_commit
    if offline:  # an unpinned tag may be taken from the cache only when exactly one commit of it is there
        packed = sorted(cache_dir.glob(f"*/{source.filename}")) if not source.git_commit else []
        if len(packed) == 1:
            return packed[0], packed[0].parent.name
        raise OfflineMiss(f"{source.name} {source.version}: git tag {source.git_ref} of {source.url} is not in the source cache {cache_dir}"
                          + (f" ({len(packed)} packed commits of it; pin one in the recipe)" if packed else ""))
    with tempfile.TemporaryDirectory(dir=cache_dir.parent if cache_dir.parent.exists() else None) as scratch:
        checkout = Path(scratch) / "checkout"
        clone = ["git", "clone", "--quiet", "--depth", "1", "--branch", source.git_ref, "--recurse-submodules", "--shallow-submodules",
                 source.url, str(checkout)]
        result = subprocess.run(clone, capture_output=True, text=True, env={**os.environ, "GIT_TERMINAL_PROMPT": "0"})
        if result.returncode != 0:
            raise SourceError(f"{source.name} {source.version}: git clone {source.url} --branch {source.git_ref} failed: "
                              f"{(result.stderr.strip().splitlines() or ['?'])[-1]}")
        commit = subprocess.run(["git", "-C", str(checkout), "rev-parse", "HEAD"], capture_output=True, text=True, check=True).stdout.strip()
        if source.git_commit and commit != source.git_commit:
            raise SourceError(f"{source.name} {source.version}: tag {source.git_ref} of {source.url} is commit {commit}, "
                              f"but the recipe pins {source.git_commit}: the tag moved; refusing it")
        target = cache_dir / commit / source.filename
        if not target.exists():
            with atomic_writer(target) as out:
                deterministic_tar(checkout, f"{source.name.replace('-', '_')}-{source.version}", out)
    return target, commit


def deterministic_tar(tree: Path, prefix: str, out: BinaryIO, skip: frozenset[str] = frozenset({".git"})) -> None:
    """Sorted members, fixed owners and times, no .git: the same commit (or tree) always packs to the same bytes."""
    with gzip.GzipFile(fileobj=out, mode="wb", mtime=0) as gz, tarfile.open(fileobj=gz, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for path in sorted(tree.rglob("*")):
            relative = path.relative_to(tree)
            if skip & set(relative.parts):
                continue
            info = tar.gettarinfo(str(path), arcname=f"{prefix}/{relative}")
            info.uid = info.gid = 0
            info.uname = info.gname = ""
            info.mtime = 315532800
            info.mode = 0o755 if info.isdir() or info.mode & 0o100 else 0o644  # not the umask of whoever checked it out
            if info.isfile():
                with open(path, "rb") as handle:
                    tar.addfile(info, handle)
            else:
                tar.addfile(info)


def fetch_sdist(sdist: SourceDistribution, cache_dir: Path, *, offline: bool = False) -> Path:
    """Return a verified local copy of ``sdist``; a cached copy that fails the hash is fetched again
    (offline: refused, and named)."""
    target = cache_dir / sdist.sha256[:2] / sdist.sha256 / sdist.filename
    if target.exists():
        if sha256_file(target) == sdist.sha256:
            return target
        if offline:  # kept for inspection; no run will use it
            raise OfflineMiss(f"{sdist.filename}: the cached copy {target} fails its sha256 check (tampered or truncated)")
        target.unlink()  # tampered or truncated: never used, fetched again
    if offline:
        raise OfflineMiss(f"{sdist.filename}: not in the source cache (expected {target})")
    digest = hashlib.sha256()
    try:
        with atomic_writer(target) as out:  # hashed while streaming; a mismatch never reaches the cache
            request = urllib.request.Request(sdist.url, headers={"User-Agent": "wheelwright"})
            with urllib.request.urlopen(request, timeout=120) as response:
                for block in iter(lambda: response.read(1 << 20), b""):
                    digest.update(block)
                    out.write(block)
            if digest.hexdigest() != sdist.sha256:
                raise SourceError(f"{sdist.filename}: sha256 mismatch: index says {sdist.sha256}, download is {digest.hexdigest()}")
    except (urllib.error.URLError, TimeoutError, OSError) as exc:
        raise SourceError(f"{sdist.filename}: download from {sdist.url} failed: {exc}") from None
    return target


@dataclass(frozen=True)
class UnpackLimits:
    """What an archive may unpack to before it is refused unread: a decompression bomb or a million
    tiny files must not fill the builder's disk. The defaults fit torch's sdist many times over."""

    max_files: int = 250_000
    max_bytes: int = 32 << 30

    def check(self, archive: Path, members: int, size: int, destination: Path) -> None:
        if members > self.max_files:
            raise SourceError(f"{archive.name}: cannot unpack: {members} members, over the limit of {self.max_files} (--max-unpack-files)")
        if size > self.max_bytes:
            raise SourceError(f"{archive.name}: cannot unpack: {size} bytes uncompressed, over the limit of {self.max_bytes} (--max-unpack-size)")
        free = shutil.disk_usage(destination).free
        if size > free:
            raise SourceError(f"{archive.name}: cannot unpack: {size} bytes uncompressed, but {destination} has {free} bytes free")


def unpack_sdist(archive: Path, destination: Path, limits: UnpackLimits = UnpackLimits()) -> Path:
    """Unpack into ``destination`` and return the project root (the archive's single top directory).
    Sizes and counts are read from the archive's own directory first, so a bomb is refused unread."""
    if destination.exists():
        shutil.rmtree(destination)
    destination.mkdir(parents=True)
    try:
        if archive.name.endswith(".zip"):
            _unzip(archive, destination, limits)
        else:
            with tarfile.open(archive) as tar:
                members = tar.getmembers()
                limits.check(archive, len(members), sum(m.size for m in members if m.isreg()), destination)
                tar.extractall(destination, members=members, filter="data")
    except SourceError:  # over a limit or escaping: the verified download stays, nothing of it is unpacked
        shutil.rmtree(destination, ignore_errors=True)
        raise
    except (tarfile.TarError, zipfile.BadZipFile, EOFError, OSError) as exc:
        archive.unlink(missing_ok=True)  # a broken or hostile archive is not kept in the cache
        shutil.rmtree(destination, ignore_errors=True)
        raise SourceError(f"{archive.name}: cannot unpack: {exc}") from None
    entries = [p for p in destination.iterdir()]
    if len(entries) == 1 and entries[0].is_dir():
        return entries[0]
    return destination


def _unzip(archive: Path, destination: Path, limits: UnpackLimits) -> None:
    root = destination.resolve()
    with zipfile.ZipFile(archive) as zf:
        limits.check(archive, len(zf.infolist()), sum(i.file_size for i in zf.infolist()), destination)  # zipfile stops at file_size
        for info in zf.infolist():
            target = (root / info.filename).resolve()
            if not target.is_relative_to(root):
                raise SourceError(f"{archive.name}: member {info.filename!r} escapes the unpack directory")
        zf.extractall(root)
