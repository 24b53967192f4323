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

The work is split by job: the fact records live in sbomfacts.py, one CycloneDX component per fact is built in
sbomparts.py, and embedding into a wheel (with the content digest) is wheelembed.py. This module assembles and
serialises whole documents and re-exports the names callers import from it.
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import json
import uuid
import warnings
from collections.abc import Iterable, Sequence
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

from cyclonedx.model import Property
from cyclonedx.model.bom import Bom, BomMetaData
from cyclonedx.model.component import Component, ComponentScope, ComponentType
from cyclonedx.model.contact import OrganizationalContact
from cyclonedx.model.lifecycle import LifecyclePhase, PredefinedLifecycle
from cyclonedx.model.tool import ToolRepository
from cyclonedx.output.json import JsonV1Dot6
from packaging.utils import canonicalize_name

from wheelwright.fsutil import sha256_file
from wheelwright.plan.graph import ROOT
from wheelwright.stages.sbomfacts import (
    ComponentFacts,
    CrateFacts,
    ExtraSourceFacts,
    FileFacts,
    GraftedFacts,
    PatchFacts,
    SourceFacts,
    ToolFacts,
    WheelFacts,
    wheel_purl,
)
from wheelwright.stages.sbomparts import (
    _constraints_component,
    _crate_component,
    _dependency_component,
    _grafted_component,
    _properties,
    _tool_component,
    _wheel_component,
)
from wheelwright.stages.wheelembed import EMBEDDED_SBOM_NAME, embed_sbom, wheel_content_sha256

__all__ = [
    "EMBEDDED_SBOM_NAME", "SPEC_VERSION", "ComponentFacts", "CrateFacts", "ExtraSourceFacts", "FileFacts", "GraftedFacts", "PatchFacts",
    "SourceFacts", "ToolFacts", "WheelFacts", "embed_sbom", "finalize_wheel", "stack_sbom", "wheel_content_sha256",
    "wheel_purl", "wheel_sbom",
]

SPEC_VERSION = "1.6"
_SERIAL_NAMESPACE = uuid.UUID("7c4d1a52-5b0e-5d1e-9a57-77686565c177")  # fixed: wheelwright SBOM serials


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
        authors=[OrganizationalContact(name="wheelwright")],  # NTIA's "author of SBOM data": the tool that wrote it, from the build's facts
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


def stack_sbom(variant: str, wheels: Sequence[WheelFacts], edges: Sequence[tuple[str, str]], source_date_epoch: int, run: str | None = None) -> bytes:
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
        properties=_properties([("wheelwright:variant", variant), *([("wheelwright:run", run)] if run else [])]),
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


def finalize_wheel(facts: WheelFacts, wheel: Path, out: Path) -> tuple[Path, WheelFacts, bytes]:
    """Embed the SBOM in ``wheel`` (written to ``out``) and return the published wheel, its facts (with the
    final sha256 and content digest) and the published SBOM that goes beside the index."""
    facts = replace(facts, content_sha256=wheel_content_sha256(wheel))
    embed_sbom(wheel, wheel_sbom(facts, embedded=True), out)
    facts = replace(facts, wheel_sha256=sha256_file(out))
    return out, facts, wheel_sbom(facts)
