"""``wheelwright ci …``: generate (and check) the workflow, the steps its jobs run (collect, merge), and simulate."""

from __future__ import annotations

import argparse
import shlex
import sys
import time
import os
from pathlib import Path

from wheelwright.config.project import Project
from wheelwright.config.variants import VariantSpec, select_variant
from wheelwright.errors import WheelwrightError
from wheelwright.plan.graph import BuildGraph
from wheelwright.remote.index import PYPI_SIMPLE, default_cache_dir


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser], input_files: object) -> None:
    ci = sub.add_parser("ci", help="GitHub Actions as the engine: generate the workflow from the build graph, simulate it, and its job steps")
    commands = ci.add_subparsers(dest="ci_command", required=True)
    gen = commands.add_parser("generate", help="write .github/workflows/wheelwright-<variant>.yml (and its plan file) from the plan")
    gen.add_argument("requirements", nargs="*", metavar="REQ", help="default: the variant's stack")
    gen.add_argument("--variant", default="cpu")
    gen.add_argument("--accelerator-version", metavar="V")
    gen.add_argument("--python", default="3.11", metavar="X.Y[,X.Y]")
    gen.add_argument("--index-url", default=PYPI_SIMPLE)
    gen.add_argument("--cache-dir", type=Path)
    gen.add_argument("--output-dir", type=Path, help="the local output whose records (keys, durations) the plan reads (default: build/<variant>)")
    gen.add_argument("--prune-index", metavar="DIR_OR_URL", help="a published index: nodes whose planned wheel it holds get no job")
    gen.add_argument("--max-jobs-per-file", type=int, metavar="N", help="shard into reusable workflows beyond N jobs (default 250)")
    gen.add_argument("--plan", type=Path, metavar="FILE", help="cut this plan file (e.g. the checked-in .github/wheelwright/<variant>.plan.json) instead of planning")
    gen.add_argument("--check", action="store_true", help="exit 1 when the checked-in files differ from what this would write")
    gen.add_argument("--dry-run", action="store_true", help="print the job count, depth, critical path and shards; write nothing")
    input_files(gen)  # type: ignore[operator]
    col = commands.add_parser("collect", help="(a CI job step) copy a slice's own outputs into its artifact directory")
    col.add_argument("--output-dir", type=Path, required=True)
    col.add_argument("--nodes", required=True, metavar="NAME==VER[,...]")
    col.add_argument("--into", type=Path, required=True)
    mer = commands.add_parser("merge", help="(the last CI job) merge every job's artifact into one index, manifest and stack SBOM")
    mer.add_argument("artifacts", type=Path)
    mer.add_argument("--variant", default="cpu")
    mer.add_argument("--accelerator-version", metavar="V")
    mer.add_argument("--python", default="3.11", metavar="X.Y[,X.Y]")
    mer.add_argument("--plan", type=Path, required=True)
    mer.add_argument("--output-dir", type=Path, required=True)
    sim = commands.add_parser("simulate", help="run a generated workflow's jobs here, in needs: order, each in a fresh clone")
    sim.add_argument("workflow", type=Path)
    sim.add_argument("--output-dir", type=Path, required=True, help="the merged index lands in DIR/simple; jobs work under DIR/jobs")
    sim.add_argument("--repo", type=Path, help="the repository each job clones (default: the project)")


def run(args: argparse.Namespace, project: Project, variants: dict[str, VariantSpec]) -> int:
    if args.ci_command == "generate":
        return _generate(args, project, variants)
    if args.ci_command == "collect":
        from wheelwright.ci.artifacts import collect

        names = collect(args.output_dir.resolve(), args.nodes.split(","), args.into.resolve())
        print(f"collected {len(names)} wheels into {args.into}: {', '.join(names)}")
        return 0
    if args.ci_command == "merge":
        return _merge(args, project, variants)
    from wheelwright.ci.simulate import simulate

    result = simulate(args.workflow.resolve(), args.output_dir.resolve(), (args.repo or project.root).resolve(), report=lambda text: print(text, file=sys.stderr))
    print(result)
    return 0


def _generate(args: argparse.Namespace, project: Project, variants: dict[str, VariantSpec]) -> int:
    from wheelwright.app import interpreters, make_planner, read_requested
    from wheelwright.ci.generate import describe, generate, recorded_durations, refuse_unbuildable, write
    from wheelwright.run.events import TextReporter

    variant = select_variant(variants, args.variant, args.accelerator_version)
    output_dir = (args.output_dir or project.output_dir(variant.label)).resolve()
    if args.plan:
        if args.requirements or args.requirement or args.constraint:
            raise WheelwrightError(f"{args.plan}: a plan file says what to build; drop the requirements, -r and -c")
        graph = BuildGraph.from_json(args.plan.read_text())
        if graph.variant != variant.label:
            raise WheelwrightError(f"{args.plan}: a plan for {graph.variant}, not {variant.label} (pass --variant)")
    else:
        inputs = read_requested(args.requirements, variant, requirement_files=args.requirement, constraint_files=args.constraint)
        planning = make_planner(project, variant, frozenset(variants), inputs, pythons=interpreters(args.python), index_url=args.index_url,
                                cache_dir=(args.cache_dir or default_cache_dir()).resolve(), output_dir=output_dir,
                                reporter=TextReporter(sys.stderr), permissive=args.dry_run)
        graph = planning.planner.plan()
    if not args.dry_run:
        refuse_unbuildable(graph)
    pruned = _published(graph, args.prune_index) if args.prune_index else frozenset()
    words = ["wheelwright", "ci", "generate", "--variant", variant.name, *(["--accelerator-version", variant.version] if variant.version else []),
             *(["--python", ",".join(graph.pythons)] if graph.pythons != ("3.11",) else []),
             *(["--index-url", args.index_url] if args.index_url != PYPI_SIMPLE else []), *graph.requested]
    generated = generate(graph, variant, command=shlex.join(words), durations=recorded_durations(output_dir), pruned=pruned,
                         prune_index=args.prune_index or "", index_url="" if args.index_url == PYPI_SIMPLE else args.index_url,
                         max_jobs_per_file=args.max_jobs_per_file)
    print(describe(generated.plan, graph))
    if args.dry_run:
        return 0
    stale = write(generated, project.root, check=args.check)
    if args.check:
        if stale:
            raise WheelwrightError(f"stale: {', '.join(stale)} differ from what `{shlex.join(words)}` writes; run it and commit")
        print("up to date: " + ", ".join(sorted(generated.files)))
        return 0
    print("written: " + ", ".join(sorted(generated.files)))
    return 0


def _published(graph: object, where: str) -> frozenset[str]:
    """Nodes whose planned wheel (by file name and sha256) the published index already holds."""
    from wheelwright.run.takes import wheel_source

    assert isinstance(graph, BuildGraph)
    source = wheel_source(where)
    held = set()
    for node, spec in graph.nodes.items():
        if spec.wheel and spec.wheel_sha256:
            for offered in source.offered(spec.name):
                if offered.filename == spec.wheel and (offered.sha256 in (None, spec.wheel_sha256)):
                    held.add(node)
    return frozenset(held)


def _merge(args: argparse.Namespace, project: Project, variants: dict[str, VariantSpec]) -> int:
    import json

    from wheelwright.app import interpreters
    from wheelwright.ci.artifacts import merge
    from wheelwright.fsutil import atomic_write_text
    from wheelwright.outputs.report import write_stack_sbom
    from wheelwright.run.cache import RecordStore
    from wheelwright.run.worker import StageSettings

    variant = select_variant(variants, args.variant, args.accelerator_version)
    output_dir = args.output_dir.resolve()
    graph = BuildGraph.from_json(args.plan.read_text())
    names = merge(args.artifacts.resolve(), output_dir, variant.label)
    pythons = interpreters(args.python)
    run_id = f"{time.strftime('%Y%m%dT%H%M%SZ', time.gmtime())}-{os.getpid()}"
    settings = StageSettings(project=project, variant=variant, variant_names=frozenset(variants), interpreters={p.version: p for p in pythons},
                             output_dir=output_dir, cache_dir=default_cache_dir(), sbom_dir=output_dir / "sbom", build_jobs=1, run_id=run_id,
                             source_date_epoch=int(os.environ.get("SOURCE_DATE_EPOCH", "315532800")))
    write_stack_sbom(graph, settings, pythons, RecordStore(output_dir / ".state"))
    atomic_write_text(output_dir / "graph.json", json.dumps({**graph.to_dict(), "run": run_id}, indent=1) + "\n")
    print(f"{variant.label}: merged {len(names)} wheels into {output_dir / 'simple'}")
    return 0
