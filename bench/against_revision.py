"""Wheelwright against an earlier revision of itself, on the same tree, side by side in one run.

    python bench/against_revision.py --rev 9aff407 --repeat 3 [REQ]

Checks out REV into a git worktree under bench/.work, then alternates cold builds (fresh cache and
output: downloads included) and warm rebuilds of REQ (default `requests`) with this checkout and with
REV, and prints the medians and the ratios this/REV. The machine is noisy: read the ratios of one run.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
WORK = ROOT / "bench" / ".work" / "revision"


def run(src: Path, project: Path, out: Path, cache: Path, req: str, python: str) -> float:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PIP_", "UV_"))}
    env.update(PIP_CONFIG_FILE=os.devnull, PYTHONPATH=str(src))
    command = [sys.executable, "-m", "wheelwright", "--project", str(project), "build", "--variant", "cpu", "--python", python,
               "--output-dir", str(out), "--cache-dir", str(cache), req]
    started = time.monotonic()
    result = subprocess.run(command, env=env, capture_output=True, text=True, timeout=3600)
    seconds = time.monotonic() - started
    if result.returncode != 0:
        raise SystemExit(f"{' '.join(command)} failed:\n{result.stderr[-3000:]}")
    return seconds


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("req", nargs="?", default="requests")
    parser.add_argument("--rev", required=True, help="the earlier revision (a commit, tag or branch)")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--python", default="3.11")
    args = parser.parse_args()
    old = WORK / "old"
    shutil.rmtree(WORK, ignore_errors=True)
    subprocess.run(["git", "-C", str(ROOT), "worktree", "prune"], check=True)
    subprocess.run(["git", "-C", str(ROOT), "worktree", "add", "--force", "--detach", str(old), args.rev], check=True, capture_output=True)
    sides = {"this": (ROOT / "src", ROOT), args.rev: (old / "src", old)}
    times: dict[tuple[str, str], list[float]] = {}
    try:
        for rep in range(args.repeat):
            for side, (src, project) in (sides.items() if rep % 2 == 0 else reversed(sides.items())):
                base = WORK / side.replace("/", "_") / f"rep{rep}"
                cold = run(src, project, base / "out", base / "cache", args.req, args.python)
                warm = run(src, project, base / "out", base / "cache", args.req, args.python)
                times.setdefault((side, "cold"), []).append(cold)
                times.setdefault((side, "warm"), []).append(warm)
                print(f"[bench] {side} rep{rep}: cold {cold:.1f}s, warm {warm:.1f}s", file=sys.stderr, flush=True)
    finally:
        subprocess.run(["git", "-C", str(ROOT), "worktree", "remove", "--force", str(old)], capture_output=True)
    print(f"{'side':<12} | cold median s | warm median s")
    for side in sides:
        print(f"{side:<12} | {statistics.median(times[(side, 'cold')]):13.1f} | {statistics.median(times[(side, 'warm')]):13.2f}")
    for phase in ("cold", "warm"):
        ratio = statistics.median(times[("this", phase)]) / statistics.median(times[(args.rev, phase)])
        print(f"{phase} this/{args.rev} = {ratio:.3f}  (medians of {args.repeat}; below 1 is faster)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
