"""Locks: a variant's top-level requirements turned into a fully pinned, hashed constraints file.

This is the engine part of ``nox -s lock-<variant>``. It runs pip-tools' ``pip-compile`` (the
``piptools`` package, installed in the engine's own environment) and writes its answer, under a
header that records how and from what it was made, atomically into place: a reader, or a failing
run, never sees half a lock, and a failed compile leaves the previous lock as it was.

pip-compile resolves for the interpreter it runs in: it has no ``--python-version`` (``--pip-args
--python-version`` is ignored by pip's resolver outside ``pip download --only-binary``), so the
markers in a lock (``python_version``, ``sys_platform``...) are evaluated for that interpreter. We
run it in the target ``python`` when that interpreter has pip-tools itself, else in the engine's
interpreter, and then only when the target is the same implementation and ``X.Y`` version; any
other target is refused rather than locked for the wrong Python.

Isolation: this machine's global pip config (extra indexes, ``find-links /opt/wheels``, a
constraint capping torch) and the ``PIP_*`` variables must not leak into a lock. pip-compile runs
with every ``PIP_*`` variable removed, ``PIP_CONFIG_FILE=/dev/null`` (pip then reads no config file
at all), ``--no-config`` (no ``.pip-tools.toml``/``pyproject.toml`` section) and one explicit
``--index-url``.
"""

from __future__ import annotations

import datetime as _dt
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from packaging.requirements import InvalidRequirement, Requirement
from packaging.utils import NormalizedName, canonicalize_name

from wheelwright.errors import ConfigError, WheelwrightError
from wheelwright.fsutil import atomic_write_text, sha256_file

DEFAULT_INDEX_URL = "https://pypi.org/simple"

#: The name the requirements go by in the lock: pip-compile's ``# via -r requirements.in`` lines.
REQUIREMENTS_LABEL = "requirements.in"

# Runs inside the interpreter that is asked to lock: what it is, and which pip-tools it has.
_PROBE_SCRIPT = r"""
import json, platform, sys
try:
    from importlib.metadata import version, PackageNotFoundError
except ImportError:
    version = None
def v(name):
    try:
        return version(name) if version else None
    except Exception:
        return None
print(json.dumps({
    "implementation": sys.implementation.name,
    "version": list(sys.version_info[:3]),
    "full_version": platform.python_version(),
    "machine": platform.machine(),
    "platform": sys.platform,
    "pip_tools": v("pip-tools"),
    "pip": v("pip"),
}))
"""

_INCLUDE_RE = re.compile(r"^\s*(?:-c|--constraint|-r|--requirement)(?:\s*=\s*|\s+)(\S+)")
_PIN_RE = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)(?:\[[^\]]*\])?==([^\s;\\]+)")


class LockError(WheelwrightError):
    """pip-compile could not lock; the message is one line, ``log`` is pip-compile's whole stderr."""

    def __init__(self, message: str, log: str = "") -> None:
        super().__init__(message)
        self.log = log


@dataclass(frozen=True)
class LockResult:
    output: Path
    pins: Mapping[NormalizedName, str]  # canonical name -> pinned version
    seconds: float


@dataclass(frozen=True)
class LockTool:
    """The interpreter pip-compile runs in, and what it resolves for."""

    runner: Path  # the interpreter that runs ``-m piptools compile``
    implementation: str
    full_version: str
    machine: str
    platform: str
    pip_tools_version: str
    pip_version: str

    def describe(self) -> str:
        impl = {"cpython": "CPython", "pypy": "PyPy"}.get(self.implementation, self.implementation)
        return f"{impl} {self.full_version} on {self.platform} {self.machine}"


def isolated_environment(base: Mapping[str, str] | None = None) -> dict[str, str]:
    """``base`` (default: ours) without any ``PIP_*`` variable, and with every pip config file off."""
    env = {k: v for k, v in (os.environ if base is None else base).items() if not k.startswith("PIP_")}
    env["PIP_CONFIG_FILE"] = os.devnull
    env["PIP_DISABLE_PIP_VERSION_CHECK"] = "1"  # not config: keeps pip from calling home
    env["PYTHONNOUSERSITE"] = "1"
    env.pop("PYTHONPATH", None)
    return env


def _probe(python: Path) -> dict[str, Any]:
    try:
        done = subprocess.run([str(python), "-I", "-c", _PROBE_SCRIPT], capture_output=True, text=True,
                              timeout=60, env=isolated_environment(), stdin=subprocess.DEVNULL)
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise ConfigError(f"{python}: cannot run this interpreter to lock for it ({exc})") from None
    if done.returncode != 0:
        raise ConfigError(f"{python}: cannot run this interpreter to lock for it (exit {done.returncode})")
    facts: dict[str, Any] = json.loads(done.stdout)
    return facts


def find_lock_tool(python: Path) -> LockTool:
    """Pick who runs pip-compile for ``python``: itself if it has pip-tools, else the engine if it matches."""
    target = _probe(python)
    runner = python
    tool = target
    if not target["pip_tools"]:
        engine = _probe(Path(sys.executable))
        if not engine["pip_tools"]:
            raise ConfigError("pip-tools is not installed in the engine's environment: "
                              "run `python -m pip install -e .` (it is a dependency of wheelwright)")
        same = (engine["implementation"] == target["implementation"]
                and engine["version"][:2] == target["version"][:2] and engine["platform"] == target["platform"]
                and engine["machine"] == target["machine"])
        if not same:
            want = f"{target['implementation']} {'.'.join(map(str, target['version'][:2]))}"
            have = f"{engine['implementation']} {'.'.join(map(str, engine['version'][:2]))}"
            raise ConfigError(
                f"{python}: cannot lock for {want} from the engine's {have}: pip-compile resolves only for "
                f"the interpreter it runs in; install pip-tools into {python} or run the engine on {want}")
        runner = Path(sys.executable)
        tool = {**engine, "full_version": target["full_version"]}
    return LockTool(runner, tool["implementation"], tool["full_version"], tool["machine"], tool["platform"],
                    tool["pip_tools"], tool["pip"] or "?")


def input_files(constraint_files: Sequence[Path]) -> list[tuple[Path, Path | None]]:
    """Each constraint file and every file it includes (``-c``/``-r``), once, with who included it."""
    seen: list[tuple[Path, Path | None]] = []

    def walk(path: Path, parent: Path | None) -> None:
        if any(path == p for p, _ in seen):
            return
        seen.append((path, parent))
        try:
            text = path.read_text()
        except OSError:
            return  # pip-compile names the missing include itself
        for line in text.splitlines():
            match = _INCLUDE_RE.match(line.split(" #", 1)[0])
            if match and "://" not in match.group(1):
                walk((path.parent / match.group(1)).resolve(), path)

    for path in constraint_files:
        walk(Path(path).resolve(), None)
    return seen


def display_path(path: Path, base: Path) -> str:
    """``path`` as the lock shows it: relative to the lock's folder when near, else absolute."""
    rel = os.path.relpath(path, base)
    return rel if rel.split(os.sep)[:3].count("..") < 3 else str(path)


def render_header(command: str, requirements: Sequence[str], inputs: Sequence[tuple[Path, Path | None]], *,
                  base: Path, tool: LockTool, index_url: str, today: _dt.date | None = None) -> str:
    """The comment block a lock starts with: how to regenerate it, with what, when, and from exactly what."""
    if "\n" in command:
        raise ValueError("the lock's command must be one line")
    today = today or _dt.datetime.now(_dt.UTC).date()
    lines = [
        f"# Generated by `{command}` with pip-compile (pip-tools {tool.pip_tools_version}, pip {tool.pip_version})"
        f" on {today.isoformat()}.",
        f"# Do not edit: change the inputs below and run `{command}` again.",
        "#",
        "# A pip constraints file usable by Wheelwright builds: include it from a variant's constraints",
        "# file with `-c <this file>`. Every pin carries the sha256 of each file the index serves for it.",
        f"# Resolved for {tool.describe()} from {index_url}",
        "# (this machine's pip config and PIP_* variables ignored).",
        "#",
        f"# Requirements ({REQUIREMENTS_LABEL}):",
    ]
    lines += [f"#   {req}" for req in requirements] or ["#   (none)"]
    lines.append("# Constraint files (sha256):" if inputs else "# Constraint files: none")
    for path, parent in inputs:
        digest = sha256_file(path) if path.is_file() else "missing"
        via = f"  (included by {display_path(parent, base)})" if parent else ""
        lines.append(f"#   {display_path(path, base)} {digest}{via}")
    return "\n".join(lines) + "\n#\n"


def parse_pins(text: str) -> dict[NormalizedName, str]:
    """``name==version`` pins of a pip-compile output (continuation lines, hashes and comments skipped)."""
    pins: dict[NormalizedName, str] = {}
    for line in text.splitlines():
        match = _PIN_RE.match(line)
        if match:
            pins[canonicalize_name(match.group(1))] = match.group(2)
    return pins


def explain_failure(stderr: str, requirements: Sequence[str], index_url: str) -> str:
    """One line naming the requirement pip-compile complains about, from its stderr."""
    lines = stderr.splitlines()

    def line_ref(text: str) -> str:
        # "-r /tmp/x/requirements.in (line 2)" -> the requirement on that line of our .in file
        def sub(match: re.Match[str]) -> str:
            number = int(match.group(1))
            return requirements[number - 1] if 0 < number <= len(requirements) else match.group(0)
        return re.sub(r"-r \S*requirements\.in \(line (\d+)\)", sub, text)

    def first(pattern: str) -> re.Match[str] | None:
        """The first line of pip-compile's stderr that matches: the patterns are tried in order of precedence."""
        return next((match for line in lines if (match := re.search(pattern, line))), None)

    if match := first(r"Could not find a version that satisfies the requirement (\S+)"):
        return f"lock failed: no version of {line_ref(match.group(1))} on {index_url} fits the requirements and constraints"
    if match := first(r"No matching distribution found for (\S+)"):
        return f"lock failed: no version of {match.group(1)} on {index_url} fits the requirements and constraints"
    if match := first(r"Cannot install (.+?) because these package versions have conflicting dependencies"):
        causes = sorted(set(re.findall(r"SpecifierRequirement\('([^']+)'\)", stderr)))
        because = f": they need {', '.join(causes)}, which the constraints or other requirements exclude" if causes else ""
        return f"lock failed: {line_ref(match.group(1))} cannot be installed together{because}"
    if match := first(r"Invalid requirement: (.+)"):
        return f"lock failed: invalid requirement {line_ref(match.group(1).strip())}"
    if match := first(r"Could not open requirements file: .*?: '([^']+)'"):
        return f"lock failed: constraints file {match.group(1)} not found"
    if re.search(r"(Max retries exceeded|Failed to establish a new connection|Could not fetch URL|"
                 r"NewConnectionError|Temporary failure in name resolution)", stderr):
        return f"lock failed: cannot reach the index {index_url}"
    errors = [m.group(1).strip() for m in (re.search(r"^\s*(?:ERROR|Error):\s*(.+)$", ln) for ln in lines) if m]
    if not errors:  # a traceback: its last line is "module.Exception: message"
        errors = [ln.strip() for ln in lines if re.match(r"^[\w.]+(Error|Exception|Impossible|NotFound)\b.*:", ln)]
    last = errors[-1] if errors else (next((ln.strip() for ln in reversed(lines) if ln.strip()), "no output"))
    return f"lock failed: pip-compile: {line_ref(last)[:300]}"


def _rewrite_annotations(body: str, replacements: Mapping[str, str]) -> str:
    """Machine paths in pip-compile's ``# via`` comments replaced by the lock's own names for them."""
    ordered = sorted(replacements.items(), key=lambda item: -len(item[0]))  # longest first: no partial hits
    out = []
    for line in body.splitlines(keepends=True):
        if line.lstrip().startswith("#"):
            for old, new in ordered:
                line = line.replace(f"-r {old}", f"-r {new}").replace(f"-c {old}", f"-c {new}")
        out.append(line)
    return "".join(out)


def compile_lock(requirements: Sequence[str], *, constraint_files: Sequence[Path], output: Path,
                 python: Path = Path(sys.executable), index_url: str = DEFAULT_INDEX_URL, header: str,
                 upgrade: bool = True, today: _dt.date | None = None) -> LockResult:
    """Pin ``requirements`` (under ``constraint_files``) with hashes into ``output``, atomically.

    ``header`` is the command that regenerates the lock (e.g. ``nox -s lock-cpu``); the header
    names it, the pip-tools version, the date and every input with its sha256. ``upgrade=False``
    seeds pip-compile with the pins already in ``output``, so it keeps them where they still fit
    (pip-compile's own default); the default re-resolves everything to the newest that fits.
    Raises ConfigError for bad inputs, LockError (one line; ``.log`` has pip-compile's stderr) when
    pip-compile fails; either way ``output`` is left as it was.
    """
    started = time.monotonic()
    output = Path(output).resolve()
    for req in requirements:
        try:
            Requirement(req)
        except InvalidRequirement as exc:
            raise ConfigError(f"lock: invalid requirement {req!r}: {exc}") from None
    if not requirements:
        raise ConfigError("lock: no requirements to lock")
    constraint_files = [Path(p).resolve() for p in constraint_files]
    for path in constraint_files:
        if not path.is_file():
            raise ConfigError(f"{path}: constraints file not found")
        if path == output:
            raise ConfigError(f"{path}: the lock cannot be an input of itself (it would freeze every pin)")
    inputs = input_files(constraint_files)
    for path, parent in inputs:
        if path == output and parent is not None:
            raise ConfigError(f"{parent}: includes the lock {path.name} being made, so the old pins would freeze the "
                              f"new lock; lock from the files it includes besides the lock instead")
    tool = find_lock_tool(Path(python))
    base = output.parent
    base.mkdir(parents=True, exist_ok=True)

    with tempfile.TemporaryDirectory(prefix="wheelwright-lock-") as tmp:
        in_file = Path(tmp) / REQUIREMENTS_LABEL
        in_file.write_text("".join(f"{req}\n" for req in requirements)
                           + "".join(f"-c {path}\n" for path in constraint_files))
        tmp_out = Path(tmp) / "lock.txt"
        if not upgrade and output.is_file():
            shutil.copyfile(output, tmp_out)
        command = [
            str(tool.runner), "-m", "piptools", "compile",
            "--generate-hashes", "--allow-unsafe", "--strip-extras",
            "--no-emit-index-url", "--no-emit-trusted-host", "--no-emit-find-links", "--no-header",
            "--no-config", "--resolver=backtracking", "--index-url", index_url,
            *(["--upgrade"] if upgrade else []),
            "--output-file", str(tmp_out), str(in_file),
        ]
        done = subprocess.run(command, cwd=base, env=isolated_environment(), capture_output=True, text=True,
                              stdin=subprocess.DEVNULL)
        if done.returncode != 0 or not tmp_out.is_file():
            raise LockError(explain_failure(done.stderr, requirements, index_url), done.stderr)
        body = tmp_out.read_text()

    # pip shows an input relative to the working folder (the lock's) when it lies below it, else absolute
    replacements = {str(in_file): REQUIREMENTS_LABEL, os.path.relpath(in_file, base): REQUIREMENTS_LABEL}
    for path, _ in inputs:
        replacements[str(path)] = display_path(path, base)
    body = _rewrite_annotations(body, replacements)
    text = render_header(header, requirements, inputs, base=base, tool=tool, index_url=index_url, today=today) + body
    atomic_write_text(output, text)
    return LockResult(output, parse_pins(body), time.monotonic() - started)
