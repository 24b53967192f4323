"""Direct references and local sources: ``name @ https://…#sha256=…``, ``name @ file://…``, ``./pkgs/foo-1.0.tar.gz``
and ``./src/foo`` build exactly that archive or tree, never the index's release of the same name.

Each becomes a pinned ``SourceRef`` (a source directory is packed into a deterministic archive first, so its
content hash names it in the graph, the cache keys and the SBOM) and the only release the resolver sees for
that name. Name and version come from the source itself: PKG-INFO, else a static ``[project]`` table."""

from __future__ import annotations

import email.parser
import tarfile
import tomllib
import urllib.parse
import urllib.request
import zipfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from packaging.requirements import Requirement
from packaging.utils import NormalizedName, canonicalize_name
from packaging.version import InvalidVersion, Version

from wheelwright.config.inputs import Requested
from wheelwright.errors import ConfigError, SourceError
from wheelwright.fsutil import atomic_writer, sha256_file
from wheelwright.plan.graph import SourceRef
from wheelwright.plan.published import PublishedMetadata, pkg_info_requires
from wheelwright.remote.index import IndexFile
from wheelwright.remote.sources import deterministic_tar, fetch_sdist

#: Not part of a source tree: version control, caches, tool environments.
_SKIP = frozenset({".git", ".hg", ".svn", "__pycache__", ".nox", ".tox", ".mypy_cache", ".pytest_cache", ".ruff_cache"})


@dataclass(frozen=True)
class DirectSource:
    name: NormalizedName
    version: Version
    ref: SourceRef
    metadata: PublishedMetadata | None  # static Requires-Dist when the source states it; else asked of its backend
    origin: str


def read_direct(requested: Sequence[Requested], cache_dir: Path, *, offline: bool = False) -> tuple[list[Requirement], dict[str, DirectSource]]:
    """The top-level requirements (local paths as ``name[extras] @ file://…; marker``) and the direct sources by name."""
    requirements: list[Requirement] = []
    sources: dict[str, DirectSource] = {}
    for item in requested:
        if item.path is None and (item.requirement is None or not item.requirement.url):
            assert item.requirement is not None
            requirements.append(item.requirement)
            continue
        source = _local(item, cache_dir) if item.path is not None else _url(item, cache_dir, offline)
        if source.name in sources and sources[source.name].ref.sha256 != source.ref.sha256:
            raise ConfigError(f"{item.origin}: {item.text!r}: {source.name} is already given as {sources[source.name].ref.local_path or sources[source.name].ref.url}")
        sources[source.name] = source
        wanted = sorted(item.requirement.extras) if item.requirement else list(item.extras)
        marker = str(item.requirement.marker) if item.requirement and item.requirement.marker else item.marker
        url = Path(source.ref.local_path).as_uri() if source.ref.local_path else source.ref.url
        requirements.append(Requirement(f"{source.name}{'[' + ','.join(wanted) + ']' if wanted else ''} @ {url}" + (f" ; {marker}" if marker else "")))
    return requirements, sources


def _url(item: Requested, cache_dir: Path, offline: bool) -> DirectSource:
    assert item.requirement is not None and item.requirement.url
    url = item.requirement.url
    parsed = urllib.parse.urlsplit(url)
    where = f"{item.origin}: {item.text!r}"
    if parsed.scheme == "file":
        path = Path(urllib.request.url2pathname(parsed.path))
        if not path.exists():
            raise ConfigError(f"{where}: {path} does not exist")
        local = _local(Requested(item.text, item.origin, path=path), cache_dir)
        if local.name != canonicalize_name(item.requirement.name):
            raise ConfigError(f"{where}: the source is {local.name} {local.version}, not {item.requirement.name}")
        pinned = (urllib.parse.parse_qs(parsed.fragment).get("sha256") or [""])[0].lower()
        if pinned and path.is_dir():
            raise ConfigError(f"{where}: #sha256= pins an archive; {path} is a directory (its content is hashed as packed)")
        if pinned and pinned != local.ref.sha256:
            raise SourceError(f"{where}: {path.name} has sha256 {local.ref.sha256}, not the #sha256={pinned} the requirement pins")
        return local
    if parsed.scheme.startswith(("git+", "hg+", "svn+", "bzr+")):
        raise ConfigError(f"{where}: version-control URLs are not built from requirements; declare a git source in the package's recipe")
    if parsed.scheme != "https":
        raise ConfigError(f"{where}: only https:// and file:// direct references are fetched (an {parsed.scheme}:// download can be altered in transit)")
    fragment = urllib.parse.parse_qs(parsed.fragment)
    sha256 = (fragment.get("sha256") or [""])[0].lower()
    if len(sha256) != 64:
        raise ConfigError(f"{where}: an https direct reference must pin its content with #sha256=<64 hex digits>")
    filename = Path(urllib.parse.unquote(parsed.path)).name
    if filename.endswith(".whl"):
        raise ConfigError(f"{where}: {filename} is a wheel; Wheelwright builds from source (give the sdist's URL)")
    plain = urllib.parse.urlunsplit(parsed._replace(fragment=""))
    try:
        archive = fetch_sdist(IndexFile(name=canonicalize_name(item.requirement.name), version=Version("0"), filename=filename, url=plain,
                                        sha256=sha256, requires_python=None, yanked=False), cache_dir / "sdists", offline=offline)
    except SourceError as exc:
        raise SourceError(f"{where}: {exc}") from None
    name, version, metadata = _identify(archive, where)
    if name != canonicalize_name(item.requirement.name):
        raise ConfigError(f"{where}: the archive is {name} {version}, not {item.requirement.name}")
    return DirectSource(name, version, SourceRef(kind="url", url=plain, filename=filename, sha256=sha256), metadata, item.origin)


def _local(item: Requested, cache_dir: Path) -> DirectSource:
    assert item.path is not None
    where = f"{item.origin}: {item.text!r}"
    path = item.path
    if path.is_file():
        if path.name.endswith(".whl"):
            raise ConfigError(f"{where}: {path.name} is a wheel; Wheelwright builds from source (give the sdist or the source directory)")
        name, version, metadata = _identify(path, where)
        return DirectSource(name, version, SourceRef(kind="local", url=path.as_uri(), filename=path.name, sha256=sha256_file(path),
                                                     local_path=str(path)), metadata, item.origin)
    name, version, metadata = _identify_tree(path, where)
    prefix = f"{name.replace('-', '_')}-{version}"
    scratch = cache_dir / "local" / f".{prefix}.tar.gz"
    with atomic_writer(scratch) as out:
        deterministic_tar(path, prefix, out, _SKIP)
    digest = sha256_file(scratch)
    packed = cache_dir / "local" / digest / f"{prefix}.tar.gz"
    packed.parent.mkdir(parents=True, exist_ok=True)
    scratch.replace(packed)
    return DirectSource(name, version, SourceRef(kind="local", url=packed.as_uri(), filename=packed.name, sha256=digest, local_path=str(path)),
                        metadata, item.origin)


def _identify(archive: Path, where: str) -> tuple[NormalizedName, Version, PublishedMetadata | None]:
    pkg_info, pyproject = _archive_files(archive, where)  # read once: the PKG-INFO bytes serve name, version and requirements
    metadata = pkg_info_requires(pkg_info, archive.name)[0] if pkg_info else _pyproject_metadata(pyproject, archive.name)
    return _name_version(pkg_info, pyproject, where) + (metadata,)


def _identify_tree(tree: Path, where: str) -> tuple[NormalizedName, Version, PublishedMetadata | None]:
    pkg_info = (tree / "PKG-INFO").read_bytes() if (tree / "PKG-INFO").is_file() else None
    pyproject = _toml((tree / "pyproject.toml").read_bytes(), where) if (tree / "pyproject.toml").is_file() else None
    metadata = None
    if pkg_info is not None:
        metadata = pkg_info_requires(pkg_info, str(tree))[0]
    elif pyproject is not None:
        metadata = _pyproject_metadata(pyproject, str(tree))
    return _name_version(pkg_info, pyproject, where) + (metadata,)


def _archive_files(archive: Path, where: str) -> tuple[bytes | None, dict[str, Any] | None]:
    """The archive's top-level PKG-INFO and pyproject.toml, read without unpacking it."""
    found: dict[str, bytes] = {}
    try:
        if archive.name.endswith(".zip"):
            with zipfile.ZipFile(archive) as zf:
                for name in zf.namelist():
                    if name.count("/") == 1 and name.rsplit("/", 1)[1] in ("PKG-INFO", "pyproject.toml"):
                        found[name.rsplit("/", 1)[1]] = zf.read(name)
        else:
            with tarfile.open(archive) as tar:
                for member in tar.getmembers():
                    if member.isfile() and member.name.count("/") == 1 and member.name.rsplit("/", 1)[1] in ("PKG-INFO", "pyproject.toml"):
                        handle = tar.extractfile(member)
                        if handle is not None:
                            found[member.name.rsplit("/", 1)[1]] = handle.read()
    except (tarfile.TarError, zipfile.BadZipFile, OSError, EOFError) as exc:
        raise SourceError(f"{where}: {archive.name} cannot be read: {exc}") from None
    pyproject = _toml(found["pyproject.toml"], where) if "pyproject.toml" in found else None
    return found.get("PKG-INFO"), pyproject


def _toml(data: bytes, where: str) -> dict[str, Any]:
    try:
        return tomllib.loads(data.decode())
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{where}: pyproject.toml is not valid TOML: {exc}") from None


def _name_version(pkg_info: bytes | None, pyproject: dict[str, Any] | None, where: str) -> tuple[NormalizedName, Version]:
    """PKG-INFO's Name and Version (never dynamic in an sdist), else a static ``[project]`` name and version."""
    if pkg_info is not None:
        message = email.parser.BytesParser().parsebytes(pkg_info, headersonly=True)
        name, version = message.get("Name"), message.get("Version")
    else:
        project = (pyproject or {}).get("project", {})
        name = project.get("name")
        version = None if "version" in project.get("dynamic", []) else project.get("version")
    if not name or not version:
        raise ConfigError(f"{where}: its name and version are not static (no PKG-INFO, no [project] name and version); "
                          f"build an sdist of it and give that instead")
    try:
        return canonicalize_name(str(name)), Version(str(version))
    except InvalidVersion:
        raise ConfigError(f"{where}: version {version!r} is not a valid version") from None


def _pyproject_metadata(pyproject: dict[str, Any] | None, where: str) -> PublishedMetadata | None:
    """A static ``[project]`` table states the dependencies the wheel will carry (PEP 621: not in ``dynamic``)."""
    project = (pyproject or {}).get("project")
    if not project or {"dependencies", "optional-dependencies"} & set(project.get("dynamic", [])):
        return None
    requires = list(project.get("dependencies", []))
    optional = project.get("optional-dependencies", {})
    for extra, lines in optional.items():
        for line in lines:
            req = Requirement(line)
            marker = f"({req.marker}) and extra == {canonicalize_name(extra)!r}" if req.marker else f"extra == {canonicalize_name(extra)!r}"
            req.marker = None
            requires.append(f"{req} ; {marker}")
    return PublishedMetadata(tuple(requires), project.get("requires-python"), f"[project] of {where}", "PKG-INFO", tuple(optional))

