"""Target interpreters: find ``python X.Y`` on this machine and read its marker environment."""

from __future__ import annotations

import contextlib
import functools
import hashlib
import json
import os
import shutil
import subprocess
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from wheelwright.errors import ConfigError
from wheelwright.fsutil import atomic_write_text

# Computes PEP 508 marker values inside the target interpreter, which need not have `packaging`.
_MARKER_SCRIPT = r"""
import json, os, platform, sys
impl = sys.implementation
iver = "{0.major}.{0.minor}.{0.micro}".format(impl.version)
if impl.version.releaselevel != "final":
    iver += impl.version.releaselevel[0] + str(impl.version.serial)
print(json.dumps({
    "implementation_name": impl.name,
    "implementation_version": iver,
    "os_name": os.name,
    "platform_machine": platform.machine(),
    "platform_release": platform.release(),
    "platform_system": platform.system(),
    "platform_version": platform.version(),
    "python_full_version": platform.python_version(),
    "platform_python_implementation": platform.python_implementation(),
    "python_version": ".".join(platform.python_version_tuple()[:2]),
    "sys_platform": sys.platform,
}))
"""


_PROBE_CACHE = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "wheelwright-interpreters"


@dataclass(frozen=True)
class Interpreter:
    """A Python that wheels are built for."""

    path: Path
    version: str  # "3.11"
    full_version: str  # "3.11.7"
    markers: Mapping[str, str]


def find_interpreter(version: str) -> Interpreter:
    """Find a working ``python{version}``; ConfigError listing where we looked when there is none."""
    looked: list[str] = []
    for candidate in _candidates(version):
        looked.append(str(candidate))
        markers = _probe(str(candidate))
        if markers is not None and markers["python_version"] == version:
            return Interpreter(Path(candidate), version, markers["python_full_version"], markers)
    raise ConfigError(f"--python {version}: no working python{version} found (looked at {', '.join(looked) or 'PATH'})")


def _candidates(version: str) -> list[str]:
    found: list[str] = []
    if f"{sys.version_info.major}.{sys.version_info.minor}" == version:
        found.append(sys.executable)
    pyenv_root = Path(os.environ.get("PYENV_ROOT", Path.home() / ".pyenv"))
    found += [str(p / "bin" / f"python{version}") for p in sorted((pyenv_root / "versions").glob(f"{version}.*"), reverse=True)]
    on_path = shutil.which(f"python{version}")
    if on_path:
        found.append(on_path)
    found.append(f"/usr/bin/python{version}")
    return [c for c in dict.fromkeys(found) if Path(c).exists()]


@functools.cache
def _probe(executable: str) -> dict[str, str] | None:
    """Marker values of ``executable``, cached on disk by the interpreter's path, size and mtime."""
    try:
        stat = Path(executable).resolve().stat()
    except OSError:
        return None
    cache = _PROBE_CACHE / hashlib.sha256(f"{executable}|{stat.st_size}|{stat.st_mtime_ns}|{_MARKER_SCRIPT}".encode()).hexdigest()
    try:
        cached: dict[str, str] = json.loads(cache.read_text())
        return cached
    except (OSError, ValueError):
        pass
    try:
        out = subprocess.run([executable, "-c", _MARKER_SCRIPT], capture_output=True, text=True, timeout=30, check=True)
        markers: dict[str, str] = json.loads(out.stdout)
    except (OSError, subprocess.SubprocessError, json.JSONDecodeError):
        return None
    with contextlib.suppress(OSError):
        atomic_write_text(cache, json.dumps(markers))
    return markers


def available_versions(versions: tuple[str, ...] = ("3.11", "3.12", "3.13")) -> list[str]:
    """Which of the supported target versions exist here (tests and sessions use this to skip cleanly)."""
    result = []
    for version in versions:
        try:
            find_interpreter(version)
        except ConfigError:
            continue
        result.append(version)
    return result
