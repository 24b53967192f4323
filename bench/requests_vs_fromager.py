#!/usr/bin/env python3
"""Side-by-side benchmark: Wheelwright vs Fromager building one requirement's
whole tree (default: ``requests``) from PyPI sdists, cold and warm.

Cold = fresh output and cache dirs for both tools (downloads included).
Warm = the same command again in the same dirs, nothing changed.

Both tools run with pip's global config switched off (PIP_CONFIG_FILE=/dev/null,
every PIP_*/UV_* variable removed) so neither is fed local wheels or indexes,
and with XDG_CACHE_HOME pointed into the repetition's dir so no global cache
leaks into a cold run.

Only stdlib; see bench/README.md for usage.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import time
from collections import deque
from dataclasses import asdict, dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
BENCH = REPO / "bench"
VENV = BENCH / ".venv-fromager"
WORK = BENCH / ".work"
TARGETS = {"cold": 0.5, "warm": 0.1}  # wheelwright/fromager time ratios to beat
CA_BUNDLE = Path("/etc/ssl/certs/ca-certificates.crt")
TAIL_LINES = 30


class BenchError(Exception):
    """A failure that ends the benchmark with a message and a non-zero exit."""


@dataclass
class Run:
    """One timed invocation of one tool."""

    tool: str
    phase: str  # "cold" or "warm"
    rep: int
    seconds: float
    packages: int


@dataclass
class Summary:
    """Medians over repetitions for one tool."""

    tool: str
    cold_median_s: float
    warm_median_s: float
    packages: int
    cold_s: list[float] = field(default_factory=list)
    warm_s: list[float] = field(default_factory=list)


def log(msg: str) -> None:
    """Progress goes to stderr so stdout stays clean for the table or JSON."""
    print(f"[bench] {msg}", file=sys.stderr, flush=True)


def python_version_ok(python: Path) -> bool:
    """Ask the interpreter itself: Fromager needs Python >= 3.12."""
    try:
        out = subprocess.run(
            [str(python), "-c", "import sys; print(sys.version_info >= (3, 12))"],
            capture_output=True, text=True, timeout=30,
        )
    except (OSError, subprocess.TimeoutExpired):
        return False
    return out.returncode == 0 and out.stdout.strip() == "True"


def _version_key(path: Path) -> tuple[int, ...]:
    """Sort pyenv dirs like 3.12.10 after 3.12.9 (numeric, not lexical)."""
    return tuple(int(x) if x.isdigit() else -1 for x in path.name.split("."))


def find_python312(explicit: str | None) -> Path | None:
    """Locate a Python >= 3.12: --fromager-python, then pyenv versions, then PATH.

    The default interpreter here is 3.11, which current Fromager does not support.
    """
    if explicit:  # an explicit choice is never silently replaced
        return Path(explicit) if python_version_ok(Path(explicit)) else None
    candidates: list[Path] = []
    roots = []
    pyenv = shutil.which("pyenv")
    if pyenv:
        res = subprocess.run([pyenv, "root"], capture_output=True, text=True)
        if res.returncode == 0 and res.stdout.strip():
            roots.append(Path(res.stdout.strip()))
    roots.append(Path(os.environ.get("PYENV_ROOT", Path.home() / ".pyenv")))
    for root in roots:
        # Oldest supported first: 3.12 is the release Fromager is most tested on.
        for ver in sorted((root / "versions").glob("3.1[2-9]*"), key=_version_key):
            candidates.extend(sorted(ver.glob("bin/python3.1[2-9]")))
    for name in ("python3.12", "python3.13", "python3.14", "python3"):
        found = shutil.which(name)
        if found:
            candidates.append(Path(found))
    for cand in candidates:
        if cand.is_file() and python_version_ok(cand):
            return cand
    return None


def clean_env(path_prefix: Path | None = None, cache_home: Path | None = None) -> dict[str, str]:
    """Environment for both tools: no pip/uv config, PyPI only, system CA bundle.

    The global pip config adds local indexes, /opt/wheels and a constraint file;
    that would hand either tool prebuilt wheels. The system CA bundle is needed
    because the outbound TLS is intercepted by a CA that certifi does not know
    (Fromager uses requests+certifi and retries for minutes without it).
    """
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PIP_", "UV_"))}
    env.pop("VIRTUAL_ENV", None)
    env["PIP_CONFIG_FILE"] = os.devnull
    env["PIP_DISABLE_PIP_VERSION_CHECK"] = "1"
    if CA_BUNDLE.is_file():
        for key in ("SSL_CERT_FILE", "REQUESTS_CA_BUNDLE"):
            env.setdefault(key, str(CA_BUNDLE))
        env["PIP_CERT"] = env["REQUESTS_CA_BUNDLE"]
        env["UV_NATIVE_TLS"] = "1"
    if path_prefix is not None:
        env["PATH"] = f"{path_prefix}{os.pathsep}{env.get('PATH', '')}"
    if cache_home is not None:
        env["XDG_CACHE_HOME"] = str(cache_home)
    return env


def ensure_fromager(python: Path, upgrade: bool) -> Path:
    """Create (or reuse) bench/.venv-fromager and install the latest Fromager there."""
    venv_python = VENV / "bin" / "python"
    fromager = VENV / "bin" / "fromager"
    if venv_python.exists() and not python_version_ok(venv_python):
        log(f"{VENV} is broken or older than 3.12; recreating")
        shutil.rmtree(VENV)
    if not venv_python.exists():
        log(f"creating {VENV} with {python}")
        check_call([str(python), "-m", "venv", str(VENV)], clean_env())
    if upgrade or not fromager.exists():
        log("pip install --upgrade fromager")
        check_call([str(venv_python), "-m", "pip", "install", "-q", "--upgrade", "fromager"], clean_env())
    version = subprocess.run([str(fromager), "--version"], capture_output=True, text=True)
    log(f"using {version.stdout.strip() or 'fromager (version unknown)'}")
    return fromager


def check_call(cmd: list[str], env: dict[str, str]) -> None:
    """Setup step (venv/pip): fail with the output tail rather than a traceback."""
    res = subprocess.run(cmd, env=env, capture_output=True, text=True)
    if res.returncode != 0:
        tail = (res.stdout + res.stderr).splitlines()[-TAIL_LINES:]
        raise BenchError(f"setup failed ({res.returncode}): {' '.join(cmd)}\n" + "\n".join(tail))


def tail_of(path: Path, n: int = TAIL_LINES) -> str:
    """Last n lines of a log, for failure reports."""
    with path.open(errors="replace") as fh:
        return "".join(deque(fh, maxlen=n))


def timed(cmd: list[str], cwd: Path, env: dict[str, str], log_path: Path, timeout: float) -> float:
    """Run one tool invocation with output to a log file; return wall seconds."""
    log(f"$ (cd {cwd} && {' '.join(cmd)})  > {log_path}")
    with log_path.open("w") as out:
        start = time.perf_counter()
        try:
            rc = subprocess.run(cmd, cwd=cwd, env=env, stdout=out, stderr=subprocess.STDOUT,
                                stdin=subprocess.DEVNULL, timeout=timeout).returncode
        except subprocess.TimeoutExpired:
            rc = f"timeout after {timeout:.0f}s"
        elapsed = time.perf_counter() - start
    if rc != 0:
        raise BenchError(f"{cmd[0]} failed ({rc}); last {TAIL_LINES} lines of {log_path}:\n{tail_of(log_path)}")
    return elapsed


def fresh_dir(path: Path) -> Path:
    """Cold runs must start from nothing: wipe and recreate."""
    if path.exists():
        shutil.rmtree(path)
    path.mkdir(parents=True)
    return path


def run_fromager(fromager: Path, req: str, rep: int, timeout: float) -> list[Run]:
    """Cold then warm `fromager bootstrap` in one fresh dir.

    cwd is the rep dir so Fromager's relative defaults (overrides/settings.yaml,
    overrides/patches) resolve to nothing. Built wheels land in
    <output-dir>/wheels-repo/downloads/.
    """
    base = fresh_dir(WORK / "fromager" / f"rep{rep}")
    out = base / "out"
    env = clean_env(path_prefix=fromager.parent, cache_home=base / "xdg-cache")
    cmd = [str(fromager), "--output-dir", str(out), "bootstrap", req]
    runs = []
    for phase in ("cold", "warm"):
        secs = timed(cmd, base, env, base / f"{phase}.log", timeout)
        count = len(list((out / "wheels-repo" / "downloads").glob("*.whl")))
        runs.append(Run("fromager", phase, rep, secs, count))
        log(f"fromager {phase} rep{rep}: {secs:.1f}s, {count} wheels")
    return runs


def run_wheelwright(req: str, variant: str, target_python: str, rep: int, timeout: float) -> list[Run]:
    """Cold then warm `python -m wheelwright build` with fresh output and cache dirs.

    Runs from the repo root (the Wheelwright project: variants.toml, recipes)
    under this interpreter, where wheelwright is installed editable. It targets
    the same Python X.Y as Fromager's venv, so both build the same wheels.
    """
    base = fresh_dir(WORK / "wheelwright" / f"rep{rep}")
    out, cache = base / "out", base / "cache"
    env = clean_env(cache_home=base / "xdg-cache")
    cmd = [sys.executable, "-m", "wheelwright", "build", "--variant", variant, "--python", target_python,
           "--output-dir", str(out), "--cache-dir", str(cache), req]
    runs = []
    for phase in ("cold", "warm"):
        secs = timed(cmd, REPO, env, base / f"{phase}.log", timeout)
        count = len(list((out / "simple").rglob("*.whl")))
        runs.append(Run("wheelwright", phase, rep, secs, count))
        log(f"wheelwright {phase} rep{rep}: {secs:.1f}s, {count} wheels")
    return runs


def summarize(tool: str, runs: list[Run]) -> Summary:
    """Medians per phase; the package count is the cold runs' (warm must match)."""
    cold = [r.seconds for r in runs if r.tool == tool and r.phase == "cold"]
    warm = [r.seconds for r in runs if r.tool == tool and r.phase == "warm"]
    counts = {r.packages for r in runs if r.tool == tool}
    if len(counts) > 1:
        log(f"warning: {tool} produced differing wheel counts across runs: {sorted(counts)}")
    packages = max(r.packages for r in runs if r.tool == tool)
    return Summary(tool, statistics.median(cold), statistics.median(warm), packages, cold, warm)


def ratios(summaries: dict[str, Summary]) -> list[dict[str, object]]:
    """wheelwright/fromager per phase, judged against TARGETS."""
    if not {"fromager", "wheelwright"} <= summaries.keys():
        return []
    ww, fr = summaries["wheelwright"], summaries["fromager"]
    result = []
    for phase, target in TARGETS.items():
        value = getattr(ww, f"{phase}_median_s") / getattr(fr, f"{phase}_median_s")
        result.append({"phase": phase, "ratio": round(value, 3), "target": target,
                       "verdict": "PASS" if value <= target else "MISS"})
    return result


def print_table(summaries: dict[str, Summary], judged: list[dict[str, object]], repeat: int) -> None:
    """Human-readable result."""
    print(f"{'tool':<12} | {'cold median s':>13} | {'warm median s':>13} | {'packages built':>14}")
    print("-" * 61)
    for s in summaries.values():
        print(f"{s.tool:<12} | {s.cold_median_s:>13.1f} | {s.warm_median_s:>13.1f} | {s.packages:>14}")
    print(f"(medians of {repeat} repetition{'s' if repeat != 1 else ''})")
    for j in judged:
        print(f"{j['phase']} wheelwright/fromager = {j['ratio']:.3f}  (target <= {j['target']})  {j['verdict']}")


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    """CLI."""
    p = argparse.ArgumentParser(
        description="Time Wheelwright vs Fromager building a requirement's whole tree from sdists.")
    p.add_argument("--req", default="requests", help="top-level requirement (default: requests)")
    p.add_argument("--repeat", type=int, default=1, help="repetitions of cold+warm per tool; medians reported")
    p.add_argument("--variant", default="cpu", help="Wheelwright variant (default: cpu)")
    p.add_argument("--only-fromager", action="store_true", help="skip Wheelwright")
    p.add_argument("--json", action="store_true", help="print JSON instead of the table")
    p.add_argument("--fromager-python", help="Python >= 3.12 for Fromager's venv (default: auto-detect)")
    p.add_argument("--upgrade-fromager", action="store_true", help="pip install -U fromager even if present")
    p.add_argument("--timeout", type=float, default=1800, help="seconds per tool invocation (default 1800)")
    args = p.parse_args(argv)
    if args.repeat < 1:
        p.error("--repeat must be >= 1")
    return args


def main(argv: list[str] | None = None) -> int:
    """Set up Fromager, alternate tools across repetitions, report medians and ratios."""
    args = parse_args(argv)
    python = find_python312(args.fromager_python)
    if python is None:
        print("error: no Python >= 3.12 found (Fromager needs one). Install one, e.g. "
              "`pyenv install 3.12`, or pass --fromager-python PATH.", file=sys.stderr)
        return 2
    try:
        fromager = ensure_fromager(python, args.upgrade_fromager)
        target_python = subprocess.run(
            [str(python), "-c", "import sys; print(f'{sys.version_info[0]}.{sys.version_info[1]}')"],
            capture_output=True, text=True, check=True).stdout.strip()
        tools = ["fromager"] if args.only_fromager else ["fromager", "wheelwright"]
        if "wheelwright" in tools:
            check_call([sys.executable, "-c", "import wheelwright"], clean_env())
        runs: list[Run] = []
        for rep in range(args.repeat):
            # Alternate the order so drift (other load, network) hits both tools alike.
            for tool in tools if rep % 2 == 0 else reversed(tools):
                if tool == "fromager":
                    runs += run_fromager(fromager, args.req, rep, args.timeout)
                else:
                    runs += run_wheelwright(args.req, args.variant, target_python, rep, args.timeout)
    except BenchError as err:
        print(f"error: {err}", file=sys.stderr)
        return 1
    summaries = {t: summarize(t, runs) for t in tools}
    judged = ratios(summaries)
    if args.json:
        print(json.dumps({"req": args.req, "repeat": args.repeat, "fromager_python": str(python),
                          "summaries": [asdict(s) for s in summaries.values()],
                          "ratios": judged, "runs": [asdict(r) for r in runs]}, indent=2))
    else:
        print_table(summaries, judged, args.repeat)
    return 0


if __name__ == "__main__":
    sys.exit(main())
