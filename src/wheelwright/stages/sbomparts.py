"""CycloneDX components, one per fact: the wheel, its source, dependencies, grafted libraries, crates, tools.

Split out of sbom.py, which assembles these into whole documents (one wheel, a stack) and serialises them;
the ``wheelwright:`` properties set here are listed in sbom.py's docstring.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import PurePosixPath

from cyclonedx.model import (
    ExternalReference,
    ExternalReferenceType,
    HashAlgorithm,
    HashType,
    Property,
    XsUri,
)
from cyclonedx.model.contact import OrganizationalEntity
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
from packageurl import PackageURL
from packaging.utils import canonicalize_name

from wheelwright.stages.licenses import LicenseFacts, proprietary
from wheelwright.stages.sbomfacts import ComponentFacts, CrateFacts, ExtraSourceFacts, FileFacts, GraftedFacts, ToolFacts, WheelFacts, wheel_purl

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
        supplier=OrganizationalEntity(name=facts.supplier) if facts.supplier else None,
        purl=facts.purl,
        hashes=[] if embedded else [_hash(facts.wheel_sha256)],
        licenses=_licenses(facts.license),
        properties=_properties(props),
        pedigree=Pedigree(ancestors=[_source_component(facts, ref_prefix + "source:"),
                                     *(_extra_source_component(e, ref_prefix + "extra-source:") for e in facts.extra_sources)],
                          patches=patches, notes=notes),
    )


def _extra_source_component(extra: ExtraSourceFacts, ref_prefix: str) -> Component:
    """A tree the recipe fetched for the build (vLLM's cutlass at its commit, AOTriton's tarball by sha256)."""
    if extra.commit:
        purl = PackageURL(type="generic", name=extra.name, version=extra.commit, qualifiers={"vcs_url": f"git+{extra.url}@{extra.commit}"})
        refs = [ExternalReference(type=ExternalReferenceType.VCS, url=XsUri(extra.url), comment=f"commit {extra.commit}")]
        hashes, version = [], extra.tag or extra.commit
    else:
        assert extra.sha256
        purl = PackageURL(type="generic", name=extra.name, qualifiers={"download_url": extra.url, "checksum": f"sha256:{extra.sha256}"})
        refs = [ExternalReference(type=ExternalReferenceType.DISTRIBUTION, url=XsUri(extra.url), hashes=[_hash(extra.sha256)])]
        hashes, version = [_hash(extra.sha256)], content_version(extra.sha256)
    return Component(type=ComponentType.LIBRARY, bom_ref=ref_prefix + purl.to_string(), name=extra.name, version=version, purl=purl,
                     hashes=hashes, external_references=refs,
                     properties=_properties([("wheelwright:role", "extra-source"), *([("wheelwright:source-commit", extra.commit)] if extra.commit else [])]))


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
        kind = ExternalReferenceType.SOURCE_DISTRIBUTION if source.kind in ("sdist", "local") else ExternalReferenceType.DISTRIBUTION
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
        supplier=OrganizationalEntity(name=dep.supplier) if dep.supplier else None,
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
        *([("wheelwright:system-package", f"{lib.package} {lib.package_version}")] if lib.package else []),
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
        version=lib.package_version or content_version(lib.sha256),
        purl=PackageURL.from_string(lib.purl) if lib.purl else None,
        supplier=OrganizationalEntity(name=f"{lib.purl.split('/')[1]} ({lib.package})") if lib.purl else None,
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
        version=content_version(file.sha256),
        scope=ComponentScope.EXCLUDED,
        hashes=[_hash(file.sha256)],
        properties=_properties([("wheelwright:role", "constraints")]),
    )


def content_version(sha256: str) -> str:
    """The version of something versioned by nothing but its bytes (a constraints file, a library no package owns)."""
    return f"sha256:{sha256[:16]}"


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
