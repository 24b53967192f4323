"""CycloneDX 1.6 SBOMs for published wheels and whole stacks, built with cyclonedx-python-lib.

One wheel's SBOM (``wheel_sbom``) states, from a frozen ``WheelFacts``:

* the wheel itself as ``metadata.component``: type ``library``, purl
  ``pkg:pypi/<name>@<version>?file_name=<wheel>&variant=<label>``, SHA-256, licence, properties;
* where it came from as ``pedigree.ancestors`` (the sdist, git checkout or vendor wheel, with its hash and a
  ``source-distribution``/``vcs``/``distribution`` external reference) and every patch applied as
  ``pedigree.patches`` (type ``unofficial``; the diff's ``url`` is its project-relative path with the PEP 503
  style ``#sha256=<hex>`` fragment, since CycloneDX diffs carry no hash field of their own);
* runtime dependencies, resolved to the exact wheels of this build, as components of scope ``required``, and
  libraries auditwheel grafted in as ``library`` components with their hashes; the wheel ``dependsOn`` both;
* the build environment as components of scope ``excluded`` (present at build time only): the exact wheels of
  the build environment, the toolchain (``pkg:generic/gcc@12.2.0``…) and the constraints files (``file``
  components with their hashes). cyclonedx-python-lib (11.x) does not implement CycloneDX ``formulation``,
  so this is the spec's own way of recording non-runtime components instead.

Properties in the ``wheelwright:`` namespace (CycloneDX name/value pairs; a name may repeat):

====================================  ===========================================================================
``wheelwright:role``                  on each component: ``runtime-dependency``, ``grafted-library``, ``vendored-crate``,
                                      ``build-dependency``, ``toolchain``, ``constraints`` (stack: also ``wheel``)
``wheelwright:variant``               variant label (``rocm-7.1``, ``cpu``)
``wheelwright:archs``                 comma-separated GPU architectures the wheel was built for
``wheelwright:wheel-file``            the wheel's file name
``wheelwright:content-sha256``        see "Hashes" below
``wheelwright:former-names``          comma-separated earlier distribution names (``amd-aiter`` was ``aiter``)
``wheelwright:prebuilt``              ``true`` for a vendor wheel published as-is, never built here
``wheelwright:patch``                 ``<file name> sha256:<hex>``, once per patch (mirrors pedigree.patches)
``wheelwright:gpu-payload``           ``<module>: <archs>`` once per GPU-carrying module, as verify checked it
``wheelwright:source-commit``/``-tag`` the git commit and tag of a git source
``wheelwright:license``               ``unknown`` when no SPDX expression could be established (then the
                                      component has no ``licenses``: CycloneDX has no "unknown" licence value)
``wheelwright:license-origin``        where the licence came from (``License-Expression``, a classifier…)
``wheelwright:proprietary``           on a grafted library under known proprietary terms (licences.proprietary);
                                      without a declared licence it then gets ``LicenseRef-…`` "concluded"
``wheelwright:path-in-wheel``         a grafted library's path inside the wheel
``wheelwright:origin-path``           where auditwheel copied it from
``wheelwright:sbom-copy``             in ``metadata.properties``: ``embedded`` or ``published``
====================================  ===========================================================================

Hashes, and the copy inside the wheel. A file cannot contain its own hash, so the two copies differ on purpose:

* The **published** copy (``wheel_sbom(facts)``, stored beside the index as ``sbom/<variant>/<wheel>.cdx.json``)
  gives the main component ``hashes: SHA-256 = facts.wheel_sha256``, which must be the hash of the file as
  published, i.e. *after* ``embed_sbom``.
* The **embedded** copy (``wheel_sbom(facts, embedded=True)``, stored as
  ``<dist-info>/sboms/wheelwright.cdx.json``) has no ``hashes`` on the main component: any value there would be
  false. Instead both copies carry ``wheelwright:content-sha256``: the SHA-256 of a ``sha256sum``-style listing
  (``"<hex>  <path>\\n"``, sorted by path) of every file in the wheel except ``RECORD``, its signatures and
  ``.dist-info/sboms/*`` (``wheel_content_sha256``). Embedding does not change it, so anyone can recompute it
  from the published wheel and check the embedded SBOM describes exactly that content.

``finalize_wheel`` does the whole sequence: content digest, embedded SBOM, ``embed_sbom``, hash of the result,
published SBOM.

Determinism: the same facts (and the same wheelwright and cyclonedx-python-lib versions) give the same bytes.
``metadata.timestamp`` is ``source_date_epoch``; bom-refs are derived from purls and names, never random; the
library orders components, properties and hashes; ``serialNumber`` is a UUIDv5 of the SHA-256 of the document
serialised with a nil serial number, so any change of content gives a new serial.
"""

from __future__ import annotations

import base64
import csv
import hashlib
import importlib.metadata
import io
import json
import struct
import uuid
import warnings
import zipfile
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, fields, replace
from datetime import UTC, datetime
from pathlib import Path, PurePosixPath
from typing import Literal

from cyclonedx.model import (
    ExternalReference,
    ExternalReferenceType,
    HashAlgorithm,
    HashType,
    Property,
    XsUri,
)
from cyclonedx.model.bom import Bom, BomMetaData
from cyclonedx.model.component import (
    Component,
    ComponentScope,
    ComponentType,
    Diff,
    Patch,
    PatchClassification,
    Pedigree,
)
from cyclonedx.model.license import LicenseAcknowledgement, LicenseExpression
from cyclonedx.model.lifecycle import LifecyclePhase, PredefinedLifecycle
from cyclonedx.model.tool import ToolRepository
from cyclonedx.output.json import JsonV1Dot6
from packageurl import PackageURL
from packaging.utils import canonicalize_name

from wheelwright.errors import BuildError
from wheelwright.fsutil import atomic_writer, sha256_file
from wheelwright.plan.graph import ROOT
from wheelwright.stages.licenses import LicenseFacts, proprietary

SPEC_VERSION = "1.6"
EMBEDDED_SBOM_NAME = "wheelwright.cdx.json"
_SERIAL_NAMESPACE = uuid.UUID("7c4d1a52-5b0e-5d1e-9a57-77686565c177")  # fixed: wheelwright SBOM serials
_HEX = frozenset("0123456789abcdef")


# -- facts ---------------------------------------------------------------------------------------------------


def _sha256(value: str, what: str) -> str:
    value = value.lower().removeprefix("sha256:")
    if len(value) != 64 or not set(value) <= _HEX:
        raise ValueError(f"{what}: not a SHA-256 hex digest: {value!r}")
    return value


class _Facts:
    """Shared checks: hex digests are normalised to lower case and sequences frozen into tuples."""

    def __post_init__(self) -> None:
        for f in fields(self):  # type: ignore[arg-type]
            value = getattr(self, f.name)
            if f.name == "sha256" or f.name.endswith("_sha256"):
                if value is not None:
                    object.__setattr__(self, f.name, _sha256(value, f"{type(self).__name__}.{f.name}"))
            elif isinstance(value, list):
                object.__setattr__(self, f.name, tuple(value))


@dataclass(frozen=True, kw_only=True)
class SourceFacts(_Facts):
    """What the wheel was built from: an sdist (url + sha256), a git checkout (url + commit [+ tag]), or, for a
    prebuilt vendor wheel, that wheel (url + sha256)."""

    kind: Literal["sdist", "git", "wheel"]
    url: str
    sha256: str | None = None
    commit: str | None = None
    tag: str | None = None

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.kind == "git" and not self.commit:
            raise ValueError(f"git source {self.url}: needs the commit that was built")
        if self.kind in ("sdist", "wheel") and not self.sha256:
            raise ValueError(f"{self.kind} source {self.url}: needs its sha256")

    @classmethod
    def sdist(cls, url: str, sha256: str) -> SourceFacts:
        return cls(kind="sdist", url=url, sha256=sha256)

    @classmethod
    def git(cls, url: str, commit: str, tag: str | None = None) -> SourceFacts:
        return cls(kind="git", url=url, commit=commit, tag=tag)


@dataclass(frozen=True, kw_only=True)
class PatchFacts(_Facts):
    """One patch applied to the source: its file name, the diff's sha256, and its project-relative path."""

    file_name: str
    sha256: str
    path: str = ""  # e.g. patches/aiter/7.1/0001-fix.patch; the file name when empty


@dataclass(frozen=True, kw_only=True)
class ComponentFacts(_Facts):
    """An exact wheel: a build-environment member or a resolved runtime dependency."""

    name: str
    version: str
    wheel_filename: str | None = None  # None for a runtime dependency not yet built when this wheel was published
    sha256: str | None = None
    variant: str | None = None  # the label when the wheel comes from this variant's index (built or prebuilt here)


@dataclass(frozen=True, kw_only=True)
class ToolFacts(_Facts):
    """A compiler or accelerator toolchain piece and the version that built the wheel (gcc 12.2.0, nvcc 13.0)."""

    name: str
    version: str


@dataclass(frozen=True, kw_only=True)
class FileFacts(_Facts):
    """A file the build read, by name and sha256 (a constraints file)."""

    name: str
    sha256: str


@dataclass(frozen=True, kw_only=True)
class GraftedFacts(_Facts):
    """A shared library auditwheel copied into the wheel."""

    soname: str
    sha256: str
    path_in_wheel: str  # e.g. numpy.libs/libgfortran-040039e1.so.5.0.0
    origin: str  # where it was copied from, e.g. /usr/lib64/libgfortran.so.5
    license: LicenseFacts | None = None


@dataclass(frozen=True, kw_only=True)
class CrateFacts(_Facts):
    """A Rust crate vendored before the build and compiled into the wheel (checksum from Cargo.lock)."""

    name: str
    version: str
    checksum: str = ""

    @property
    def purl(self) -> PackageURL:
        return PackageURL(type="cargo", name=self.name, version=self.version)


@dataclass(frozen=True, kw_only=True)
class WheelFacts(_Facts):
    """Everything the SBOM states about one published wheel."""

    name: str
    version: str
    wheel_filename: str
    wheel_sha256: str  # the file this SBOM describes; see the module docstring for the embedded copy
    variant: str  # label, e.g. "rocm-7.1" or "cpu"
    archs: tuple[str, ...]
    source: SourceFacts
    patches: tuple[PatchFacts, ...]
    build_dependencies: tuple[ComponentFacts, ...]
    toolchain: tuple[ToolFacts, ...]
    constraints: tuple[FileFacts, ...]
    grafted: tuple[GraftedFacts, ...]
    runtime_dependencies: tuple[ComponentFacts, ...]
    license: LicenseFacts
    former_names: tuple[str, ...] = ()
    prebuilt: bool = False
    source_date_epoch: int
    content_sha256: str | None = None  # wheel_content_sha256 of the wheel; required for the embedded copy
    gpu_payload: tuple[str, ...] = ()  # "<module>: sm_80,sm_90" per GPU-carrying module, as verified
    crates: tuple[CrateFacts, ...] = ()  # Rust crates compiled in

    @property
    def purl(self) -> PackageURL:
        return wheel_purl(self.name, self.version, file_name=self.wheel_filename, variant=self.variant)


def wheel_purl(name: str, version: str, *, file_name: str | None = None, variant: str | None = None) -> PackageURL:
    """``pkg:pypi/<name>@<version>?file_name=<wheel>&variant=<label>`` (qualifiers in canonical order)."""
    qualifiers = {k: v for k, v in (("file_name", file_name), ("variant", variant)) if v}
    return PackageURL(type="pypi", name=canonicalize_name(name), version=version, qualifiers=qualifiers)


# -- one wheel -----------------------------------------------------------------------------------------------


def wheel_sbom(facts: WheelFacts, *, embedded: bool = False) -> bytes:
    """The CycloneDX 1.6 JSON SBOM of one wheel. ``embedded=True`` gives the copy that goes inside the wheel:
    no hash of the (not yet existing) final file, ``wheelwright:content-sha256`` instead."""
    if embedded and not facts.content_sha256:
        raise ValueError(f"{facts.wheel_filename}: the embedded SBOM needs content_sha256 (wheel_content_sha256)")
    main = _wheel_component(facts, ref=facts.purl.to_string(), embedded=embedded)
    runtime = [_dependency_component(d, "runtime-dependency", ComponentScope.REQUIRED) for d in facts.runtime_dependencies]
    grafted = [_grafted_component(g, "grafted:") for g in facts.grafted]
    grafted += [_crate_component(c) for c in facts.crates]
    excluded = [_dependency_component(d, "build-dependency", ComponentScope.EXCLUDED, ref_prefix="build:") for d in facts.build_dependencies]
    excluded += [_tool_component(t) for t in facts.toolchain]
    excluded += [_constraints_component(c) for c in facts.constraints]
    _unique_refs([main, *runtime, *grafted, *excluded])

    bom = Bom(components=[*runtime, *grafted, *excluded], metadata=_metadata(main, facts.source_date_epoch, embedded))
    bom.register_dependency(main, [*runtime, *grafted])
    for component in runtime + grafted:
        bom.register_dependency(component)
    return _serialise(bom)


def _wheel_component(facts: WheelFacts, *, ref: str, embedded: bool, ref_prefix: str = "") -> Component:
    props = [
        ("wheelwright:variant", facts.variant),
        ("wheelwright:wheel-file", facts.wheel_filename),
        *([("wheelwright:archs", ",".join(facts.archs))] if facts.archs else []),
        *([("wheelwright:former-names", ",".join(facts.former_names))] if facts.former_names else []),
        *([("wheelwright:prebuilt", "true")] if facts.prebuilt else []),
        *([("wheelwright:content-sha256", facts.content_sha256)] if facts.content_sha256 else []),
        *(("wheelwright:patch", f"{p.file_name} sha256:{p.sha256}") for p in facts.patches),
        *(("wheelwright:gpu-payload", entry) for entry in facts.gpu_payload),
        *_license_properties(facts.license),
    ]
    patches = [
        Patch(type=PatchClassification.UNOFFICIAL, diff=Diff(url=XsUri(f"{p.path or p.file_name}#sha256={p.sha256}")))
        for p in facts.patches
    ]
    how = "taken as a prebuilt vendor wheel" if facts.prebuilt else "built from source by wheelwright"
    notes = f"{how} for variant {facts.variant}" + (f", with {len(patches)} patch(es)" if patches else "")
    return Component(
        type=ComponentType.LIBRARY,
        bom_ref=ref,
        name=facts.name,
        version=facts.version,
        purl=facts.purl,
        hashes=[] if embedded else [_hash(facts.wheel_sha256)],
        licenses=_licenses(facts.license),
        properties=_properties(props),
        pedigree=Pedigree(ancestors=[_source_component(facts, ref_prefix + "source:")], patches=patches, notes=notes),
    )


def _source_component(facts: WheelFacts, ref_prefix: str) -> Component:
    source = facts.source
    if source.kind == "git":
        assert source.commit
        repo = source.url.removeprefix("git+")
        purl = PackageURL(type="generic", name=canonicalize_name(facts.name), version=source.commit,
                          qualifiers={"vcs_url": f"git+{repo}@{source.commit}"})
        refs = [ExternalReference(type=ExternalReferenceType.VCS, url=XsUri(repo), comment=f"commit {source.commit}")]
        props = [("wheelwright:source-commit", source.commit), *([("wheelwright:source-tag", source.tag)] if source.tag else [])]
        version, hashes = source.tag or source.commit, []
    else:
        assert source.sha256
        kind = ExternalReferenceType.SOURCE_DISTRIBUTION if source.kind == "sdist" else ExternalReferenceType.DISTRIBUTION
        file_name = PurePosixPath(source.url.split("#", 1)[0].split("?", 1)[0]).name or None
        purl = wheel_purl(facts.name, facts.version, file_name=file_name)
        refs = [ExternalReference(type=kind, url=XsUri(source.url), hashes=[_hash(source.sha256)])]
        props, version, hashes = [], facts.version, [_hash(source.sha256)]
    return Component(
        type=ComponentType.LIBRARY,
        bom_ref=ref_prefix + purl.to_string(),
        name=facts.name,
        version=version,
        purl=purl,
        hashes=hashes,
        external_references=refs,
        properties=_properties([("wheelwright:role", f"source-{source.kind}"), *props]),
    )


def _dependency_component(dep: ComponentFacts, role: str, scope: ComponentScope, ref_prefix: str = "") -> Component:
    purl = wheel_purl(dep.name, dep.version, file_name=dep.wheel_filename, variant=dep.variant)
    return Component(
        type=ComponentType.LIBRARY,
        bom_ref=ref_prefix + purl.to_string(),
        name=dep.name,
        version=dep.version,
        purl=purl,
        scope=scope,
        hashes=[_hash(dep.sha256)] if dep.sha256 else [],
        properties=_properties([("wheelwright:role", role)] + ([("wheelwright:wheel-file", dep.wheel_filename)] if dep.wheel_filename else [])),
    )


def _grafted_component(lib: GraftedFacts, ref_prefix: str) -> Component:
    props = [
        ("wheelwright:role", "grafted-library"),
        ("wheelwright:path-in-wheel", lib.path_in_wheel),
        ("wheelwright:origin-path", lib.origin),
    ]
    licenses: list[LicenseExpression] = []
    if lib.license is not None:
        props += _license_properties(lib.license)
        licenses = _licenses(lib.license)
    terms = proprietary(lib.soname)
    if terms:
        props.append(("wheelwright:proprietary", f"{terms.vendor}: {terms.terms}"))
        if not licenses:  # wheelwright's conclusion from the library's name, not a declaration
            licenses = [LicenseExpression(terms.license_ref, acknowledgement=LicenseAcknowledgement.CONCLUDED)]
    return Component(
        type=ComponentType.LIBRARY,
        bom_ref=ref_prefix + lib.path_in_wheel,
        name=lib.soname,
        scope=ComponentScope.REQUIRED,
        hashes=[_hash(lib.sha256)],
        licenses=licenses,
        properties=_properties(props),
    )


def _crate_component(crate: CrateFacts) -> Component:
    """Statically linked into the wheel, so required; the hash is the registry's (Cargo.lock checksum) when
    it is one (Debian's crate registry writes a placeholder instead)."""
    real = len(crate.checksum) == 64 and all(c in "0123456789abcdef" for c in crate.checksum)
    return Component(
        type=ComponentType.LIBRARY,
        bom_ref=f"crate:{crate.purl.to_string()}",
        name=crate.name,
        version=crate.version,
        purl=crate.purl,
        scope=ComponentScope.REQUIRED,
        hashes=[_hash(crate.checksum)] if real else [],
        properties=_properties([("wheelwright:role", "vendored-crate")]),
    )


def _tool_component(tool: ToolFacts) -> Component:
    purl = PackageURL(type="generic", name=tool.name, version=tool.version)
    return Component(
        type=ComponentType.APPLICATION,
        bom_ref=f"toolchain:{tool.name}@{tool.version}",
        name=tool.name,
        version=tool.version,
        purl=purl,
        scope=ComponentScope.EXCLUDED,
        properties=_properties([("wheelwright:role", "toolchain")]),
    )


def _constraints_component(file: FileFacts) -> Component:
    return Component(
        type=ComponentType.FILE,
        bom_ref=f"constraints:{file.name}",
        name=file.name,
        scope=ComponentScope.EXCLUDED,
        hashes=[_hash(file.sha256)],
        properties=_properties([("wheelwright:role", "constraints")]),
    )


def _licenses(facts: LicenseFacts) -> list[LicenseExpression]:
    if facts.expression is None:
        return []
    return [LicenseExpression(facts.expression, acknowledgement=LicenseAcknowledgement.DECLARED)]


def _license_properties(facts: LicenseFacts) -> list[tuple[str, str]]:
    unknown = [("wheelwright:license", "unknown")] if facts.expression is None else []
    return [*unknown, ("wheelwright:license-origin", facts.origin)]


def _hash(hex_digest: str) -> HashType:
    return HashType(alg=HashAlgorithm.SHA_256, content=hex_digest)


def _properties(pairs: Iterable[tuple[str, str]]) -> list[Property]:
    return [Property(name=name, value=value) for name, value in pairs]


def _unique_refs(components: Iterable[Component]) -> None:
    seen: set[str] = set()
    for component in components:
        ref = str(component.bom_ref.value)
        if ref in seen:
            raise ValueError(f"two SBOM components would share the bom-ref {ref!r}: a fact is listed twice")
        seen.add(ref)


def _metadata(main: Component, source_date_epoch: int, embedded: bool | None) -> BomMetaData:
    tools = [
        Component(type=ComponentType.APPLICATION, name=dist, version=_version(dist), bom_ref=f"tool:{dist}")
        for dist in ("wheelwright", "cyclonedx-python-lib")
    ]
    copy = [] if embedded is None else [Property(name="wheelwright:sbom-copy", value="embedded" if embedded else "published")]
    return BomMetaData(
        timestamp=datetime.fromtimestamp(source_date_epoch, tz=UTC),
        tools=ToolRepository(components=tools),
        component=main,
        lifecycles=[PredefinedLifecycle(LifecyclePhase.BUILD)],
        properties=copy,
    )


def _version(dist: str) -> str:
    try:
        return importlib.metadata.version(dist)
    except importlib.metadata.PackageNotFoundError:
        return "unknown"


def _serialise(bom: Bom) -> bytes:
    """JSON 1.6, with a serial number derived from the rest of the document."""
    bom.serial_number = uuid.UUID(int=0)
    draft = _json(bom)
    bom.serial_number = uuid.uuid5(_SERIAL_NAMESPACE, hashlib.sha256(draft).hexdigest())
    return _json(bom)


def _json(bom: Bom) -> bytes:
    with warnings.catch_warnings():  # the library warns about components outside the dependency graph
        warnings.simplefilter("ignore")
        document = json.loads(JsonV1Dot6(bom).output_as_string())
    head = {key: document.pop(key) for key in ("$schema", "bomFormat", "specVersion", "serialNumber", "version") if key in document}
    return json.dumps({**head, **document}, indent=2).encode() + b"\n"


# -- a whole stack -------------------------------------------------------------------------------------------


def stack_sbom(variant: str, wheels: Sequence[WheelFacts], edges: Sequence[tuple[str, str]], source_date_epoch: int) -> bytes:
    """One SBOM for every wheel published for a variant, with the runtime dependency graph.

    ``edges`` are (parent, child) runtime ("install"/"toplevel") edges between nodes named ``name==version``
    (graph.py's node ids), a bare name, or ``graph.ROOT`` for what was asked for at the top level. Each wheel is
    a component with its published hash, pedigree and licence; grafted libraries, toolchain and constraints files
    are listed too (the last two once, scope ``excluded``). Build-environment wheels are in the per-wheel SBOMs.
    """
    stack = Component(
        type=ComponentType.APPLICATION,
        bom_ref=f"stack:{variant}",
        name="wheelwright-stack",
        version=variant,
        properties=_properties([("wheelwright:variant", variant)]),
    )
    ordered = sorted(wheels, key=lambda w: (canonicalize_name(w.name), w.version))
    by_key: dict[str, Component] = {ROOT: stack}
    components: list[Component] = []
    grafted_of: dict[str, list[Component]] = {}
    excluded: dict[str, Component] = {}
    for facts in ordered:
        ref = facts.purl.to_string()
        component = _wheel_component(facts, ref=ref, embedded=False, ref_prefix=f"{ref}#")
        component.properties.add(Property(name="wheelwright:role", value="wheel"))
        components.append(component)
        grafted_of[ref] = [_grafted_component(g, f"{ref}#grafted:") for g in facts.grafted]
        node = f"{canonicalize_name(facts.name)}=={facts.version}"
        if node in by_key:
            raise ValueError(f"stack {variant}: {node} is listed twice")
        by_key[node] = component
        by_key.setdefault(canonicalize_name(facts.name), component)
        for extra in [_tool_component(t) for t in facts.toolchain] + [_constraints_component(c) for c in facts.constraints]:
            excluded.setdefault(str(extra.bom_ref.value), extra)
    everything = components + [g for gs in grafted_of.values() for g in gs] + [excluded[k] for k in sorted(excluded)]
    _unique_refs([stack, *everything])

    bom = Bom(components=everything, metadata=_metadata(stack, source_date_epoch, None))
    bom.register_dependency(stack)
    for component in components:
        bom.register_dependency(component, grafted_of[str(component.bom_ref.value)])
    for parent, child in edges:
        bom.register_dependency(_lookup(by_key, parent, variant), [_lookup(by_key, child, variant)])
    return _serialise(bom)


def _lookup(by_key: dict[str, Component], node: str, variant: str) -> Component:
    if node == ROOT:
        return by_key[ROOT]
    name, sep, version = node.partition("==")
    key = f"{canonicalize_name(name)}{sep}{version}"
    try:
        return by_key[key]
    except KeyError:
        raise ValueError(f"stack {variant}: dependency edge names {node!r}, which is not one of its wheels") from None


# -- wheels --------------------------------------------------------------------------------------------------


def wheel_content_sha256(wheel: Path) -> str:
    """SHA-256 of the ``sha256sum``-style listing of a wheel's files, sorted by path, leaving out RECORD, its
    signatures and ``.dist-info/sboms/*``: what the wheel contains, unchanged by embedding an SBOM."""
    with zipfile.ZipFile(wheel) as zf:
        dist_info = _dist_info(zf, wheel)
        skip = {f"{dist_info}/RECORD", f"{dist_info}/RECORD.jws", f"{dist_info}/RECORD.p7s"}
        lines = []
        for info in zf.infolist():
            if info.is_dir() or info.filename in skip or info.filename.startswith(f"{dist_info}/sboms/"):
                continue
            digest = hashlib.sha256()
            with zf.open(info) as member:
                for block in iter(lambda: member.read(1 << 20), b""):
                    digest.update(block)
            lines.append(f"{digest.hexdigest()}  {info.filename}\n")
    return hashlib.sha256("".join(sorted(lines, key=lambda line: line[66:])).encode()).hexdigest()


def embed_sbom(wheel: Path, sbom: bytes, out: Path, *, filename: str = EMBEDDED_SBOM_NAME) -> Path:
    """Write a copy of ``wheel`` to ``out`` (atomically) with ``sbom`` as ``<dist-info>/sboms/<filename>``
    (PEP 770) and a RECORD line for it (sha256 + size), so installers still verify it. Every other member keeps
    its order, bytes, timestamp and mode; the SBOM goes just before RECORD with RECORD's timestamp; an earlier
    copy of the same file is replaced. Other members are copied still compressed (``_copy_raw``), so this takes
    about as long as copying the file. ``wheel`` itself is never changed (``out`` may be the same path)."""
    if "/" in filename or not filename.endswith(".json"):
        raise ValueError(f"SBOM file name {filename!r}: a plain file name ending in .json")
    with zipfile.ZipFile(wheel) as zin:
        dist_info = _dist_info(zin, wheel)
        record_name, member = f"{dist_info}/RECORD", f"{dist_info}/sboms/{filename}"
        names = set(zin.namelist())
        if names & {f"{record_name}.jws", f"{record_name}.p7s"}:
            raise BuildError(f"{wheel.name}: RECORD is signed; adding an SBOM would break the signature")
        record_info = zin.getinfo(record_name)
        record = _record_with(zin.read(record_info).decode("utf-8"), record_name, member, sbom)
        with atomic_writer(out) as handle, zipfile.ZipFile(handle, "w") as zout:
            for info in zin.infolist():
                if info.filename == member:
                    continue
                if info.filename == record_name:
                    sbom_info = zipfile.ZipInfo(member, date_time=record_info.date_time)
                    sbom_info.compress_type = zipfile.ZIP_DEFLATED
                    sbom_info.create_system = 3
                    sbom_info.external_attr = 0o100644 << 16
                    zout.writestr(sbom_info, sbom)
                    zout.writestr(_clone(info), record.encode("utf-8"))
                    continue
                _copy_raw(zin, info, zout)
    return out


def finalize_wheel(facts: WheelFacts, wheel: Path, out: Path) -> tuple[Path, WheelFacts, bytes]:
    """Embed the SBOM in ``wheel`` (written to ``out``) and return the published wheel, its facts (with the
    final sha256 and content digest) and the published SBOM that goes beside the index."""
    facts = replace(facts, content_sha256=wheel_content_sha256(wheel))
    embed_sbom(wheel, wheel_sbom(facts, embedded=True), out)
    facts = replace(facts, wheel_sha256=sha256_file(out))
    return out, facts, wheel_sbom(facts)


def _dist_info(zf: zipfile.ZipFile, wheel: Path) -> str:
    found = sorted({n.split("/", 1)[0] for n in zf.namelist() if n.count("/") == 1 and n.endswith(".dist-info/RECORD")})
    if len(found) != 1:
        raise BuildError(f"{wheel.name}: expected one .dist-info/RECORD, found {len(found)}")
    return found[0]


def _clone(info: zipfile.ZipInfo) -> zipfile.ZipInfo:
    clone = zipfile.ZipInfo(info.filename, date_time=info.date_time)
    clone.compress_type = info.compress_type
    clone.create_system = info.create_system
    clone.external_attr = info.external_attr
    clone.internal_attr = info.internal_attr
    return clone


def _copy_raw(zin: zipfile.ZipFile, info: zipfile.ZipInfo, zout: zipfile.ZipFile) -> None:
    """Copy one member's compressed bytes as they are: no recompression (a multi-GB torch wheel copies at disk
    speed) and byte-identical data. zipfile has no public raw copy, so this writes the local header itself and
    registers the entry the way ``ZipFile.open(..., "w")`` does; the central directory is zipfile's own."""
    if info.flag_bits & 0x01:
        raise BuildError(f"{info.filename}: encrypted zip members are not supported")
    assert zin.fp is not None and zout.fp is not None
    zin.fp.seek(info.header_offset)
    header = zin.fp.read(30)
    if header[:4] != b"PK\x03\x04":
        raise BuildError(f"{info.filename}: bad local file header in the wheel")
    name_length, extra_length = struct.unpack("<HH", header[26:30])
    zin.fp.seek(info.header_offset + 30 + name_length + extra_length)

    clone = _clone(info)
    clone.flag_bits = info.flag_bits & ~0x08  # sizes go in the local header: no data descriptor
    clone.CRC, clone.compress_size, clone.file_size = info.CRC, info.compress_size, info.file_size
    clone.header_offset = zout.fp.tell()
    zout.fp.write(clone.FileHeader())
    remaining = info.compress_size
    while remaining:
        block = zin.fp.read(min(remaining, 1 << 20))
        if not block:
            raise BuildError(f"{info.filename}: the wheel is truncated")
        zout.fp.write(block)
        remaining -= len(block)
    zout.filelist.append(clone)
    zout.NameToInfo[clone.filename] = clone
    zout.start_dir = zout.fp.tell()  # where the next entry (or the central directory) goes


def _record_with(record: str, record_name: str, member: str, data: bytes) -> str:
    """RECORD with one line for ``member`` (any old one dropped), placed before RECORD's own line."""
    lines = record.splitlines(keepends=True)
    newline = "\r\n" if lines and lines[0].endswith("\r\n") else "\n"
    if lines and not lines[-1].endswith(("\n", "\r")):
        lines[-1] += newline
    digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator=newline).writerow([member, f"sha256={digest}", len(data)])
    kept: list[str] = []
    at: int | None = None
    for line in lines:
        path = next(csv.reader([line]), [""])[0] if line.strip() else ""
        if path == member:
            continue
        if path == record_name and at is None:
            at = len(kept)
        kept.append(line)
    kept.insert(len(kept) if at is None else at, buffer.getvalue())
    return "".join(kept)
