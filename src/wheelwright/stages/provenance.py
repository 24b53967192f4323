"""Gather what the SBOM states about one wheel from the build's own inputs, and keep it (as JSON in the
build state) so a cached wheel's facts survive for the stack SBOM and the licence report."""

from __future__ import annotations

import dataclasses
import json
import re
import subprocess
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from packaging.utils import parse_wheel_filename
from uv import find_uv_bin

from wheelwright.fsutil import sha256_file
from wheelwright.config.interpreters import Interpreter
from wheelwright.stages.licenses import LicenseFacts, license_from_wheel, supplier_from_wheel
from wheelwright.recipes.patches import Patch
from wheelwright.stages.repair import RepairResult
from wheelwright.stages.syspackages import system_package
from wheelwright.stages.sbom import ComponentFacts, CrateFacts, ExtraSourceFacts, FileFacts, GraftedFacts, PatchFacts, SourceFacts, ToolFacts, WheelFacts
from wheelwright.config.toolchain import check_toolchain
from wheelwright.config.variants import Variant


def build_toolchain(interpreter: Interpreter, variant: Variant) -> tuple[ToolFacts, ...]:
    """Compilers and accelerator toolchain as found on this machine for this run (read once per run)."""
    tools = [ToolFacts(name="python", version=interpreter.full_version)]
    for name, command in (("gcc", ["gcc", "-dumpfullversion"]), ("uv", [find_uv_bin(), "--version"])):
        version = _first_version(command)
        if version:
            tools.append(ToolFacts(name=name, version=version))
    tools += [ToolFacts(name=s.name, version=s.version) for s in check_toolchain(variant) if s.ok and s.version]
    return tuple(tools)


def _first_version(command: list[str]) -> str | None:
    try:
        output = subprocess.run(command, capture_output=True, text=True, timeout=30).stdout
    except (OSError, subprocess.SubprocessError):
        return None
    match = re.search(r"\d+(\.\d+)+", output)
    return match.group(0) if match else None


def constraint_files(paths: Iterable[Path]) -> tuple[FileFacts, ...]:
    return tuple(FileFacts(name=p.name, sha256=sha256_file(p)) for p in paths)


def wheel_components(wheels: Sequence[tuple[Path, str]], variant: str) -> tuple[ComponentFacts, ...]:
    result = []
    for path, sha in wheels:
        name, version, _, _ = parse_wheel_filename(path.name)
        result.append(ComponentFacts(name=name, version=str(version), wheel_filename=path.name, sha256=sha, variant=variant,
                                     supplier=supplier_from_wheel(path)))
    return tuple(sorted(result, key=lambda c: (c.name, c.version)))


def runtime_components(runtime: Iterable[Any], variant: str) -> list[ComponentFacts]:
    """A wheel's runtime dependencies for its SBOM, by name and version only: whether a dependency's wheel happened to
    be published before this one finished (same machine, or another CI job) must not change the wheel's bytes. The
    stack SBOM holds every wheel's hash and these edges."""
    return [ComponentFacts(name=r.name, version=r.version, wheel_filename=None, sha256=None, variant=variant) for r in runtime]


def gather(*, name: str, version: str, variant: Variant, source: SourceFacts, patches: Sequence[Patch],
           project_root: Path, build_wheels: Sequence[tuple[Path, str]], toolchain: tuple[ToolFacts, ...],
           constraints: tuple[FileFacts, ...], repaired: RepairResult, runtime: Sequence[ComponentFacts],
           former_names: Sequence[str], source_date_epoch: int, gpu_payload: Sequence[str] = (),
           crates: Sequence[CrateFacts] = (), extra_sources: Sequence[ExtraSourceFacts] = ()) -> WheelFacts:
    return WheelFacts(
        name=name, version=version, wheel_filename=repaired.wheel.name, wheel_sha256=sha256_file(repaired.wheel),
        variant=variant.label, archs=tuple(variant.archs),
        source=source,
        patches=tuple(PatchFacts(file_name=p.path.name, sha256=p.sha256, path=_relative(p.path, project_root)) for p in patches),
        build_dependencies=wheel_components(build_wheels, variant.label),
        toolchain=toolchain, constraints=constraints,
        grafted=tuple(_grafted(g.soname, g.sha256, g.name, str(g.source)) for g in repaired.grafted),
        runtime_dependencies=tuple(runtime), license=license_from_wheel(repaired.wheel),
        former_names=tuple(former_names), source_date_epoch=source_date_epoch, gpu_payload=tuple(gpu_payload),
        crates=tuple(crates), extra_sources=tuple(extra_sources), supplier=supplier_from_wheel(repaired.wheel),
    )


def _grafted(soname: str, sha256: str, path_in_wheel: str, origin: str) -> GraftedFacts:
    """A grafted library with the package it came from (version, licence, purl) where the builder's package manager knows."""
    package = system_package(origin)
    if package is None:
        return GraftedFacts(soname=soname, sha256=sha256, path_in_wheel=path_in_wheel, origin=origin)
    return GraftedFacts(soname=soname, sha256=sha256, path_in_wheel=path_in_wheel, origin=origin, package=package.name,
                        package_version=package.version, purl=package.purl,
                        license=LicenseFacts(expression=package.license, origin=package.license_origin))


def _relative(path: Path, root: Path) -> str:
    try:
        return str(path.resolve().relative_to(root.resolve()))
    except ValueError:
        return path.name


# ----- JSON round trip (the build state keeps each wheel's facts) -------------------------------------------

_NESTED = {"source": SourceFacts, "license": LicenseFacts}
_SEQUENCES = {"patches": PatchFacts, "build_dependencies": ComponentFacts, "toolchain": ToolFacts,
              "constraints": FileFacts, "grafted": GraftedFacts, "runtime_dependencies": ComponentFacts, "crates": CrateFacts,
              "extra_sources": ExtraSourceFacts}


def facts_to_json(facts: WheelFacts) -> str:
    return json.dumps(dataclasses.asdict(facts), sort_keys=True)


def facts_from_json(text: str) -> WheelFacts:
    data: dict[str, Any] = json.loads(text)
    for key, kind in _NESTED.items():
        data[key] = kind(**data[key])
    for key, kind in _SEQUENCES.items():
        data[key] = tuple(_item(kind, item) for item in data.get(key, ()))
    data["archs"] = tuple(data["archs"])
    data["former_names"] = tuple(data["former_names"])
    data["gpu_payload"] = tuple(data.get("gpu_payload", ()))
    return WheelFacts(**data)


def _item(kind: type, item: dict[str, Any]) -> Any:
    if kind is GraftedFacts and item.get("license"):
        item = {**item, "license": LicenseFacts(**item["license"])}
    return kind(**item)
