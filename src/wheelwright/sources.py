"""Fetch an sdist once, verify its sha256 on every use, and unpack it without trusting its paths."""

from __future__ import annotations

import hashlib
import shutil
import tarfile
import urllib.error
import urllib.request
import zipfile
from pathlib import Path

from .errors import SourceError
from .fsutil import atomic_writer, sha256_file
from .index import SourceDistribution


def fetch_sdist(sdist: SourceDistribution, cache_dir: Path) -> Path:
    """Return a verified local copy of ``sdist``; a cached copy that fails the hash is fetched again."""
    target = cache_dir / sdist.sha256[:2] / sdist.sha256 / sdist.filename
    if target.exists():
        if sha256_file(target) == sdist.sha256:
            return target
        target.unlink()  # tampered or truncated: never used
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


def unpack_sdist(archive: Path, destination: Path) -> Path:
    """Unpack into ``destination`` and return the project root (the archive's single top directory)."""
    if destination.exists():
        shutil.rmtree(destination)
    destination.mkdir(parents=True)
    try:
        if archive.name.endswith(".zip"):
            _unzip(archive, destination)
        else:
            with tarfile.open(archive) as tar:
                tar.extractall(destination, filter="data")
    except (tarfile.TarError, zipfile.BadZipFile, EOFError, OSError) as exc:
        raise SourceError(f"{archive.name}: cannot unpack: {exc}") from None
    entries = [p for p in destination.iterdir()]
    if len(entries) == 1 and entries[0].is_dir():
        return entries[0]
    return destination


def _unzip(archive: Path, destination: Path) -> None:
    root = destination.resolve()
    with zipfile.ZipFile(archive) as zf:
        for info in zf.infolist():
            target = (root / info.filename).resolve()
            if not target.is_relative_to(root):
                raise SourceError(f"{archive.name}: member {info.filename!r} escapes the unpack directory")
        zf.extractall(root)
