"""Talk to a package's PEP 517 backend through pyproject-hooks, inside its build environment."""

from __future__ import annotations

import email.parser
import subprocess
import threading
import warnings
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import IO, Any, TextIO, TypeVar

from pyproject_hooks import BackendUnavailable, BuildBackendHookCaller, HookMissing

from wheelwright.errors import BuildError
from wheelwright.plan.buildsystem import BuildSystem
from wheelwright.sandbox.isolation import Isolation, NetworkPolicy, egress_report

_T = TypeVar("_T")
_current_log = threading.local()
_default_showwarning = warnings.showwarning


def _showwarning(message: Warning | str, category: type[Warning], filename: str, lineno: int, file: TextIO | None = None, line: str | None = None) -> None:
    """pyproject-hooks re-raises the backend's warnings in our process: send them to that package's log."""
    log = getattr(_current_log, "log", None)
    if log is None:
        return _default_showwarning(message, category, filename, lineno, file, line)
    log.write(warnings.formatwarning(message, category, filename, lineno, line))


warnings.showwarning = _showwarning


class Backend:
    """One backend in one environment; every hook's output goes to the package's log."""

    def __init__(self, source_dir: Path, build_system: BuildSystem, python: Path, env: Mapping[str, str], log: IO[str], label: str,
                 network: Isolation | None = None) -> None:
        self._network: Isolation = network or NetworkPolicy(False, "not isolated")
        self._label = label
        self._log = log
        self._env = dict(env)
        self._caller = BuildBackendHookCaller(
            str(source_dir), build_system.backend, list(build_system.backend_path) if build_system.backend_path else None,
            runner=self._run, python_executable=str(python),
        )

    def _run(self, cmd: Sequence[str], cwd: str | None = None, extra_environ: Mapping[str, str] | None = None) -> None:
        self._log.write(f"$ {' '.join(cmd)}\n")
        self._log.flush()
        env = {**self._env, **(extra_environ or {})}
        result = subprocess.run(self._network.wrap(cmd), cwd=cwd, env=env, stdout=self._log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        self._log.flush()
        if result.returncode != 0:
            raise subprocess.CalledProcessError(result.returncode, cmd)

    def _egress(self) -> str:
        """The egress report: what the build tried to reach, when it failed for want of a network."""
        self._log.flush()
        try:
            lines = Path(self._log.name).read_text(errors="replace").splitlines()
        except (AttributeError, OSError):
            return ""
        return egress_report("\n".join(line for line in lines if not line.startswith(("# ", "$ "))))  # the build's output, not our notes

    def requires_for_wheel(self, config_settings: Mapping[str, Any] | None) -> list[str]:
        return list(self._call("get_requires_for_build_wheel", lambda: self._caller.get_requires_for_build_wheel(config_settings)))

    def prepare_metadata(self, out_dir: Path, config_settings: Mapping[str, Any] | None) -> list[str] | None:
        """Requires-Dist from prepare_metadata_for_build_wheel; None when the backend lacks the hook."""
        out_dir.mkdir(parents=True, exist_ok=True)
        try:
            name = self._caller.prepare_metadata_for_build_wheel(str(out_dir), config_settings, _allow_fallback=False)
        except HookMissing:
            return None
        except subprocess.CalledProcessError as exc:
            raise BuildError(f"{self._label}: prepare_metadata_for_build_wheel failed (exit {exc.returncode})", getattr(self._log, "name", None)) from None
        metadata = out_dir / name / "METADATA"
        message = email.parser.BytesParser().parsebytes(metadata.read_bytes(), headersonly=True)
        return [str(v) for v in message.get_all("Requires-Dist") or []]

    def build_wheel(self, out_dir: Path, config_settings: Mapping[str, Any] | None) -> Path:
        out_dir.mkdir(parents=True, exist_ok=True)
        name = self._call("build_wheel", lambda: self._caller.build_wheel(str(out_dir), config_settings))
        wheel = out_dir / name
        if not name or not wheel.is_file():
            raise BuildError(f"{self._label}: backend returned no wheel (got {name!r})", getattr(self._log, "name", None))
        return wheel

    def _call(self, hook: str, function: Callable[[], _T]) -> _T:
        _current_log.log = self._log
        try:
            return function()
        except subprocess.CalledProcessError as exc:
            raise BuildError(f"{self._label}: {hook} failed (exit {exc.returncode}){self._egress()}", getattr(self._log, "name", None)) from None
        except BackendUnavailable as exc:
            reason = str(exc).partition("\n")[0]  # its message; pyproject-hooks (>=1.1) has no .message and appends the hook's traceback
            raise BuildError(f"{self._label}: build backend unavailable: {reason}", getattr(self._log, "name", None)) from None
        except HookMissing as exc:
            raise BuildError(f"{self._label}: backend has no {exc.hook_name} hook", getattr(self._log, "name", None)) from None
        finally:
            _current_log.log = None
