"""``wheelwright ci simulate``: run a generated workflow's jobs on this machine, without GitHub.

Jobs run in ``needs:`` order, each in a fresh clone of the repository with an empty cache, and see only the
artifacts that jobs it (transitively) needs uploaded, copied through a local artifact directory as
upload-artifact/download-artifact would. ``run:`` steps run as written, in bash, with GITHUB_PATH, GITHUB_OUTPUT
and GITHUB_ENV honoured. What needs GitHub is emulated and said so: checkout (the fresh clone is the checkout),
setup-python (this machine's interpreters), cache restore (a miss: a fresh machine's cache is empty) and save
(skipped); ``container:`` and ``runs-on:`` are not emulated (the steps run here, not in the image); a job whose
``if:`` is false (publishing) is skipped. A job fails as on GitHub: its first failing step, then only its
``if: failure()`` steps.
"""

from __future__ import annotations

import fnmatch
import os
import re
import shutil
import subprocess
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from wheelwright.errors import WheelwrightError

EMULATED = {
    "actions/checkout": "the job's fresh clone is its checkout",
    "actions/setup-python": "this machine's interpreters",
    "actions/cache/restore": "a miss: a fresh machine's cache is empty",
    "actions/cache/save": "skipped",
    "actions/upload-artifact": "copied into the local artifact directory",
    "actions/download-artifact": "copied from the local artifact directory (artifacts of the jobs it needs only)",
}


class SimulationError(WheelwrightError):
    pass


@dataclass
class _Job:
    id: str
    spec: Mapping[str, Any]
    needs: tuple[str, ...]
    uploaded: list[str] = field(default_factory=list)


def load_jobs(workflow: Path) -> dict[str, _Job]:
    """The workflow's jobs, reusable workflows called with ``uses: ./…`` expanded in place (their jobs need what the
    calling job needs, and a job needing the caller needs all of them)."""
    root = workflow.parent.parent.parent
    document = _read(workflow)
    jobs: dict[str, _Job] = {}
    expanded: dict[str, list[str]] = {}
    for job_id, spec in document.get("jobs", {}).items():
        needs = _list(spec.get("needs"))
        if isinstance(spec.get("uses"), str) and spec["uses"].startswith("./"):
            inner = load_jobs(root / spec["uses"][2:])
            expanded[job_id] = list(inner)
            for inner_id, job in inner.items():
                jobs[inner_id] = _Job(inner_id, job.spec, tuple(job.needs) + tuple(needs))
        else:
            jobs[job_id] = _Job(job_id, spec, tuple(needs))
    for job in jobs.values():  # needing a caller means needing every job it expanded to
        job.needs = tuple(sorted({n for need in job.needs for n in expanded.get(need, [need])}))
    for job in jobs.values():
        if missing := [n for n in job.needs if n not in jobs]:
            raise SimulationError(f"{workflow.name}: job {job.id} needs {', '.join(missing)}, which the workflow does not define")
    return jobs


def _read(path: Path) -> dict[str, Any]:
    try:
        data = yaml.safe_load(path.read_text())
    except (OSError, yaml.YAMLError) as exc:
        raise SimulationError(f"{path}: cannot read the workflow: {exc}") from None
    if not isinstance(data, dict):
        raise SimulationError(f"{path}: not a workflow")
    return data


def _list(value: Any) -> list[str]:
    return [value] if isinstance(value, str) else list(value or [])


def simulate(workflow: Path, output_dir: Path, repo: Path, *, report: Callable[[str], None] = lambda text: None) -> str:
    jobs = load_jobs(workflow)
    order = _order(jobs)
    store = output_dir / "artifacts"
    shutil.rmtree(output_dir / "jobs", ignore_errors=True)
    shutil.rmtree(store, ignore_errors=True)
    ancestors: dict[str, set[str]] = {}
    ran = skipped = 0
    for job_id in order:
        job = jobs[job_id]
        ancestors[job_id] = set(job.needs).union(*(ancestors[n] for n in job.needs)) if job.needs else set()
        if "if" in job.spec and not _condition(job.spec["if"], {}, failed=False):
            report(f"simulate: {job_id}: skipped (if: {job.spec['if']})")
            skipped += 1
            continue
        visible = {name: store / name for j in ancestors[job_id] for name in jobs[j].uploaded}
        report(f"simulate: {job_id} ({', '.join(job.needs) or 'needs nothing'}; {len(visible)} artifacts visible)")
        job.uploaded = _run_job(job, output_dir / "jobs" / job_id, repo, store, visible, report)
        ran += 1
    index = next((name for j in jobs.values() for name in j.uploaded if name.startswith("index-")), None)
    if index is None:
        raise SimulationError(f"{workflow.name}: no job uploaded the merged index (an index-* artifact)")
    for item in ("simple", "sbom", "index.json", "graph.json", "licenses.txt"):
        target = output_dir / item
        if target.is_dir():
            shutil.rmtree(target)
        source = store / index / item
        if source.is_dir():
            shutil.copytree(source, target)
        elif source.is_file():
            shutil.copyfile(source, target)
    return f"simulated {ran} jobs ({skipped} skipped) of {workflow.name}; merged index: {output_dir / 'simple'}"


def _order(jobs: Mapping[str, _Job]) -> list[str]:
    order: list[str] = []
    done: set[str] = set()
    while len(order) < len(jobs):
        ready = sorted(j for j in jobs if j not in done and set(jobs[j].needs) <= done)
        if not ready:
            raise SimulationError(f"the jobs' needs: form a cycle among {', '.join(sorted(set(jobs) - done))}")
        order += ready
        done |= set(ready)
    return order


def _run_job(job: _Job, work: Path, repo: Path, store: Path, visible: Mapping[str, Path], report: Callable[[str], None]) -> list[str]:
    checkout = work / "repo"
    work.mkdir(parents=True)
    subprocess.run(["git", "clone", "--quiet", "--no-hardlinks", str(repo), str(checkout)], check=True)
    files = {name: work / name for name in ("github_path", "github_output", "github_env")}
    for path in files.values():
        path.touch()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PIP_", "WHEELWRIGHT_", "GITHUB_"))}
    env |= {"CI": "true", "GITHUB_ACTIONS": "true", "GITHUB_WORKSPACE": str(checkout), "GITHUB_PATH": str(files["github_path"]),
            "GITHUB_OUTPUT": str(files["github_output"]), "GITHUB_ENV": str(files["github_env"]), "PIP_CONFIG_FILE": os.environ.get("PIP_CONFIG_FILE", "")}
    env = {k: v for k, v in env.items() if v}
    outputs: dict[str, dict[str, str]] = {}
    uploaded: list[str] = []
    failed: str | None = None
    for number, step in enumerate(job.spec.get("steps", []), start=1):
        label = step.get("name") or step.get("uses") or f"step {number}"
        if not _condition(step.get("if"), outputs, failed=failed is not None):
            continue
        try:
            if "uses" in step:
                outputs[step.get("id", f"_{number}")] = _uses(step, checkout, store, visible, uploaded, report)
            else:
                _shell(step["run"], checkout, env, files, work / f"step-{number}.log")
        except SimulationError as exc:
            failed = failed or f"{job.id}: {label}: {exc}"
            report(f"simulate:   FAILED {label}: {exc}")
    if failed:
        raise SimulationError(failed)
    return uploaded


def _condition(expression: Any, outputs: Mapping[str, Mapping[str, str]], *, failed: bool) -> bool:
    """The few expressions the generated workflows use; anything else is refused, not guessed."""
    if expression is None:
        return not failed
    text = str(expression).strip().removeprefix("${{").removesuffix("}}").strip()
    if text == "failure()":
        return failed
    if text == "always()":
        return True
    if text in ("inputs.publish", "github.event.inputs.publish == 'true'"):
        return False  # the simulation never publishes
    if match := re.fullmatch(r"steps\.([\w-]+)\.outputs\.([\w-]+)\s*(==|!=)\s*'([^']*)'", text):
        value = outputs.get(match.group(1), {}).get(match.group(2), "")
        return (not failed) and ((value == match.group(4)) == (match.group(3) == "=="))
    raise SimulationError(f"cannot simulate the condition {expression!r}")


def _shell(script: str, cwd: Path, env: dict[str, str], files: Mapping[str, Path], log: Path) -> None:
    extra = [line.strip() for line in files["github_path"].read_text().splitlines() if line.strip()]
    for line in files["github_env"].read_text().splitlines():
        if "=" in line:
            key, _, value = line.partition("=")
            env[key] = value
    step_env = {**env, "PATH": os.pathsep.join([*reversed(extra), env.get("PATH", os.defpath)])}
    with open(log, "w") as handle:
        result = subprocess.run(["bash", "-e", "-o", "pipefail", "-c", script], cwd=cwd, env=step_env, stdout=handle, stderr=subprocess.STDOUT)
    if result.returncode != 0:
        tail = log.read_text(errors="replace").strip().splitlines()[-3:]
        raise SimulationError(f"exit {result.returncode} ({log}): {' | '.join(tail)}")


def _action(uses: str) -> str:
    return uses.split("@", 1)[0]


def _uses(step: Mapping[str, Any], checkout: Path, store: Path, visible: Mapping[str, Path], uploaded: list[str],
          report: Callable[[str], None]) -> dict[str, str]:
    action, options = _action(step["uses"]), step.get("with") or {}
    if action not in EMULATED:
        raise SimulationError(f"{step['uses']}: not an action this simulation can emulate ({', '.join(sorted(EMULATED))})")
    if action == "actions/cache/restore":
        return {"cache-hit": "false"}
    if action == "actions/upload-artifact":
        name = str(options["name"])
        if (store / name).exists():
            raise SimulationError(f"artifact {name!r} was already uploaded in this run (names are unique per run)")
        sources = [checkout / line.strip() for line in str(options["path"]).splitlines() if line.strip()]
        present = [s for s in sources if s.exists()]
        if not present:
            if options.get("if-no-files-found", "warn") == "error":
                raise SimulationError(f"upload-artifact {name}: no files at {options['path']!r}")
            return {}
        for source in present:
            if source.is_dir():
                shutil.copytree(source, store / name, dirs_exist_ok=True)
            else:
                (store / name).mkdir(parents=True, exist_ok=True)
                shutil.copyfile(source, store / name / source.name)
        uploaded.append(name)
        return {}
    if action == "actions/download-artifact":
        target = checkout / str(options.get("path", "."))
        if "name" in options:
            chosen = [str(options["name"])]
            if chosen[0] not in visible:
                raise SimulationError(f"download-artifact: no artifact {chosen[0]!r} from the jobs this one needs")
        else:
            patterns = _braces(str(options.get("pattern", "*")))
            chosen = sorted(n for n in visible if any(fnmatch.fnmatchcase(n, p) for p in patterns))
            if missing := [p for p in patterns if not any(ch in p for ch in "*?[") and p not in visible]:
                raise SimulationError(f"download-artifact: no artifact {missing[0]!r} from the jobs this one needs")
        for name in chosen:
            merge = options.get("merge-multiple", False) or "name" in options
            shutil.copytree(visible[name], target if merge else target / name, dirs_exist_ok=True)
        return {"download-path": str(target)}
    return {}


def _braces(pattern: str) -> list[str]:
    """minimatch's {a,b} alternation, which download-artifact's ``pattern`` supports (one level)."""
    match = re.search(r"\{([^{}]*)\}", pattern)
    if not match:
        return [pattern]
    return [pattern[:match.start()] + part + pattern[match.end():] for part in match.group(1).split(",")]
