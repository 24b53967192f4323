"""Read a PEP 691 (JSON simple API) package index, with an on-disk cache so warm runs stay offline."""

from __future__ import annotations

import functools
import hashlib
import json
import os
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from packaging.tags import Tag
from packaging.utils import (
    InvalidSdistFilename,
    InvalidWheelFilename,
    canonicalize_name,
    parse_sdist_filename,
    parse_wheel_filename,
)
from packaging.version import InvalidVersion, Version

from wheelwright.errors import OfflineMiss, ResolutionError, SourceError
from wheelwright.fsutil import atomic_write_bytes
from wheelwright.remote.lazywheel import read_remote_wheel_metadata

PYPI_SIMPLE = "https://pypi.org/simple"
_ACCEPT = "application/vnd.pypi.simple.v1+json"


@dataclass(frozen=True)
class IndexFile:
    """One file (sdist or wheel) the index offers for a project."""

    name: str
    version: Version
    filename: str
    url: str
    sha256: str
    requires_python: str | None
    yanked: bool
    metadata_sha256: str | None = None  # PEP 658/714 core metadata served beside a wheel
    git_ref: str | None = None  # a recipe's git source: url is the repository, this the tag to check out
    git_commit: str | None = None  # the commit that tag must resolve to (None: recorded as found)

    @property
    def identity(self) -> str:
        """What names the source's content in cache keys: its sha256, or for git the tag and pinned commit."""
        return self.sha256 or f"git:{self.url}@{self.git_ref}:{self.git_commit or 'unpinned'}"

    @property
    def is_wheel(self) -> bool:
        return self.filename.endswith(".whl")

    @functools.cached_property
    def tags(self) -> frozenset[Tag]:
        """Parsed on demand: torch's page lists ~1000 wheels and a warm run must stay well under 2 s."""
        if not self.is_wheel:
            return frozenset()
        try:
            return frozenset(parse_wheel_filename(self.filename)[3])
        except InvalidWheelFilename:
            return frozenset()


SourceDistribution = IndexFile  # an IndexFile whose filename is an sdist's


class PackageIndex(Protocol):
    """What resolution needs from an index: every file of one project, and wheel metadata (PEP 658)."""

    def files(self, name: str) -> list[IndexFile]: ...

    def sdists(self, name: str) -> list[IndexFile]: ...

    def wheel_metadata(self, wheel: IndexFile) -> bytes: ...


def index_cache_key(url: str) -> str:
    """The cache subdirectory of one index: a short sha256 of its normalised URL (scheme and host
    lower-cased, no trailing slash or fragment), so no index is ever answered from another's pages."""
    parts = urllib.parse.urlsplit(url.strip())
    path = parts.path.rstrip("/")
    normal = urllib.parse.urlunsplit((parts.scheme.lower(), parts.netloc.lower(), path, parts.query, ""))
    return hashlib.sha256(normal.encode()).hexdigest()[:16]


def _redacted(url: str) -> str:
    """The URL for humans, without any ``user:token@`` it carries."""
    parts = urllib.parse.urlsplit(url)
    host = parts.netloc.rsplit("@", 1)[-1]
    return urllib.parse.urlunsplit(parts._replace(netloc=f"***@{host}" if "@" in parts.netloc else host))


class SimpleJsonIndex:
    """A PEP 691 index over HTTP. Pages are cached for ``ttl`` seconds (``ttl=0`` always refetches);
    wheel metadata is cached forever under the wheel's hash. ``offline`` reads only the cache, at any
    age, and names what is missing instead of asking the network. Everything cached lives under
    ``cache_dir/<index_cache_key(url)>/`` (with ``url.txt`` naming the index), so a warm cache of
    one index never answers for another."""

    def __init__(self, url: str, cache_dir: Path, ttl: float = 3600.0, timeout: float = 60.0, offline: bool = False) -> None:
        self.url = url.rstrip("/")
        self.cache_dir = cache_dir / index_cache_key(self.url)
        self.ttl = ttl
        self.timeout = timeout
        self.offline = offline
        self._locks: dict[str, threading.Lock] = {}
        self._guard = threading.Lock()
        self._memory: dict[str, list[IndexFile]] = {}
        self._url_recorded = False

    def files(self, name: str) -> list[IndexFile]:
        key = canonicalize_name(name)
        with self._guard:
            lock = self._locks.setdefault(key, threading.Lock())
        with lock:
            if key not in self._memory:
                self._memory[key] = _parse_project(key, self._page(key))
            return self._memory[key]

    def sdists(self, name: str) -> list[IndexFile]:
        return [f for f in self.files(name) if not f.is_wheel]

    def wheel_metadata(self, wheel: IndexFile) -> bytes:
        """A wheel's METADATA without downloading the wheel, cached under the wheel's own hash.

        PEP 658 ``.metadata`` first (verified when the index states its hash; PyPI serves the file
        even where its JSON omits the key), else HTTP range reads of the wheel's zip directory.
        """
        cached = self.cache_dir / "metadata" / wheel.sha256[:2] / wheel.sha256
        try:
            return cached.read_bytes()
        except OSError:
            if self.offline:
                raise OfflineMiss(f"{wheel.filename}: its METADATA is not in the local cache of {self.url} ({cached})") from None
        try:
            data = self._get(wheel.url + ".metadata", accept="*/*")
        except SourceError:
            data = read_remote_wheel_metadata(wheel.url, wheel.filename, self.timeout)
        else:
            if wheel.metadata_sha256 and hashlib.sha256(data).hexdigest() != wheel.metadata_sha256:
                raise SourceError(f"{wheel.filename}.metadata: sha256 mismatch with the index {self.url}")
        self._store(cached, data)
        return data

    def _store(self, path: Path, data: bytes) -> None:
        """Write one cache entry; the first also records, for humans, which index this directory holds."""
        if not self._url_recorded:
            record = self.cache_dir / "url.txt"
            if not record.exists():
                atomic_write_bytes(record, f"{_redacted(self.url)}\n".encode())
            self._url_recorded = True
        atomic_write_bytes(path, data)

    def _get(self, url: str, accept: str) -> bytes:
        request = urllib.request.Request(url, headers={"Accept": accept, "User-Agent": "wheelwright"})
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:
                body: bytes = response.read()
                return body
        except urllib.error.HTTPError as exc:
            raise SourceError(f"{url}: index answered HTTP {exc.code}") from None
        except (urllib.error.URLError, TimeoutError, OSError) as exc:
            raise SourceError(f"{url}: unreachable ({exc})") from None

    def _page(self, name: str) -> dict[str, Any]:
        cached = self.cache_dir / "pages" / f"{name}.json"
        if self.offline:
            try:
                return _json_object(cached.read_bytes())
            except OSError:
                raise OfflineMiss(f"{name}: its index page is not in the local cache of {self.url} ({cached})") from None
            except ValueError:
                raise OfflineMiss(f"{name}: its cached index page {cached} from {self.url} is corrupt") from None
        try:
            if self.ttl > 0 and time.time() - cached.stat().st_mtime < self.ttl:
                return _json_object(cached.read_bytes())
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
                return _json_object(cached.read_bytes())
            raise SourceError(f"{name}: index {self.url} unreachable ({exc}) and nothing cached from it") from None
        data = _json_object(body)
        self._store(cached, body)
        return data


def _json_object(raw: bytes) -> dict[str, Any]:
    page: dict[str, Any] = json.loads(raw)
    return page


def _parse_project(name: str, page: dict[str, Any]) -> list[IndexFile]:
    result = []
    for entry in page.get("files", []):
        filename = entry["filename"]
        try:
            if filename.endswith(".whl"):
                version = Version(filename.split("-")[1])  # PEP 427: name-version-…; tags wait until asked for
            elif filename.endswith((".tar.gz", ".zip")):
                _, version = parse_sdist_filename(filename)
            else:
                continue
        except (InvalidSdistFilename, InvalidWheelFilename, InvalidVersion):
            continue
        sha256 = entry.get("hashes", {}).get("sha256")
        if not sha256:
            continue
        metadata = entry.get("core-metadata") or entry.get("data-dist-info-metadata")
        result.append(
            IndexFile(
                name=name,
                version=version,
                filename=filename,
                url=entry["url"],
                sha256=sha256,
                requires_python=entry.get("requires-python"),
                yanked=bool(entry.get("yanked")),
                metadata_sha256=metadata.get("sha256") if isinstance(metadata, dict) else None,
            )
        )
    return result


def default_cache_dir() -> Path:
    """Downloads are shared by every output directory and variant: they never change once verified."""
    if explicit := os.environ.get("WHEELWRIGHT_CACHE"):
        return Path(explicit)
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "wheelwright"
