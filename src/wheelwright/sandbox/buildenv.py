"""Isolated build environments: one fresh uv venv per build, filled only from our own index."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import IO, Protocol

from uv import find_uv_bin

from wheelwright.errors import BuildError

#: Host variables a build may see. Everything else (tokens, pip config, PYTHONPATH…) is dropped.
ALLOWED_HOST_ENV = ("PATH", "HOME", "LANG", "LC_ALL", "LC_CTYPE", "TERM", "TMPDIR", "USER", "LOGNAME", "SHELL", "RUSTUP_HOME", "TZ")

#: Forced on every build: no pip or uv config, no index, no user site, reproducible timestamps.
ISOLATION_ENV = {
    "PIP_CONFIG_FILE": "/dev/null",
    "PIP_NO_INDEX": "1",
    "PIP_DISABLE_PIP_VERSION_CHECK": "1",
    "UV_NO_CONFIG": "1",
    "UV_OFFLINE": "1",
    "PYTHONNOUSERSITE": "1",
}


def scrubbed_environment(overrides: Mapping[str, str]) -> dict[str, str]:
    """The allow-listed host environment, then isolation settings, then the variant's and recipe's."""
    env = {key: os.environ[key] for key in ALLOWED_HOST_ENV if key in os.environ}
    env.update(ISOLATION_ENV)
    env.update(overrides)
    return env


#: Variables whose values the log shows as ``***``: a name holding one of these looks like a secret.
SECRET_NAME_PARTS = ("TOKEN", "SECRET", "PASSWORD", "PASSWD", "KEY", "CREDENTIAL")


def compiler_path_maps(work_dir: Path, chosen: Mapping[str, str], python_prefix: Path | None = None) -> dict[str, str]:
    """Compilers see the work directory as /wheelwright/work, wherever the output directory is (a CI job's
    checkout, a developer's build/), and the target interpreter's prefix (its include directory) as
    /wheelwright/python, wherever pyenv or the image put it: debug info, __FILE__ and build ids then depend on
    neither. C and C++ (CFLAGS/CXXFLAGS), CUDA's host compiler (NVCC_APPEND_FLAGS, which also keeps nvcc's process id
    out of the binary), HIP (HIPCC_COMPILE_FLAGS_APPEND) and Rust. Added to the variant's or recipe's own flags,
    never replacing them."""
    maps = [(work_dir, "/wheelwright/work"), *([(python_prefix, "/wheelwright/python")] if python_prefix else [])]
    gcc = " ".join(f"-ffile-prefix-map={path}={to}" for path, to in maps)
    flags = {"CFLAGS": gcc, "CXXFLAGS": gcc, "HIPCC_COMPILE_FLAGS_APPEND": gcc,
             "RUSTFLAGS": " ".join(f"--remap-path-prefix={path}={to}" for path, to in maps),
             "NVCC_APPEND_FLAGS": " ".join(["-objtemp", *(f"-Xcompiler=-ffile-prefix-map={path}={to}" for path, to in maps)])}
    return {key: " ".join(v for v in (chosen.get(key, ""), flag) if v) for key, flag in flags.items()}


def log_environment(variables: Mapping[str, str], log: IO[str]) -> None:
    """The environment a build got (after the allow-list), sorted, secret-looking values masked."""
    log.write("# environment (after the allow-list):\n")
    for key in sorted(variables):
        value = "***" if any(part in key.upper() for part in SECRET_NAME_PARTS) else variables[key].replace("\n", "\\n")
        log.write(f"#   {key}={value}\n")
    log.write("# (backend hooks also get the build environment's bin directory first on PATH)\n")
    log.flush()


def run_logged(command: Sequence[str], *, cwd: Path, env: Mapping[str, str], log: IO[str], what: str) -> None:
    """Run ``command`` with its output appended to ``log``; BuildError naming ``what`` on failure."""
    log.write(f"$ {' '.join(map(str, command))}\n")
    log.flush()
    result = subprocess.run(list(map(str, command)), cwd=cwd, env=dict(env), stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
    log.flush()
    if result.returncode != 0:
        raise BuildError(f"{what} failed (exit {result.returncode})", getattr(log, "name", None))


class BuildEnvironment(Protocol):
    """What a build needs from its environment: an interpreter, and a way to add exact wheels."""

    @property
    def python(self) -> Path: ...

    @property
    def bin_dir(self) -> Path: ...

    @property
    def site_packages(self) -> Path: ...

    def install(self, wheels: Sequence[Path], log: IO[str]) -> None: ...


class UvEnvironment:
    """A venv made by uv (about 20x faster than venv+pip here); installs are exact wheel files, no resolving."""

    def __init__(self, path: Path, uv_cache: Path, env: Mapping[str, str]) -> None:
        self.path = path
        self._uv_cache = uv_cache
        self._env = env

    @classmethod
    def create(cls, path: Path, interpreter: Path, uv_cache: Path, env: Mapping[str, str], log: IO[str]) -> UvEnvironment:
        run_logged(
            [find_uv_bin(), "venv", "--quiet", "--no-config", "--python", str(interpreter), str(path)],
            cwd=path.parent, env=env, log=log, what="creating the build environment",
        )
        return cls(path, uv_cache, env)

    @property
    def python(self) -> Path:
        return self.path / "bin" / "python"

    @property
    def bin_dir(self) -> Path:
        return self.path / "bin"

    @property
    def site_packages(self) -> Path:
        found = sorted(self.path.glob("lib/python*/site-packages"))
        return found[0] if found else self.path / "lib" / "site-packages"

    def install(self, wheels: Sequence[Path], log: IO[str]) -> None:
        if not wheels:
            return
        run_logged(
            [find_uv_bin(), "pip", "install", "--quiet", "--no-config", "--offline", "--no-index", "--no-deps",
             "--cache-dir", str(self._uv_cache), "--python", str(self.python), *map(str, wheels)],
            cwd=self.path, env=self._env, log=log, what="installing build dependencies",
        )


class EnvironmentFactory(Protocol):
    """How the stages get a build environment; they never look behind it (uv today, a test fake, a container later)."""

    def create(self, path: Path, interpreter: Path, env: Mapping[str, str], log: IO[str]) -> BuildEnvironment: ...

    def open(self, path: Path, env: Mapping[str, str]) -> BuildEnvironment: ...


class UvEnvironments:
    """Build environments made by uv, sharing one uv cache."""

    def __init__(self, uv_cache: Path) -> None:
        self.uv_cache = uv_cache

    def create(self, path: Path, interpreter: Path, env: Mapping[str, str], log: IO[str]) -> BuildEnvironment:
        return UvEnvironment.create(path, interpreter, self.uv_cache, env, log)

    def open(self, path: Path, env: Mapping[str, str]) -> BuildEnvironment:
        return UvEnvironment(path, self.uv_cache, env)


def build_env_paths(paths: Mapping[str, Sequence[str]], site_packages: Path, current: Mapping[str, str]) -> dict[str, str]:
    """Directories that wheels of the build environment bring (``nvidia/*/include`` of torch's CUDA wheels), put
    first on the variable's search path (CPATH, LIBRARY_PATH); what the variant or recipe set stays after them."""
    found: dict[str, str] = {}
    for variable, patterns in paths.items():
        directories = [str(d) for pattern in patterns for d in sorted(site_packages.glob(pattern)) if d.is_dir()]
        if directories:
            found[variable] = os.pathsep.join([*directories, *([current[variable]] if current.get(variable) else [])])
    return found
