"""Read a PEP 691 (JSON simple API) package index, with an on-disk cache so warm runs stay offline."""

from __future__ import annotations

import json
import os
import threading
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from packaging.utils import InvalidSdistFilename, canonicalize_name, parse_sdist_filename
from packaging.version import Version

from .errors import ResolutionError, SourceError
from .fsutil import atomic_write_bytes

PYPI_SIMPLE = "https://pypi.org/simple"
_ACCEPT = "application/vnd.pypi.simple.v1+json"


@dataclass(frozen=True)
class SourceDistribution:
    """One sdist file the index offers."""

    name: str
    version: Version
    filename: str
    url: str
    sha256: str
    requires_python: str | None
    yanked: bool


class PackageIndex(Protocol):
    """What the resolver needs from an index: the sdists of one project."""

    def sdists(self, name: str) -> list[SourceDistribution]: ...


class SimpleJsonIndex:
    """A PEP 691 index over HTTP. Responses are cached for ``ttl`` seconds; ``ttl=0`` always refetches."""

    def __init__(self, url: str, cache_dir: Path, ttl: float = 3600.0, timeout: float = 60.0) -> None:
        self.url = url.rstrip("/")
        self.cache_dir = cache_dir
        self.ttl = ttl
        self.timeout = timeout
        self._locks: dict[str, threading.Lock] = {}
        self._guard = threading.Lock()
        self._memory: dict[str, list[SourceDistribution]] = {}

    def sdists(self, name: str) -> list[SourceDistribution]:
        key = canonicalize_name(name)
        with self._guard:
            lock = self._locks.setdefault(key, threading.Lock())
        with lock:
            if key not in self._memory:
                self._memory[key] = _parse_project(key, self._page(key))
            return self._memory[key]

    def _page(self, name: str) -> dict:
        cached = self.cache_dir / f"{name}.json"
        try:
            if self.ttl > 0 and time.time() - cached.stat().st_mtime < self.ttl:
                return json.loads(cached.read_bytes())
        except (OSError, ValueError):
            pass
        url = f"{self.url}/{name}/"
        request = urllib.request.Request(url, headers={"Accept": _ACCEPT, "User-Agent": "wheelwright"})
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:
                body = response.read()
        except urllib.error.HTTPError as exc:
            if exc.code == 404:
                raise ResolutionError(f"{name}: no such package on {self.url}") from None
            raise SourceError(f"{url}: index answered HTTP {exc.code}") from None
        except (urllib.error.URLError, TimeoutError, OSError) as exc:
            if cached.exists():  # offline but cached: stale data beats no data
                return json.loads(cached.read_bytes())
            raise SourceError(f"{url}: index unreachable ({exc}) and nothing cached") from None
        data = json.loads(body)
        atomic_write_bytes(cached, body)
        return data


def _parse_project(name: str, page: dict) -> list[SourceDistribution]:
    result = []
    for entry in page.get("files", []):
        filename = entry["filename"]
        if not filename.endswith((".tar.gz", ".zip")):
            continue
        try:
            _, version = parse_sdist_filename(filename)
        except InvalidSdistFilename:
            continue
        sha256 = entry.get("hashes", {}).get("sha256")
        if not sha256:
            continue
        result.append(
            SourceDistribution(
                name=name,
                version=version,
                filename=filename,
                url=entry["url"],
                sha256=sha256,
                requires_python=entry.get("requires-python"),
                yanked=bool(entry.get("yanked")),
            )
        )
    return result


def default_cache_dir() -> Path:
    """Downloads are shared by every output directory and variant: they never change once verified."""
    if explicit := os.environ.get("WHEELWRIGHT_CACHE"):
        return Path(explicit)
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "wheelwright"
