"""Accelerator variants as data: ``variants.toml`` is loaded into frozen objects.

A *variant spec* is one accelerator family (rocm) with its version matrix (6.4, 7.1); a *variant*
is one selected point of it (rocm at 7.1), which is what a build, its cache keys and its output
directory are for.
"""

from __future__ import annotations

import enum
import fnmatch
import hashlib
import json
import tomllib
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any, Literal

from packaging.utils import canonicalize_name

from wheelwright.errors import ConfigError
from wheelwright.suggest import did_you_mean


class PayloadKind(enum.Enum):
    """What accelerator code a variant's wheels carry (``gpu_payload`` in variants.toml)."""

    NONE = "none"
    CUDA = "cuda"
    HIP = "hip"
    VENDOR = "vendor"  # a vendor's own runtime (gaudi, tpu, spyre): nothing wheelwright can inspect

    @property
    def requires_kernels(self) -> bool:
        """True where the variant's archs must be present in the wheels' GPU code (CUDA SASS/PTX, HIP code objects)."""
        return self in (PayloadKind.CUDA, PayloadKind.HIP)


@dataclass(frozen=True, kw_only=True)
class ToolCheck:
    """One tool or library a variant's builds need, and how to read its version."""

    name: str
    kind: Literal["tool", "library"] = "tool"
    version_command: tuple[str, ...] = ()
    version_pattern: str = ""  # regex; group 1 is the version
    requires: str = ""  # PEP 440 specifier the version must meet; "{version}" is the accelerator version
    search_paths: tuple[str, ...] = ()  # where a library may live besides the loader's cache; $VARS allowed
    # The toolkit's real root, read from the tool itself (an `nvcc` on PATH may be a wrapper script, so its location
    # says nothing): root_command's output, root_pattern's group 1, handed to every build as the variable root_env.
    root_env: str = ""
    root_command: tuple[str, ...] = ()
    root_pattern: str = ""


@dataclass(frozen=True, kw_only=True)
class AcceleratorVersion:
    """One row of a variant's matrix."""

    version: str
    constraints: tuple[str, ...]
    archs: tuple[str, ...] = ()
    env: Mapping[str, str] = field(default_factory=dict)
    builder_image: str = ""
    ptx_forward_compatible: bool = False  # cuda: may PTX stand in for a missing sm_* SASS?
    prebuilt: tuple[str, ...] = ()  # this row's vendor wheels, beside the family's (cuda 13.0: PyPI's torch 2.11.0 build)


@dataclass(frozen=True, kw_only=True)
class VariantSpec:
    """One accelerator family as written in variants.toml."""

    name: str
    description: str
    gpu_payload: PayloadKind = PayloadKind.NONE
    env: Mapping[str, str] = field(default_factory=dict)
    stack: tuple[str, ...] = ()
    constraints: tuple[str, ...] = ()  # for variants without versions (cpu)
    toolchain: tuple[ToolCheck, ...] = ()
    never_graft: tuple[str, ...] = ()  # sonames (fnmatch patterns) auditwheel must never copy in
    forbid: tuple[str, ...] = ()  # sonames no wheel of this variant may need at all (another accelerator's runtime)
    prebuilt: tuple[str, ...] = ()  # proprietary packages taken as vendor wheels, never built
    prebuilt_index: str = ""
    versions: Mapping[str, AcceleratorVersion] = field(default_factory=dict)
    default_version: str | None = None
    runner: tuple[str, ...] = ("ubuntu-latest",)  # GitHub Actions runner labels its CI jobs run on
    # variable -> globs under the build environment's site-packages, prepended to it in every build: headers and
    # libraries that wheels in the build environment bring (torch's nvidia-* wheels: cusparse.h, libcusparse.so)
    build_env_paths: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    # sonames (fnmatch) the installing host provides itself (the driver's libcuda.so.1, a ROCm install): a wheel may
    # need them without a requirement that brings them; every other never-grafted library needs one
    system_runtime: tuple[str, ...] = ()


@dataclass(frozen=True, kw_only=True)
class Variant:
    """A selected point of the matrix: everything one build shares."""

    name: str  # family: cpu, cuda, rocm… (recipes dispatch on this)
    version: str | None  # accelerator version, None for cpu
    description: str
    gpu_payload: PayloadKind = PayloadKind.NONE
    env: Mapping[str, str] = field(default_factory=dict)
    constraints: tuple[str, ...] = ()
    archs: tuple[str, ...] = ()
    builder_image: str = ""
    toolchain: tuple[ToolCheck, ...] = ()
    never_graft: tuple[str, ...] = ()
    forbid: tuple[str, ...] = ()
    prebuilt: tuple[str, ...] = ()
    prebuilt_index: str = ""
    ptx_forward_compatible: bool = False
    stack: tuple[str, ...] = ()
    runner: tuple[str, ...] = ("ubuntu-latest",)
    build_env_paths: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    system_runtime: tuple[str, ...] = ()

    def takes_prebuilt(self, name: str) -> bool:
        """Whether a package is taken as a vendor wheel: its canonical name matches a ``prebuilt`` entry (fnmatch, so
        ``nvidia-*`` covers NVIDIA's wheel-only runtime libraries)."""
        canonical = canonicalize_name(name)
        return any(fnmatch.fnmatchcase(canonical, canonicalize_name(p) if not any(c in p for c in "*?[") else p) for p in self.prebuilt)

    @property
    def label(self) -> str:
        """``rocm-7.1``, or ``cpu``: names the output directory and the constraints file."""
        return f"{self.name}-{self.version}" if self.version else self.name

    def fingerprint(self) -> str:
        """Hash of every setting that can change a wheel built for this variant (part of cache keys)."""
        settings = {k: v for k, v in asdict(self).items() if k not in ("description", "stack", "runner")}
        settings["gpu_payload"] = self.gpu_payload.value  # the string variants.toml holds: fingerprints stay what they were
        for added in ("build_env_paths", "system_runtime"):
            if not settings[added]:
                del settings[added]  # settings added later hash only where set: the other variants' keys stay
        for tool in settings["toolchain"]:
            for unset in [k for k in ("root_env", "root_command", "root_pattern") if not tool[k]]:
                del tool[unset]
        return hashlib.sha256(json.dumps(settings, sort_keys=True, default=list).encode()).hexdigest()


def load_variants(path: Path) -> dict[str, VariantSpec]:
    """Read every variant in ``path``; a malformed file is a ConfigError naming it and the field."""
    try:
        data = tomllib.loads(path.read_text())
    except FileNotFoundError:
        raise ConfigError(f"{path}: variants file not found") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML: {exc}") from None
    common = _strings(data.get("common", {}).get("never_graft", ()))
    specs = {}
    for name, table in data.get("variant", {}).items():
        try:
            specs[name] = _spec(name, table, common)
        except (TypeError, AttributeError, KeyError, ValueError) as exc:
            raise ConfigError(f"{path}: [variant.{name}] is malformed: {exc}") from None
    if not specs:
        raise ConfigError(f"{path}: defines no [variant.*] tables")
    return specs


def _strings(value: Any) -> tuple[str, ...]:
    if isinstance(value, str):
        return tuple(v for v in value.split(";") if v)
    return tuple(str(v) for v in value)


def _payload_kind(value: Any) -> PayloadKind:
    try:
        return PayloadKind(value)
    except ValueError:
        raise ValueError(f"gpu_payload {value!r} is not one of {', '.join(k.value for k in PayloadKind)}") from None


def _spec(name: str, table: Mapping[str, Any], common_never_graft: tuple[str, ...]) -> VariantSpec:
    versions = {
        str(version): AcceleratorVersion(
            version=str(version),
            constraints=_strings(row.get("constraints", [f"{name}-{version}.txt"])),
            archs=_strings(row.get("archs", ())),
            env={str(k): str(v) for k, v in row.get("env", {}).items()},
            builder_image=str(row.get("builder_image", "")),
            ptx_forward_compatible=bool(row.get("ptx_forward_compatible", False)),
            prebuilt=_strings(row.get("prebuilt", ())),
        )
        for version, row in table.get("versions", {}).items()
    }
    default = table.get("default_version")
    if versions and default not in versions:
        raise ValueError(f"default_version {default!r} is not one of its versions {sorted(versions)}")
    return VariantSpec(
        name=name,
        description=str(table.get("description", name)),
        gpu_payload=_payload_kind(table.get("gpu_payload", "none")),
        env={str(k): str(v) for k, v in table.get("env", {}).items()},
        stack=_strings(table.get("stack", ())),
        constraints=_strings(table.get("constraints", ())),
        toolchain=tuple(
            ToolCheck(
                name=str(t["name"]),
                kind=t.get("kind", "tool"),
                version_command=_strings(t.get("version_command", ())),
                version_pattern=str(t.get("version_pattern", "")),
                requires=str(t.get("requires", "")),
                search_paths=_strings(t.get("search_paths", ())),
                root_env=str(t.get("root_env", "")),
                root_command=_strings(t.get("root_command", ())),
                root_pattern=str(t.get("root_pattern", "")),
            )
            for t in table.get("toolchain", ())
        ),
        never_graft=common_never_graft + _strings(table.get("never_graft", ())),
        forbid=_strings(table.get("forbid", ())),
        prebuilt=_strings(table.get("prebuilt", ())),
        prebuilt_index=str(table.get("prebuilt_index", "")),
        versions=versions,
        default_version=default,
        runner=_strings(table.get("runner", ("ubuntu-latest",))),
        build_env_paths={str(k): _strings(v) for k, v in table.get("build_env_paths", {}).items()},
        system_runtime=_strings(table.get("system_runtime", ())),
    )


def select_variant(specs: Mapping[str, VariantSpec], name: str, version: str | None = None) -> Variant:
    """Pick a family and one of its versions (its default when none is given)."""
    try:
        spec = specs[name]
    except KeyError:
        raise ConfigError(f"unknown variant {name!r}{did_you_mean(name, specs)}; known variants: {', '.join(sorted(specs))}") from None
    if not spec.versions:
        if version:
            raise ConfigError(f"variant {name!r} has no accelerator versions; drop --accelerator-version {version}")
        return Variant(name=name, version=None, description=spec.description, gpu_payload=spec.gpu_payload, env=spec.env,
                       constraints=spec.constraints, never_graft=spec.never_graft, forbid=spec.forbid, prebuilt=spec.prebuilt,
                       prebuilt_index=spec.prebuilt_index, toolchain=spec.toolchain, stack=spec.stack, runner=spec.runner,
                       build_env_paths=spec.build_env_paths, system_runtime=spec.system_runtime)
    chosen = version or spec.default_version
    if chosen is None or chosen not in spec.versions:
        raise ConfigError(f"variant {name!r} has no accelerator version {chosen!r}{did_you_mean(chosen or '', spec.versions)}; "
                          f"known: {', '.join(spec.versions)}")
    row = spec.versions[chosen]
    return Variant(
        name=name, version=chosen, description=f"{spec.description} {chosen}", gpu_payload=spec.gpu_payload,
        env={**spec.env, **row.env}, constraints=row.constraints, archs=row.archs, builder_image=row.builder_image,
        toolchain=spec.toolchain, never_graft=spec.never_graft, forbid=spec.forbid, prebuilt=spec.prebuilt + row.prebuilt, prebuilt_index=spec.prebuilt_index,
        ptx_forward_compatible=row.ptx_forward_compatible, stack=spec.stack, runner=spec.runner, build_env_paths=spec.build_env_paths,
        system_runtime=spec.system_runtime,
    )


def every_variant(specs: Mapping[str, VariantSpec]) -> list[Variant]:
    """Every point of the matrix, default version first within each family."""
    result = []
    for spec in specs.values():
        versions = sorted(spec.versions, key=lambda v: v != spec.default_version) if spec.versions else [None]
        result += [select_variant(specs, spec.name, v) for v in versions]
    return result


def narrowed(variant: Variant, archs: str | None) -> Variant:
    """``--archs sm_90[,sm_80]``: one run's subset of the variant's arch list (a developer's fast loop, a GPU proof).
    Every arch must be one the variant lists; the narrowed list is the variant (cache keys, report, SBOM, verify)."""
    if not archs:
        return variant
    chosen = tuple(dict.fromkeys(a.strip() for a in archs.split(",") if a.strip()))
    unknown = [a for a in chosen if a not in variant.archs]
    if not chosen or unknown:
        raise ConfigError(f"--archs {archs!r}: {', '.join(unknown) or 'nothing'} not in {variant.label}'s arch list ({', '.join(variant.archs) or 'none'})")
    return replace(variant, archs=chosen)
