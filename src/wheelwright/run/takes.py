"""Nodes a run does not build: a variant's prebuilt vendor wheels, and (in a slice) wheels an earlier
job or run already published, taken from an index and checked against the plan's sha256."""

from __future__ import annotations

import html.parser
import shutil
import time
import urllib.parse
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from collections.abc import Callable, Sequence
from typing import Protocol

from packaging.utils import canonicalize_name, parse_wheel_filename

from wheelwright.errors import BuildError, SourceError
from wheelwright.fsutil import atomic_writer, sha256_file
from wheelwright.plan.graph import NodeSpec
from wheelwright.plan.requirements import wheel_requires_dist
from wheelwright.plan.sourcerefs import to_distribution
from wheelwright.plan.tags import target_tags
from wheelwright.remote.index import IndexFile
from wheelwright.remote.sources import fetch_sdist
from wheelwright.run.worker import Built, Runtime, Stages
from wheelwright.stages.provenance import runtime_components


@dataclass(frozen=True)
class OfferedWheel:
    filename: str
    location: str  # a path or a URL
    sha256: str | None  # what the index states (a PEP 503 #sha256= fragment, or hashed locally)


class WheelSource(Protocol):
    """Where a slice takes the wheels it does not build: a directory (a CI artifact) or a PEP 503 index URL."""

    def offered(self, name: str) -> list[OfferedWheel]: ...

    def fetch(self, wheel: OfferedWheel, into: Path) -> Path: ...


class DirectoryWheels:
    """``<root>/<project>/*.whl``: our own index, or a downloaded CI artifact laid out the same way."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def offered(self, name: str) -> list[OfferedWheel]:
        directory = self.root / canonicalize_name(name)
        return [OfferedWheel(p.name, str(p), None) for p in sorted(directory.glob("*.whl"))] if directory.is_dir() else []

    def fetch(self, wheel: OfferedWheel, into: Path) -> Path:
        return Path(wheel.location)


class _Links(html.parser.HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.hrefs: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        href = dict(attrs).get("href")
        if tag == "a" and href:
            self.hrefs.append(href)


class SimpleIndexWheels:
    """A PEP 503 HTML index over http(s)."""

    def __init__(self, url: str) -> None:
        self.url = url.rstrip("/") + "/"

    def offered(self, name: str) -> list[OfferedWheel]:
        page = urllib.parse.urljoin(self.url, f"{canonicalize_name(name)}/")
        try:
            with urllib.request.urlopen(page, timeout=60) as response:
                parser = _Links()
                parser.feed(response.read().decode())
        except (OSError, ValueError) as exc:
            raise SourceError(f"{page}: cannot read the index page: {exc}") from None
        result = []
        for href in parser.hrefs:
            location, _, fragment = urllib.parse.urljoin(page, href).partition("#")
            filename = urllib.parse.unquote(location.rsplit("/", 1)[-1])
            if filename.endswith(".whl"):
                result.append(OfferedWheel(filename, location, fragment.removeprefix("sha256=") if fragment.startswith("sha256=") else None))
        return result

    def fetch(self, wheel: OfferedWheel, into: Path) -> Path:
        if wheel.sha256:  # the page states it: verified while it downloads and kept by content, as sdists are
            name, version, _, _ = parse_wheel_filename(wheel.filename)
            return fetch_sdist(IndexFile(name=name, version=version, filename=wheel.filename, url=wheel.location, sha256=wheel.sha256,
                                         requires_python=None, yanked=False), into)
        target = into / wheel.filename  # checked against the plan by take()
        with atomic_writer(target) as out, urllib.request.urlopen(wheel.location, timeout=300) as response:
            shutil.copyfileobj(response, out)
        return target


class ChainedWheels:
    """Several sources, first first: a CI job's downloaded artifacts, then an index published by earlier runs."""

    def __init__(self, sources: Sequence[WheelSource]) -> None:
        self.sources = tuple(sources)

    def offered(self, name: str) -> list[OfferedWheel]:
        seen: dict[str, OfferedWheel] = {}
        for source in self.sources:
            for wheel in source.offered(name):
                seen.setdefault(wheel.filename, wheel)
        return list(seen.values())

    def fetch(self, wheel: OfferedWheel, into: Path) -> Path:
        for source in self.sources:
            if any(w.location == wheel.location for w in source.offered(parse_wheel_filename(wheel.filename)[0])):
                return source.fetch(wheel, into)
        raise BuildError(f"{wheel.filename}: offered by none of the sources")


def wheel_source(where: str) -> WheelSource:
    """A directory (our simple/ layout), a PEP 503 URL, or several of them separated by commas, first first."""
    if "," in where:
        return ChainedWheels([wheel_source(part) for part in where.split(",") if part.strip()])
    if where.startswith(("http://", "https://")):
        return SimpleIndexWheels(where)
    return DirectoryWheels(Path(urllib.parse.urlparse(where).path if where.startswith("file://") else where).resolve())


def take(stages: Stages, spec: NodeSpec, wheels: WheelSource, *, against_plan: bool = True, note: Callable[[str], None] = lambda text: None) -> Built:
    """The node's wheel from ``wheels``, verified against the plan's sha256 when the plan knows it
    (else against the index's own hash), then published here so the slice's builds can install it.
    ``against_plan=False`` is --only's contract: our own index, taken as it is (a difference is said, not refused)."""
    started = time.monotonic()
    tags = target_tags(stages.s.interpreters[spec.python])
    fitting = [w for w in wheels.offered(spec.name)
               if str(parse_wheel_filename(w.filename)[1]) == spec.version and set(parse_wheel_filename(w.filename)[3]) & tags]
    if spec.wheel:
        fitting = [w for w in fitting if w.filename == spec.wheel] or fitting
    if not fitting:
        raise BuildError(f"{spec.id} is not in {getattr(wheels, 'root', getattr(wheels, 'url', 'the index'))}; "
                         f"run the full build first (or take it into the slice)")
    chosen = sorted(fitting, key=lambda w: w.filename)[-1]
    local = wheels.fetch(chosen, stages.s.work_dir / "taken")
    sha = sha256_file(local)
    if not against_plan and spec.wheel_sha256 and sha != spec.wheel_sha256:
        note(f"note: {spec.id}: the index holds {chosen.filename} with sha256 {sha[:12]}, not the plan's {spec.wheel_sha256[:12]}; --only takes the index as it is")
    expected = (spec.wheel_sha256 if against_plan else None) or chosen.sha256
    if expected is not None and sha != expected:
        source = "the plan" if spec.wheel_sha256 else "the index page"
        raise BuildError(f"{spec.id}: {chosen.filename} from {chosen.location} has sha256 {sha}, but {source} says {expected}; refusing it")
    published = local if local.parent == stages.s.simple_dir / canonicalize_name(spec.name) else \
        stages.local.publish(local, {**stages.index_entry(spec, spec.cache_key, "index"), "taken_from": chosen.location}, stages.s.variant.label)
    requires = tuple(wheel_requires_dist(published))  # what it needs at run time, for the planner to check against the plan
    return Built(spec.id, published, sha, "index", time.monotonic() - started, requires, requires, "")


def prebuilt(stages: Stages, spec: NodeSpec, runtime: Callable[[Sequence[str]], list[Runtime]]) -> Built:
    """A vendor wheel the variant takes as is: verified by sha256, published unchanged, described by an SBOM beside it."""
    from wheelwright.stages.licenses import license_from_wheel
    from wheelwright.stages.provenance import constraint_files, facts_to_json
    from wheelwright.stages.sbom import SourceFacts, WheelFacts, wheel_sbom

    started = time.monotonic()
    path = fetch_sdist(to_distribution(spec.name, spec.version, spec.source), stages.s.cache_dir / "prebuilt", offline=stages.s.offline)
    requires = tuple(wheel_requires_dist(path))
    license = license_from_wheel(path)
    published = stages.local.publish(path, stages.index_entry(spec, None, "prebuilt", sbom=path.name, license=license.expression),
                                     stages.s.variant.label)  # as-is: no repair, no embedded SBOM, the vendor's bytes
    sha = spec.source.sha256 or sha256_file(published)
    facts = WheelFacts(
        name=spec.name, version=spec.version, wheel_filename=published.name, wheel_sha256=sha, variant=stages.s.variant.label,
        archs=tuple(stages.s.variant.archs), source=SourceFacts(kind="wheel", url=spec.source.url, sha256=sha),
        patches=(), build_dependencies=(), toolchain=(), constraints=constraint_files(stages.s.constraint_files), grafted=(),
        runtime_dependencies=tuple(runtime_components(runtime(requires), stages.s.variant.label)),
        license=license, former_names=spec.former_names, prebuilt=True,
        source_date_epoch=stages.s.source_date_epoch,
    )
    stages.write_sbom(published.name, wheel_sbom(facts))
    return Built(spec.id, published, sha, "prebuilt", time.monotonic() - started, requires, requires, facts_to_json(facts))
