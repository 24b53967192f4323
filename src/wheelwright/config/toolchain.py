"""Check the tools and libraries a variant needs, before any build starts: a missing compiler must
stop a run in its first second, not two hours into torch."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from packaging.specifiers import InvalidSpecifier, SpecifierSet
from packaging.version import InvalidVersion, Version

from wheelwright.errors import ToolMissing
from wheelwright.config.variants import ToolCheck, Variant


class ToolchainError(ToolMissing):
    """The variant's toolchain is missing or the wrong version."""


@dataclass(frozen=True)
class ToolStatus:
    name: str
    found: str | None  # path of the tool or library, None when absent
    version: str | None
    required: str
    ok: bool

    def describe(self) -> str:
        if self.found is None:
            return f"{self.name} not found" + (f" (need {self.required})" if self.required else "")
        if not self.ok:
            return f"{self.name} {self.version or '(version unreadable)'} found at {self.found}, need {self.required}"
        return f"{self.name} {self.version or ''} at {self.found}".replace("  ", " ")


def check_toolchain(variant: Variant) -> list[ToolStatus]:
    return [_check(tool, variant) for tool in variant.toolchain]


def require_toolchain(variant: Variant, statuses: Sequence[ToolStatus] | None = None) -> None:
    """One message naming the variant, the first missing piece, and the builder image to use (``statuses``: a check
    already run)."""
    failed = [status for status in (check_toolchain(variant) if statuses is None else statuses) if not status.ok]
    if failed:
        image = f"; build inside {variant.builder_image}" if variant.builder_image else ""
        raise ToolchainError(f"variant {variant.label}: {'; '.join(s.describe() for s in failed)}{image}")


def _check(tool: ToolCheck, variant: Variant) -> ToolStatus:
    required = tool.requires.replace("{version}", variant.version or "")
    found = _find_tool(tool.name) if tool.kind == "tool" else _find_library(tool.name, tool.search_paths)
    if found is None:
        return ToolStatus(tool.name, None, None, required, False)
    version = _read_version(tool, found)
    return ToolStatus(tool.name, found, version, required, _meets(version, required))


def _find_tool(name: str) -> str | None:
    return shutil.which(name)


def _find_library(name: str, search_paths: tuple[str, ...]) -> str | None:
    for directory in search_paths:
        expanded = os.path.expandvars(directory)
        if "$" in expanded:
            continue
        matches = sorted(Path(expanded).glob(f"{name}*"))
        if matches:
            return str(matches[-1].resolve())
    try:
        cache = subprocess.run(["ldconfig", "-p"], capture_output=True, text=True, timeout=10).stdout
    except (OSError, subprocess.SubprocessError):
        return None
    for line in cache.splitlines():
        if line.strip().startswith(name) and "=>" in line:
            return str(Path(line.split("=>", 1)[1].strip()).resolve())
    return None


def _read_version(tool: ToolCheck, found: str) -> str | None:
    if tool.kind == "library" and not tool.version_command:
        text = Path(found).name  # libamdhip64.so.7.1.25424 -> the version is in the resolved name
    elif tool.version_command:
        try:
            result = subprocess.run(list(tool.version_command), capture_output=True, text=True, timeout=30)
            text = result.stdout + result.stderr
        except (OSError, subprocess.SubprocessError):
            return None
    else:
        return None
    match = re.search(tool.version_pattern, text) if tool.version_pattern else None
    return match.group(1) if match else None


def _meets(version: str | None, required: str) -> bool:
    if not required:
        return True
    if version is None:
        return False
    try:
        return SpecifierSet(required).contains(Version(version), prereleases=True)
    except (InvalidSpecifier, InvalidVersion):
        return False


def toolchain_env(variant: Variant) -> dict[str, str]:
    """The variables the variant's tools report about themselves (CUDA_HOME = the root nvcc says it runs from),
    for every build of the variant. torch's extensions otherwise guess the root from where `nvcc` sits, and a
    wrapper in /usr/local/bin makes that /usr/local: the link then fails with `cannot find -lcudart`."""
    found: dict[str, str] = {}
    for tool in variant.toolchain:
        if tool.root_env:
            found[tool.root_env] = _read_root(tool)
    return found


def _read_root(tool: ToolCheck) -> str:
    command = " ".join(tool.root_command)
    try:
        result = subprocess.run(list(tool.root_command), capture_output=True, text=True, timeout=60)
    except (OSError, subprocess.SubprocessError) as exc:
        raise ToolchainError(f"{tool.name}: `{command}` could not run ({exc}), so {tool.root_env} is unknown") from None
    match = re.search(tool.root_pattern, result.stdout + result.stderr, re.MULTILINE)
    root = Path(match.group(1)).resolve() if match else None
    if root is None or not root.is_dir():
        where = f"{match.group(1)!r} is not a directory" if match else f"its output has no match for {tool.root_pattern!r}"
        raise ToolchainError(f"{tool.name}: {tool.root_env} not readable from `{command}`: {where}")
    return str(root)
