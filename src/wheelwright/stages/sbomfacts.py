"""The frozen facts an SBOM is built from: what a wheel was built from, with what, and what went into it.

Split out of sbom.py so the records (and their checks) stand apart from CycloneDX: callers that only gather
facts (provenance, crates) need not know the SBOM format. sbom.py re-exports every name here.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Literal

from packageurl import PackageURL
from packaging.utils import canonicalize_name

from wheelwright.stages.licenses import LicenseFacts

_HEX = frozenset("0123456789abcdef")


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

    kind: Literal["sdist", "git", "wheel", "local"]  # local: a local sdist or source directory, by its archive's sha256
    url: str
    sha256: str | None = None
    commit: str | None = None
    tag: str | None = None

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.kind == "git" and not self.commit:
            raise ValueError(f"git source {self.url}: needs the commit that was built")
        if self.kind in ("sdist", "wheel", "local") and not self.sha256:
            raise ValueError(f"{self.kind} source {self.url}: needs its sha256")

    @classmethod
    def sdist(cls, url: str, sha256: str) -> SourceFacts:
        return cls(kind="sdist", url=url, sha256=sha256)

    @classmethod
    def git(cls, url: str, commit: str, tag: str | None = None) -> SourceFacts:
        return cls(kind="git", url=url, commit=commit, tag=tag)


@dataclass(frozen=True, kw_only=True)
class ExtraSourceFacts(_Facts):
    """A third-party tree a recipe fetched for the build (vLLM's cutlass): the commit it was, or the archive's sha256."""

    name: str
    url: str
    commit: str | None = None
    sha256: str | None = None
    tag: str | None = None

    def __post_init__(self) -> None:
        super().__post_init__()
        if (self.commit is None) == (self.sha256 is None):
            raise ValueError(f"extra source {self.name}: needs the commit it was or its archive's sha256")


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
    supplier: str | None = None  # who its METADATA names (Author, else Maintainer)


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
    package: str = ""  # the distribution package that installed it (dpkg -S), e.g. libyaml-0-2
    package_version: str = ""  # e.g. 0.2.5-1
    purl: str = ""  # e.g. pkg:deb/debian/libyaml-0-2@0.2.5-1?arch=amd64


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
    extra_sources: tuple[ExtraSourceFacts, ...] = ()  # trees a recipe fetched before the build, beside the source
    supplier: str | None = None  # who the wheel's METADATA names (Author, else Maintainer)

    @property
    def purl(self) -> PackageURL:
        return wheel_purl(self.name, self.version, file_name=self.wheel_filename, variant=self.variant)


def wheel_purl(name: str, version: str, *, file_name: str | None = None, variant: str | None = None) -> PackageURL:
    """``pkg:pypi/<name>@<version>?file_name=<wheel>&variant=<label>`` (qualifiers in canonical order)."""
    qualifiers = {k: v for k, v in (("file_name", file_name), ("variant", variant)) if v}
    return PackageURL(type="pypi", name=canonicalize_name(name), version=version, qualifiers=qualifiers)
