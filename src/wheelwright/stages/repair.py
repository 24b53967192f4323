"""The repair step: every platform wheel goes through ``auditwheel repair`` before it is published.

Semantics, in one place:

* Pure wheels (every tag ``…-any``) and wheels with no ELF file in them pass through untouched: the
  result names the very file that was built.
* The target is the best ``manylinux_X_Y_<arch>`` this machine's glibc allows (auditwheel's own policy
  table, highest X_Y not above the running glibc). auditwheel adds any better (older) tag the wheel also
  qualifies for, so the published name may carry several platform tags.
* ``never_graft`` (a variant's policy, fnmatch patterns over sonames) is passed to auditwheel as
  ``--exclude``: such a library is left as an external dependency (its own dependencies are not walked
  either). Whether something provides it at runtime, another wheel or the machine, is the user's business.
  After the repair the wheel's ``<name>.libs/`` is inspected anyway; a grafted library matching a pattern
  fails the build (``check_never_grafted``), so a wheel never silently ships one.
* ``forbid`` (fnmatch patterns) is stricter: such a library must be neither grafted nor needed, directly
  or through a grafted library. One that the wheel ships itself is not an outside need and is allowed.
* The wheel's own libraries (any ELF file inside it, e.g. llama-cpp-python's ``libllama.so``) are never
  grafted again: their sonames and file names are excluded too, so auditwheel neither copies a second
  copy in (when an RPATH still points at the build tree) nor fails to locate them (when none does).
  Each of them is still audited as an ELF file of the wheel in its own right.
* auditwheel runs as a subprocess of this interpreter (it changes the working directory, which threads
  must not share). Its complete output goes to ``log``; a failure becomes a one-line ``BuildError``.
  The input wheel is only read; everything is written under ``out_dir``.

This module runs auditwheel and reads what it did. The patterns and the target tag are repairpolicy.py; the
ELF facts read from the wheel (sonames, needs, RPATHs) are elfdeps.py. Names callers import from here are
re-exported.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import os
import re
import shutil
import subprocess
import sys
import sysconfig
import tempfile
import time
import zipfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import IO, TYPE_CHECKING, Protocol

from packaging.utils import InvalidWheelFilename, parse_wheel_filename

from wheelwright.errors import BuildError
from wheelwright.stages.elfdeps import _elf_files, _source_soname, _unreachable_own_libraries
from wheelwright.stages.repairpolicy import GraftedLibrary, _literal, best_manylinux_tag, check_never_grafted, matching_pattern

if TYPE_CHECKING:
    from wheelwright.config.variants import Variant


@dataclass(frozen=True)
class RepairResult:
    """What to publish, and what the repair did to it."""

    wheel: Path  # the wheel to publish: the input itself when nothing needed repair
    platform_tag: str | None  # the file name's platform part, e.g. manylinux_2_17_x86_64.manylinux2014_x86_64
    grafted: tuple[GraftedLibrary, ...] = ()
    external: tuple[str, ...] = ()  # sonames left outside on purpose (never_graft/forbid), sorted

    @property
    def platform_tags(self) -> tuple[str, ...]:
        """The platform tags one by one (a repaired name can carry several)."""
        return tuple(self.platform_tag.split(".")) if self.platform_tag else ()


class Repairer(Protocol):
    def repair(self, wheel: Path, out_dir: Path, log: IO[str] | None = None) -> RepairResult:
        """Return what to publish: ``result.wheel`` is the input itself when nothing needs repair."""
        ...


class PassThrough:
    """Publishes the wheel as built."""

    def repair(self, wheel: Path, out_dir: Path, log: IO[str] | None = None) -> RepairResult:
        return RepairResult(wheel, None, ())


# ---------------------------------------------------------------------------------------------------
# The repairer


_GRAFTING = re.compile(r"Grafting: (?P<source>.+?) -> (?P<dest>.+?)\s*$")
_EXCLUDING = re.compile(r"auditwheel\.lddtree:Excluding (?P<name>\S+)\s*$")


class AuditwheelRepairer:
    """Repairs platform wheels with ``auditwheel repair`` under one variant's never-graft policy."""

    def __init__(self, never_graft: Sequence[str] = (), *, forbid: Sequence[str] = (), policy: str = "variant's",
                 plat: str | None = None, library_path: Sequence[Path | str] = (), python: Path | str | None = None,
                 timeout: float | None = None, source_date_epoch: int | None = None) -> None:
        """``never_graft``/``forbid``: fnmatch patterns over sonames (see the module docstring).
        ``policy``: names the policy in messages (the variant's label). ``plat``: the auditwheel target,
        default the best manylinux tag this machine's glibc allows. ``library_path``: more folders to find
        libraries to graft in (AUDITWHEEL_LD_LIBRARY_PATH). ``python``: the interpreter that runs
        auditwheel, default this one. ``source_date_epoch``: the time stamp of every member of a repaired
        wheel (default $SOURCE_DATE_EPOCH, else 1980-01-01), so the same input repairs to the same bytes."""
        self.never_graft = tuple(never_graft)
        self.forbid = tuple(forbid)
        self.policy = policy
        self._plat = plat
        self.library_path = tuple(str(p) for p in library_path)
        self.python = str(python or sys.executable)
        self.timeout = timeout
        self.source_date_epoch = source_date_epoch if source_date_epoch is not None else \
            int(os.environ.get("SOURCE_DATE_EPOCH") or 315532800)

    @functools.cached_property
    def plat(self) -> str:
        """Asked of auditwheel on the first platform wheel only: a warm run repairs nothing."""
        return self._plat or best_manylinux_tag() or "auto"

    @classmethod
    def for_variant(cls, variant: Variant, **kwargs: object) -> AuditwheelRepairer:
        """The repairer for one selected variant: its never-graft and forbid lists, named by its label."""
        return cls(variant.never_graft, forbid=variant.forbid, policy=variant.label, **kwargs)  # type: ignore[arg-type]

    # -- the protocol --------------------------------------------------------------------------------

    def repair(self, wheel: Path, out_dir: Path, log: IO[str] | None = None) -> RepairResult:
        wheel = Path(wheel)
        started = time.monotonic()
        try:
            _, _, _, tags = parse_wheel_filename(wheel.name)
        except InvalidWheelFilename as exc:
            raise BuildError(f"{wheel.name}: not a wheel file name: {exc}") from None
        if all(tag.platform == "any" for tag in tags):
            _write(log, f"# repair: {wheel.name} is pure Python; published as built\n")
            return RepairResult(wheel, None, ())
        out_dir = Path(out_dir)
        out_dir.mkdir(parents=True, exist_ok=True)
        scratch = Path(tempfile.mkdtemp(dir=out_dir.absolute(), prefix=".repair-"))  # auditwheel runs in it
        try:
            return self._repair(wheel, out_dir, scratch, log, started)
        finally:
            shutil.rmtree(scratch, ignore_errors=True)

    # -- the work ------------------------------------------------------------------------------------

    def _repair(self, wheel: Path, out_dir: Path, scratch: Path, log: IO[str] | None, started: float) -> RepairResult:
        try:
            with zipfile.ZipFile(wheel) as zf:
                input_members = frozenset(zf.namelist())
            elves = _elf_files(wheel, scratch)
        except (OSError, zipfile.BadZipFile) as exc:
            raise BuildError(f"{wheel.name}: cannot read the wheel: {exc}", _log_path(log)) from None
        if not elves:
            _write(log, f"# repair: {wheel.name} holds no ELF file; nothing to repair, published as built\n")
            return RepairResult(wheel, None, ())

        own = {PurePosixPath(e.member).name for e in elves} | {e.soname for e in elves if e.soname}
        for elf in elves:
            for soname in elf.needed:
                if soname not in own and matching_pattern(soname, self.forbid):
                    raise BuildError(f"{wheel.name}: needs {soname}, which the {self.policy} policy forbids "
                                     f"({elf.member})", _log_path(log))
        for note in _unreachable_own_libraries(elves):
            _write(log, f"# repair: note: {note}\n")

        self._require_wildcard_excludes(wheel, log)
        patchelf_path = self._path_with_scripts()
        if shutil.which("patchelf", path=patchelf_path) is None:
            raise BuildError(f"{wheel.name}: cannot repair: patchelf is not installed (wheelwright depends on the "
                             "patchelf package; reinstall wheelwright)", _log_path(log))

        excludes = list(dict.fromkeys([*self.never_graft, *self.forbid, *sorted(_literal(n) for n in own)]))
        wheelhouse = scratch / "wheelhouse"
        command = [self.python, "-P", "-m", "auditwheel", "-v", "repair", "--plat", self.plat, "-w", str(wheelhouse)]
        for pattern in excludes:
            command += ["--exclude", pattern]
        command.append(str(wheel.resolve()))
        env = dict(os.environ)
        env["PATH"] = patchelf_path
        env["SOURCE_DATE_EPOCH"] = str(self.source_date_epoch)
        if self.library_path:
            env["AUDITWHEEL_LD_LIBRARY_PATH"] = os.pathsep.join(
                [*self.library_path, *filter(None, [os.environ.get("AUDITWHEEL_LD_LIBRARY_PATH")])])
        _write(log, f"# repair: {' '.join(_quote(c) for c in command)}\n")
        try:
            run = subprocess.run(command, cwd=scratch, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                 stderr=subprocess.STDOUT, text=True, errors="replace", timeout=self.timeout)
        except subprocess.TimeoutExpired as exc:
            _write(log, _text(exc.output))
            raise BuildError(f"{wheel.name}: auditwheel repair took longer than {self.timeout:g}s", _log_path(log)) from None
        except OSError as exc:
            raise BuildError(f"{wheel.name}: cannot run auditwheel: {exc}", _log_path(log)) from None
        _write(log, run.stdout)
        if run.returncode != 0:
            reason = _reason(run.stdout).replace(str(wheel.resolve()), wheel.name)
            raise BuildError(f"{wheel.name}: auditwheel repair failed: {reason}", _log_path(log))
        produced = sorted(wheelhouse.glob("*.whl")) if wheelhouse.is_dir() else []
        if len(produced) != 1:
            raise BuildError(f"{wheel.name}: auditwheel repair wrote {len(produced)} wheels, expected one",
                             _log_path(log))
        repaired = produced[0]

        grafted = self._grafted(wheel, repaired, run.stdout, input_members)
        check_never_grafted(repaired, [*self.never_graft, *self.forbid], policy=self.policy, grafted=grafted,
                            preexisting=input_members, label=wheel.name)
        self._check_grafted_needs(wheel, repaired, grafted, own, scratch)
        external = sorted({m["name"] for line in run.stdout.splitlines() if (m := _EXCLUDING.search(line))}
                          - own)
        external = [n for n in external if "/" not in n]

        final = out_dir / repaired.name
        if final.resolve() == wheel.resolve():
            raise BuildError(f"{wheel.name}: the repaired wheel would replace the input; repair into another folder",
                             _log_path(log))
        os.replace(repaired, final)
        tag = final.name[: -len(".whl")].rsplit("-", 1)[-1]
        _write(log, f"# repair: {final.name} ({tag}) in {time.monotonic() - started:.1f}s; "
                    f"grafted {[g.name for g in grafted] or 'nothing'}; left external {external or 'nothing'}\n")
        return RepairResult(final, tag, grafted, tuple(external))

    def _grafted(self, wheel: Path, repaired: Path, output: str, input_members: frozenset[str]) -> tuple[GraftedLibrary, ...]:
        """What auditwheel copied in: its log says from where, the repaired wheel holds the copies."""
        sources: dict[str, Path] = {}
        for line in output.splitlines():
            match = _GRAFTING.search(line)
            if match:
                dest = PurePosixPath(match["dest"])
                # the destination is <name>.libs/<file>, relative to the unpacked wheel (or absolute in it)
                sources["/".join(dest.parts[-2:])] = Path(match["source"])
        result = []
        with zipfile.ZipFile(repaired) as zf:
            for member in zf.namelist():
                parts = PurePosixPath(member).parts
                if member.endswith("/") or len(parts) != 2 or not parts[0].endswith(".libs") or member in input_members:
                    continue
                source = sources.get(member)
                if source is None:
                    raise BuildError(f"{wheel.name}: auditwheel grafted {member} but its log does not say from where "
                                     "(unsupported auditwheel output?)")
                digest = hashlib.sha256()
                with zf.open(member) as handle:
                    for block in iter(lambda: handle.read(1 << 20), b""):
                        digest.update(block)
                soname = _source_soname(source)
                result.append(GraftedLibrary(soname=soname, source=source, sha256=digest.hexdigest(), name=member))
        return tuple(sorted(result, key=lambda g: g.name))

    def _check_grafted_needs(self, wheel: Path, repaired: Path, grafted: Sequence[GraftedLibrary], own: set[str],
                             scratch: Path) -> None:
        """A grafted library must not pull in a forbidden one either (an excluded need stays a need)."""
        if not self.forbid or not grafted:
            return
        for elf in _elf_files(repaired, scratch, only=[g.name for g in grafted]):
            for soname in elf.needed:
                if soname not in own and matching_pattern(soname, self.forbid):
                    via = next(g.soname for g in grafted if g.name == elf.member)
                    raise BuildError(f"{wheel.name}: needs {soname} (through the grafted {via}), which the "
                                     f"{self.policy} policy forbids")

    def _path_with_scripts(self) -> str:
        """PATH with the auditwheel interpreter's scripts folder first: the patchelf wheel's binary lives there."""
        scripts = sysconfig.get_path("scripts") if self.python == sys.executable else str(Path(self.python).parent)
        return os.pathsep.join(filter(None, [scripts, str(Path(self.python).parent), os.environ.get("PATH", "")]))

    def _require_wildcard_excludes(self, wheel: Path, log: IO[str] | None) -> None:
        """auditwheel matches --exclude as fnmatch patterns only since 6.2; before, ``libfoo.so*`` matched nothing."""
        if self.python != sys.executable:
            return
        from importlib.metadata import PackageNotFoundError, version

        try:
            found = version("auditwheel")
        except PackageNotFoundError:
            raise BuildError(f"{wheel.name}: cannot repair: auditwheel is not installed (reinstall wheelwright)",
                             _log_path(log)) from None
        numbers = tuple(int(n) for n in re.findall(r"\d+", found)[:2])
        if numbers < (6, 2):
            raise BuildError(f"{wheel.name}: cannot repair: auditwheel {found} matches --exclude literally; "
                             "the never-graft patterns need auditwheel>=6.2", _log_path(log))


def _reason(output: str) -> str:
    """auditwheel's own one-line reason for failing: argparse's ``error:`` line, or the exception's."""
    lines = [line.strip() for line in output.splitlines() if line.strip()]
    for line in reversed(lines):
        match = re.search(r"repair: error: (.+)$", line) or re.match(r"(?:[\w.]*(?:Error|Exception)): (.+)$", line)
        if match:
            return match[1]
    for line in reversed(lines):
        match = re.match(r"(?:ERROR|CRITICAL):[\w.]+:(.+)$", line)
        if match:
            return match[1].strip()
    return lines[-1] if lines else "no output"


def _write(log: IO[str] | None, text: str) -> None:
    if log is not None and text:
        log.write(text if text.endswith("\n") else text + "\n")
        with contextlib.suppress(AttributeError, OSError, ValueError):
            log.flush()


def _log_path(log: IO[str] | None) -> str | None:
    name = getattr(log, "name", None)
    return name if isinstance(name, str) and not name.startswith("<") else None


def _text(output: str | bytes | None) -> str:
    if isinstance(output, bytes):
        return output.decode(errors="replace")
    return output or ""


def _quote(arg: str) -> str:
    return arg if re.fullmatch(r"[\w@%+=:,./-]+", arg) else "'" + arg.replace("'", "'\\''") + "'"


__all__ = [
    "AuditwheelRepairer", "GraftedLibrary", "PassThrough", "RepairResult", "Repairer", "best_manylinux_tag",
    "check_never_grafted", "matching_pattern",
]
