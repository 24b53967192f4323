"""`wheelwright check-reproducible`: rebuild in a perturbed environment and compare with what was published.

In the spirit of `nix build --rebuild` and reprotest: the variant's index is built (or found built) as usual, then
every node (or `--sample N` of them, the rest taken from that index) is built again from scratch with what should not
matter changed: another build path, umask 0002, another TZ, locale, HOME and user name, another hostname (its own
UTS namespace) and another parallelism. Each rebuilt wheel is compared byte for byte with the published one, and
each difference is named by class (tools/reprodiff.py). Exit 1 on any difference. The result goes into
reproducible.json beside the index, into report.json, and into each wheel's index manifest entry.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from wheelwright.config.project import Project
from wheelwright.config.variants import VariantSpec, select_variant
from wheelwright.fsutil import atomic_write_text
from wheelwright.plan.graph import BuildGraph
from wheelwright.remote.index import PYPI_SIMPLE, default_cache_dir
from wheelwright.tools.reprodiff import CLASSES, WheelComparison, compare_wheels

#: What changes between the published build and the rebuild (reprotest's variations that apply to a wheel build).
PERTURBED_ENV = {"TZ": "Pacific/Kiritimati", "LANG": "fr_FR.UTF-8", "LC_ALL": "fr_FR.UTF-8", "USER": "reprotest", "LOGNAME": "reprotest"}
PERTURBED_UMASK = 0o002
PERTURBED_HOSTNAME = "wheelwright-reprotest"


@dataclass(frozen=True)
class Perturbation:
    """How the rebuild differed from the published build, as recorded in the result."""

    build_path: str
    env: dict[str, str]
    umask: str
    hostname: str  # the name, or why it could not be changed
    jobs: str

    def describe(self) -> list[str]:
        return [f"build path {self.build_path}", f"umask {self.umask}", *(f"{k}={v}" for k, v in sorted(self.env.items())),
                f"hostname {self.hostname}", f"jobs {self.jobs}"]


@dataclass(frozen=True)
class ReproReport:
    perturbation: Perturbation
    results: tuple[WheelComparison, ...]
    notes: tuple[str, ...] = field(default_factory=tuple)

    @property
    def identical(self) -> int:
        return sum(r.identical for r in self.results)

    def render(self) -> str:
        lines = [f"rebuilt with: {'; '.join(self.perturbation.describe())}"]
        for result in self.results:
            lines.append(f"{'identical' if result.identical else 'DIFFERS  '} {result.wheel}"
                         + ("" if result.identical else f": {', '.join(result.classes)}"))
            lines += [f"    {d.member}: {d.kind}" for d in result.differences[:8]]
            lines += [f"    | {line}" for line in result.detail.splitlines()[:20]]
        lines += [f"note: {n}" for n in self.notes]
        counts = {c: sum(c in r.classes for r in self.results) for c in CLASSES}
        found = ", ".join(f"{c} {n}" for c, n in counts.items() if n) or "none"
        lines.append(f"{len(self.results)} wheels checked, {self.identical} identical; difference classes: {found}")
        return "\n".join(lines)

    def to_json(self) -> dict[str, Any]:
        return {"perturbation": self.perturbation.describe(), "checked": len(self.results), "identical": self.identical,
                "wheels": {r.wheel: r.to_json() for r in self.results}, "notes": list(self.notes)}


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    check = sub.add_parser("check-reproducible", help="rebuild in a perturbed environment and compare with the published wheels")
    check.add_argument("requirements", nargs="*", metavar="REQ", help="PyPI requirements (default: the variant's stack)")
    check.add_argument("--variant", default="cpu")
    check.add_argument("--accelerator-version", metavar="V")
    check.add_argument("--sample", type=int, metavar="N", help="rebuild N of the nodes (spread over the plan), the rest from the index")
    check.add_argument("--python", default="3.11", metavar="X.Y")
    check.add_argument("--output-dir", type=Path, help="the published build (default: build/<variant>); it is built first if needed")
    check.add_argument("--cache-dir", type=Path, help="downloads (default: ~/.cache/wheelwright); shared by both builds")
    check.add_argument("--index-url", default=PYPI_SIMPLE)
    check.add_argument("--jobs", "-j", type=int, default=os.cpu_count() or 1, help="the published build's parallelism (the rebuild uses 1)")


def run(args: argparse.Namespace, project: Project, variants: dict[str, VariantSpec]) -> int:
    variant = select_variant(variants, args.variant, args.accelerator_version)
    output = (args.output_dir or project.output_dir(variant.label)).resolve()
    cache = (args.cache_dir or default_cache_dir()).resolve()
    common = ["--variant", variant.name, *(["--accelerator-version", args.accelerator_version] if args.accelerator_version else []),
              "--python", args.python, "--cache-dir", str(cache), "--index-url", args.index_url]
    published = _wheelwright(project, ["build", *common, "--output-dir", str(output), "--jobs", str(args.jobs), *args.requirements])
    if published.returncode != 0:
        sys.stderr.write(published.stderr)
        print("error: the published build failed; nothing to compare", file=sys.stderr)
        return 1
    report = check_reproducible(project, output, common, sample=args.sample)
    record(output, report)
    print(report.render())
    return 0 if report.identical == len(report.results) and report.results else 1


def check_reproducible(project: Project, output: Path, common: Sequence[str], *, sample: int | None = None) -> ReproReport:
    """Rebuild into a fresh directory beside ``output`` under the perturbations, then compare every rebuilt wheel."""
    rebuild = output.parent / f".{output.name}-rebuild"
    shutil.rmtree(rebuild, ignore_errors=True)
    home = rebuild.parent / f".{output.name}-rebuild-home"
    shutil.rmtree(home, ignore_errors=True)
    home.mkdir(parents=True)
    graph = BuildGraph.from_json((output / "plan.json").read_text())
    buildable = sorted(n for n, spec in graph.nodes.items() if spec.buildable)
    chosen = _spread(buildable, sample) if sample else buildable
    argv = ["build", *common, "--output-dir", str(rebuild), "--jobs", "1", "--plan", str(output / "plan.json")]
    if sample:
        argv += ["--nodes", ",".join(chosen), "--from-index", str(output / "simple")]
    hostname, wrapper = _uts_wrapper()
    env = {**PERTURBED_ENV, "HOME": str(home)}
    result = _wheelwright(project, argv, env=env, umask=PERTURBED_UMASK, wrapper=wrapper)
    perturbation = Perturbation(str(rebuild), env, oct(PERTURBED_UMASK), hostname, "1 (published build: its own --jobs)")
    notes = [] if result.returncode == 0 else [f"the rebuild failed (exit {result.returncode}): {_last_error(result.stderr)}"]
    rebuilt = _built_wheels(rebuild)
    published = {p.name: p for p in (output / "simple").glob("*/*.whl")}
    wanted = {graph.nodes[n].name for n in chosen}
    results = []
    for name, path in sorted(published.items()):
        project_name = path.parent.name
        if project_name not in wanted:
            continue
        results.append(compare_wheels(path, rebuilt.get(name), (str(output), str(rebuild))))
    shutil.rmtree(home, ignore_errors=True)
    return ReproReport(perturbation, tuple(results), tuple(notes))


def record(output: Path, report: ReproReport) -> None:
    """reproducible.json, report.json's "reproducible", each checked wheel's manifest entry, and its component in the
    stack SBOM (rewritten by every run anyway). Not the per-wheel SBOMs beside the index: a published file never changes."""
    data = report.to_json()
    atomic_write_text(output / "reproducible.json", json.dumps(data, indent=1, sort_keys=True) + "\n")
    for name, patch in (("report.json", lambda d: {**d, "reproducible": data}), ("index.json", lambda d: _manifest_with(d, data)),
                        ("sbom/stack.cdx.json", lambda d: _stack_with(d, data))):
        path = output / name
        if path.is_file():
            atomic_write_text(path, json.dumps(patch(json.loads(path.read_text())), indent=1, sort_keys=True) + "\n")
    from wheelwright.outputs.htmlreport import write_html_report

    if (output / "report.json").is_file():
        write_html_report(output)  # the page shows each wheel's result


def _manifest_with(manifest: dict[str, Any], data: dict[str, Any]) -> dict[str, Any]:
    wheels = manifest.get("wheels", {})
    for wheel, result in data["wheels"].items():
        if wheel in wheels:
            wheels[wheel] = {**wheels[wheel], "reproducible": {"identical": result["identical"], "classes": result["classes"]}}
    return {**manifest, "wheels": wheels}


def _stack_with(sbom: dict[str, Any], data: dict[str, Any]) -> dict[str, Any]:
    for component in sbom.get("components", []):
        props = component.get("properties", [])
        wheel = next((p["value"] for p in props if p["name"] == "wheelwright:wheel-file"), None)
        result = data["wheels"].get(wheel)
        if result is not None:
            kept = [p for p in props if p["name"] != "wheelwright:reproducible"]
            verdict = "identical" if result["identical"] else "differs: " + ", ".join(result["classes"])
            component["properties"] = sorted([*kept, {"name": "wheelwright:reproducible", "value": verdict}], key=lambda p: (p["name"], p["value"]))
    return sbom


def _spread(nodes: list[str], count: int) -> list[str]:
    """``count`` nodes spread evenly over the sorted list (deterministic: the same plan samples the same nodes)."""
    if count >= len(nodes):
        return nodes
    step = len(nodes) / count
    return [nodes[int(i * step)] for i in range(count)]


def _built_wheels(output: Path) -> dict[str, Path]:
    """The wheels the rebuild built itself (not those a slice took from the index)."""
    report = output / "report.json"
    if not report.is_file():
        return {}
    nodes = json.loads(report.read_text()).get("nodes", {})
    built = {Path(data["wheel"]).name for data in nodes.values() if data.get("status") == "built" and data.get("wheel")}
    return {p.name: p for p in (output / "simple").glob("*/*.whl") if p.name in built}


def _uts_wrapper() -> tuple[str, list[str]]:
    """A UTS namespace with another hostname around the rebuild, where this machine allows one."""
    script = 'hostname "$0" && exec "$@"'
    for prefix in (["unshare", "--uts"], ["unshare", "--user", "--map-root-user", "--uts"]):
        probe = subprocess.run([*prefix, "sh", "-c", script, PERTURBED_HOSTNAME, "hostname"], capture_output=True, text=True)
        if probe.returncode == 0 and probe.stdout.strip() == PERTURBED_HOSTNAME:
            return PERTURBED_HOSTNAME, [*prefix, "sh", "-c", script, PERTURBED_HOSTNAME]
    return "unchanged (no UTS namespace here)", []


def _wheelwright(project: Project, argv: Sequence[str], *, env: dict[str, str] | None = None, umask: int | None = None,
                 wrapper: Sequence[str] = ()) -> subprocess.CompletedProcess[str]:
    command = [*wrapper, sys.executable, "-m", "wheelwright", "--project", str(project.root), *argv]
    return subprocess.run(command, capture_output=True, text=True, env={**os.environ, **(env or {})},
                          umask=umask if umask is not None else -1)


def _last_error(stderr: str) -> str:
    return next((line for line in reversed(stderr.splitlines()) if line.startswith("error:")), stderr.strip()[-300:])
