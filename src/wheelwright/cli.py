"""``wheelwright`` / ``python -m wheelwright``: every error ends as one line and its class's exit code (errors.py)."""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import time
from pathlib import Path

from packaging.utils import canonicalize_name

from wheelwright.errors import EXIT_BUILD_FAILED, EXIT_CODES_HELP, EXIT_TOOLCHAIN, EXIT_VERIFICATION, BuildError, WheelwrightError
from wheelwright.remote.index import PYPI_SIMPLE, default_cache_dir
from wheelwright.run.outputlock import output_lock
from wheelwright.outputs.licensereport import license_report
from wheelwright.tools.lint import lint_constraints
from wheelwright.tools.lockfile import compile_lock
from wheelwright.outputs.matrix import build_matrix
from wheelwright.sandbox.isolation import network_policy
from wheelwright.config.project import Project
from wheelwright.stages.repair import AuditwheelRepairer
from wheelwright.outputs.report import BuildFailures, failure_message, summary, tail, write_outputs
from wheelwright.fsutil import atomic_write_text
from wheelwright.app import open_index
from wheelwright.recipes.api import declared_renames, recipe_names
from wheelwright.config.renames import load_renames
from wheelwright.plan.graph import BuildGraph
from wheelwright.run.events import Note, TextReporter
from wheelwright.remote.sources import UnpackLimits
from wheelwright.ci import commands as ci_commands
from wheelwright.tools import graphquery, recipecheck, reprocheck
from wheelwright.tools.helptexts import fill_help, installed_version, project_root
from wheelwright.config.toolchain import check_toolchain
from wheelwright.config.variants import Variant, VariantSpec, every_variant, load_variants, narrowed, select_variant


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"--jobs {text!r}: not a whole number") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"--jobs {text!r}: must be at least 1")
    return value


def _size(text: str) -> int:
    """``500M``, ``40G``, ``1048576``: a byte count for the unpack limit."""
    units = {"K": 1 << 10, "M": 1 << 20, "G": 1 << 30, "T": 1 << 40}
    try:
        value = int(text[:-1]) * units[text[-1].upper()] if text[-1:].upper() in units else int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"--max-unpack-size {text!r}: not a size like 500M or 40G") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"--max-unpack-size {text!r}: must be positive")
    return value


def _input_files(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("-r", "--requirement", action="append", type=Path, default=[], metavar="FILE",
                        help="requirements file, read as pip reads it (nested -r/-c, comments, markers, direct references)")
    parser.add_argument("-c", "--constraint", action="append", type=Path, default=[], metavar="FILE",
                        help="constraints file, applied on top of the variant's")


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="wheelwright", description=__doc__, epilog=EXIT_CODES_HELP,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--project", type=Path, default=Path("."), help="the monorepo root (holds variants.toml)")
    parser.add_argument("--version", action="version", version=f"wheelwright {installed_version()}")
    sub = parser.add_subparsers(dest="command", required=True)

    build = sub.add_parser("build", help="build requirements and their whole tree from source")
    build.add_argument("requirements", nargs="*", metavar="REQ", help="PyPI requirements (default: the variant's stack)")
    build.add_argument("--variant", default="cpu")
    _input_files(build)
    build.add_argument("--accelerator-version", metavar="V", help="a row of the variant's matrix (default: its default_version)")
    build.add_argument("--archs", metavar="ARCH[,ARCH]", help="narrow the variant's GPU arch list for this run (e.g. sm_90); recorded, and verified against")
    build.add_argument("--jobs", "-j", type=_positive_int, default=os.cpu_count() or 1)
    build.add_argument("--only", metavar="PKG", help="rebuild just PKG, taking everything else from the index")
    build.add_argument("--build-jobs", type=_positive_int, metavar="K",
                       help="each build's own compile parallelism (MAX_JOBS, CMAKE_BUILD_PARALLEL_LEVEL, make/ninja -j); default cores // --jobs")
    build.add_argument("--keep-going", action="store_true", help="build everything that does not depend on a failure, then report every failure")
    build.add_argument("--plan", type=Path, metavar="FILE", help="execute this plan file (from `wheelwright plan`) instead of planning")
    build.add_argument("--nodes", metavar="NAME==VER[,...]", help="build only these nodes of the plan; take the rest from --from-index")
    build.add_argument("--from-index", metavar="DIR_OR_URL", help="where a slice takes the wheels it does not build (sha256 checked against the plan)")
    build.add_argument("--python", default="3.11", metavar="X.Y[,X.Y]", help="target interpreter(s) (default 3.11); several share one plan")
    build.add_argument("--output-dir", type=Path, help="default: build/<variant>")
    build.add_argument("--cache-dir", type=Path, help="downloads and uv cache (default: ~/.cache/wheelwright)")
    build.add_argument("--sbom-dir", type=Path, help="default: <output-dir>/sbom, beside the index it describes")
    build.add_argument("--index-url", default=PYPI_SIMPLE)
    build.add_argument("--refresh", action="store_true", help="re-read the index instead of using cached pages")
    build.add_argument("--offline", action="store_true", help="no network at all: index pages, metadata and sources from the local cache only")
    build.add_argument("--wait", type=float, default=0.0, metavar="S", help="wait up to S seconds for another run's lock")
    build.add_argument("--max-unpack-files", type=_positive_int, default=UnpackLimits.max_files, metavar="N",
                       help=f"refuse an sdist of more members (default {UnpackLimits.max_files})")
    build.add_argument("--max-unpack-size", type=_size, default=UnpackLimits.max_bytes, metavar="SIZE",
                       help="refuse an sdist that unpacks to more, e.g. 500M, 40G (default 32G)")
    build.add_argument("--allow-network", action="store_true", help="build without network isolation (recorded in report.json)")

    plan = sub.add_parser("plan", help="print the ordered build plan for a variant without building (and write it as JSON)")
    plan.add_argument("requirements", nargs="*", metavar="REQ", help="default: the variant's stack")
    plan.add_argument("--variant", default="cpu")
    _input_files(plan)
    plan.add_argument("--accelerator-version", metavar="V")
    plan.add_argument("--archs", metavar="ARCH[,ARCH]", help="narrow the variant's GPU arch list")
    plan.add_argument("--python", default="3.11", metavar="X.Y[,X.Y]")
    plan.add_argument("--index-url", default=PYPI_SIMPLE)
    plan.add_argument("--output-dir", type=Path, help="where build-plan.json goes (default: build/<variant>)")
    plan.add_argument("--json", action="store_true", help="print the JSON instead of the text")
    plan.add_argument("--offline", action="store_true", help="plan from the local cache only")
    plan.add_argument("--cache-dir", type=Path, help="downloads (default: ~/.cache/wheelwright); share it with the build")
    sub.add_parser("recipes", help="list packages that have a recipe module")
    sub.add_parser("variants", help="list every variant and accelerator version")
    ci_commands.add_parser(sub, _input_files)
    recipecheck.add_parser(sub)
    reprocheck.add_parser(sub)
    graphquery.add_parsers(sub)
    lint = sub.add_parser("lint-constraints", help="check constraint files against the index and published metadata")
    lint.add_argument("files", nargs="*", type=Path, metavar="FILE", help="default: every constraints/*.txt")
    lint.add_argument("--index-url", default=PYPI_SIMPLE)
    lint.add_argument("--python", default="3.11", metavar="X.Y", help="interpreter the markers are evaluated for")
    lint.add_argument("--refresh", action="store_true")
    matrix = sub.add_parser("matrix", help="every pinned package x every variant-version, differences marked")
    matrix.add_argument("--json", action="store_true")
    lock = sub.add_parser("lock", help="pip-compile a variant's top-level requirements into <variant>.lock.txt")
    lock.add_argument("requirements", nargs="*", metavar="REQ", help="default: the variant's stack")
    lock.add_argument("--variant", default="cpu")
    lock.add_argument("--accelerator-version", metavar="V")
    lock.add_argument("--index-url", default=PYPI_SIMPLE)
    licenses = sub.add_parser("licenses", help="licence report of a variant's built wheels (from their SBOMs)")
    licenses.add_argument("--variant", default="cpu")
    licenses.add_argument("--accelerator-version", metavar="V")
    licenses.add_argument("--output-dir", type=Path, help="the index to report on (default: build/<variant>); its index.json names every wheel's SBOM")
    licenses.add_argument("--strict", action="store_true", help="exit 1 on an unknown licence or a grafted proprietary library")
    report = sub.add_parser("report", help="write build/<variant>/report.html (and timeline.trace.json) from the last run's JSON")
    report.add_argument("--variant", default="cpu")
    report.add_argument("--accelerator-version", metavar="V")
    report.add_argument("--output-dir", type=Path, help="default: build/<variant>")
    inspect = sub.add_parser("inspect", help="which GPU code each ELF file of a wheel carries (no toolkit needed)")
    inspect.add_argument("wheels", nargs="+", type=Path, metavar="WHEEL")
    inspect.add_argument("--json", action="store_true")
    verify = sub.add_parser("verify", help="re-check every wheel in a variant's index for its GPU kernels")
    verify.add_argument("--variant", default="cpu")
    verify.add_argument("--accelerator-version", metavar="V")
    verify.add_argument("--archs", metavar="ARCH[,ARCH]", help="the narrowed arch list the wheels were built for")
    verify.add_argument("--output-dir", type=Path, help="default: build/<variant>")
    verify.add_argument("--plan", type=Path, metavar="FILE", help="the kernels each wheel must carry, from this plan (a CI slice) instead of graph.json")
    toolchain = sub.add_parser("toolchain", help="check this machine against a variant's toolchain")
    toolchain.add_argument("--variant", default="cpu")
    toolchain.add_argument("--accelerator-version", metavar="V")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = fill_help(_parser(), project_root(argv)).parse_args(argv)
    try:
        if args.command == "inspect":  # reads only the wheels named: no project, from any directory
            return _inspect(args)
        project = Project.at(args.project)
        if args.command == "recipes":
            print("\n".join(recipe_names(project.recipes_dir)))
            return 0
        variants = load_variants(project.variants_file)
        if args.command == "variants":
            for variant in every_variant(variants):
                print(f"{variant.label}\t{variant.description}\tarchs={';'.join(variant.archs) or '-'}\tconstraints={','.join(variant.constraints)}")
            return 0
        if args.command == "plan":
            return _plan(args, project, variants)
        if args.command == "ci":
            return ci_commands.run(args, project, variants)
        if args.command == "recipe":
            return recipecheck.run(args, project, variants)
        if args.command == "report":
            return _report(args, project, select_variant(variants, args.variant, args.accelerator_version))
        if args.command in ("why", "graph", "diff-variants"):
            return graphquery.run(args, project, variants)
        if args.command == "check-reproducible":
            return reprocheck.run(args, project, variants)
        if args.command == "lint-constraints":
            return _lint(args, project)
        if args.command == "matrix":
            table = build_matrix(every_variant(variants), project.constraints_dir)
            print(table.to_json() if args.json else table.render(highlight=sys.stdout.isatty()))
            return 0
        if args.command == "lock":
            return _lock(args, project, select_variant(variants, args.variant, args.accelerator_version))
        if args.command == "licenses":
            variant = select_variant(variants, args.variant, args.accelerator_version)
            report = license_report((args.output_dir or project.output_dir(variant.label)).resolve())
            print(report.render())
            return 1 if args.strict and report.problems else 0
        if args.command == "verify":
            return _verify(args, project, narrowed(select_variant(variants, args.variant, args.accelerator_version), args.archs))
        if args.command == "toolchain":
            return _toolchain(select_variant(variants, args.variant, args.accelerator_version))
        return _build(args, project, variants)
    except BuildFailures as exc:
        for failure in exc.failures:
            print(failure_message(failure.message, failure.log, tail(failure.log)), file=sys.stderr)
        if len(exc.failures) > 1:
            print(f"error: {len(exc.failures)} packages failed: {', '.join(f.node for f in exc.failures)}", file=sys.stderr)
        codes = {f.exit_code for f in exc.failures}
        return codes.pop() if len(codes) == 1 else EXIT_BUILD_FAILED  # the class they share, e.g. all verification failures
    except BuildError as exc:
        print(failure_message(str(exc), exc.log_path, tail(exc.log_path)), file=sys.stderr)
        return exc.exit_code
    except WheelwrightError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return exc.exit_code
    except OSError as exc:  # a full or read-only disk outside any one package's build
        print(f"error: {exc.filename or 'wheelwright'}: {exc.strerror or exc}; published wheels are intact, re-run to resume", file=sys.stderr)
        return EXIT_BUILD_FAILED
    except KeyboardInterrupt:
        print("error: interrupted; published wheels are intact, re-run to resume", file=sys.stderr)
        return 130


def _plan(args: argparse.Namespace, project: Project, variants: dict[str, VariantSpec]) -> int:
    from wheelwright.app import interpreters, make_planner, read_requested
    from wheelwright.outputs.planview import make_plan_view

    variant = narrowed(select_variant(variants, args.variant, args.accelerator_version), args.archs)
    inputs = read_requested(args.requirements, variant, requirement_files=args.requirement, constraint_files=args.constraint)
    pythons = interpreters(args.python)
    output_dir = (args.output_dir or project.output_dir(_label(variant, args.archs))).resolve()
    reporter = TextReporter(sys.stderr)
    planning = make_planner(project, variant, frozenset(variants), inputs, pythons=pythons, index_url=args.index_url,
                            cache_dir=(args.cache_dir or default_cache_dir()).resolve(), output_dir=output_dir, reporter=reporter,
                            offline=args.offline, permissive=True)
    graph = planning.planner.plan()
    view = make_plan_view(graph, variant=variant, wheel_only=frozenset(planning.source.wheel_only))
    atomic_write_text(output_dir / "plan.json", graph.to_json() + "\n")
    target = output_dir / "build-plan.json"
    atomic_write_text(target, view.to_json() + "\n")
    print(view.to_json() if args.json else f"{view.render()}\nwritten: {output_dir / 'plan.json'} (the graph a build executes) and {target}")
    return 0


def _label(variant: Variant, archs: str | None) -> str:
    """A narrowed run (--archs) gets an output directory of its own: its wheels are not the variant's full-arch ones."""
    return f"{variant.label}-{'-'.join(variant.archs)}" if archs else variant.label


def _inspect(args: argparse.Namespace) -> int:
    from wheelwright.stages.payload import inspect_wheel, render

    for wheel in args.wheels:
        if not wheel.is_file():
            raise WheelwrightError(f"{wheel}: no such wheel")
        payload = inspect_wheel(wheel)
        if payload.error:
            raise WheelwrightError(f"{wheel}: {payload.error}")
        print(json.dumps(payload.to_dict(), indent=1) if args.json else f"{wheel.name}\n{render(payload)}")
    return 0


def _verify(args: argparse.Namespace, project: Project, variant: Variant) -> int:
    """Kernels each wheel must carry are the recipe decisions the build graph recorded: the same fact the build checked."""
    from wheelwright.stages.verify import render, verify_index

    output = args.output_dir or project.output_dir(_label(variant, args.archs))
    simple, graph_file = output / "simple", (args.plan or output / "graph.json")
    if not simple.is_dir() or not graph_file.is_file():
        raise WheelwrightError(f"{output}: no index and graph; build the {variant.label} variant first")
    graph = BuildGraph.from_json(graph_file.read_text())
    declared = {spec.name: dict(spec.recipe.kernels) for spec in graph.nodes.values()}
    verdicts = verify_index(simple, variant, declared)
    print(render(verdicts))
    return 0 if all(v.ok for v in verdicts) else EXIT_VERIFICATION


def _lint(args: argparse.Namespace, project: Project) -> int:
    files = [f.resolve() for f in args.files] or sorted(project.constraints_dir.glob("*.txt"))
    for file in files:
        if not file.is_file():
            raise WheelwrightError(f"{file}: constraints file not found")
    cache_dir = default_cache_dir()
    report = lint_constraints(
        files,
        index=open_index(args.index_url, cache_dir / "index", refresh=args.refresh),
        renames=load_renames(project.root / "renames.toml", declared_renames(project.recipes_dir)),
        recipes_dir=project.recipes_dir,
        python_version=args.python,
        sdist_cache=cache_dir / "sdists",
    )
    print(report.render())
    return 1 if report.errors else 0


def _lock(args: argparse.Namespace, project: Project, variant: Variant) -> int:
    requirements = args.requirements or list(variant.stack)
    if not requirements:
        raise WheelwrightError(f"variant {variant.label!r} has no default stack; name requirements to lock")
    result = compile_lock(
        requirements,
        constraint_files=[project.constraints_dir / c for c in variant.constraints],
        output=project.constraints_dir / f"{variant.label}.lock.txt",
        index_url=args.index_url,
        header=f"nox -s lock-{variant.name}" + (f" -- --accelerator-version {variant.version}" if variant.version else ""),
    )
    print(f"{variant.label}: {len(result.pins)} pins with hashes -> {result.output} ({result.seconds:.1f}s)")
    return 0


def _report(args: argparse.Namespace, project: Project, variant: Variant) -> int:
    from wheelwright.outputs.htmlreport import write_html_report

    output = (args.output_dir or project.output_dir(variant.label)).resolve()
    if not (output / "report.json").is_file():
        raise WheelwrightError(f"{output}: no report.json; build the variant first")
    print(f"written: {write_html_report(output)} and {output / 'timeline.trace.json'}")
    return 0


def _toolchain(variant: Variant) -> int:
    statuses = check_toolchain(variant)
    for status in statuses:
        print(f"{'ok ' if status.ok else 'MISSING' if status.found is None else 'WRONG'}\t{status.describe()}")
    if not statuses:
        print(f"{variant.label}: no toolchain requirements")
    if any(not s.ok for s in statuses):
        print(f"builder image for {variant.label}: {variant.builder_image or '(none declared)'}")
        return EXIT_TOOLCHAIN
    return 0


def _build(args: argparse.Namespace, project: Project, variants: dict[str, VariantSpec]) -> int:
    from wheelwright.app import build_jobs, interpreters, make_planner, read_requested, toolchain_gate
    from wheelwright.run.executor import Executor
    from wheelwright.outputs.buildsummary import end_of_build
    from wheelwright.run.progress import expected_durations, progress_reporter
    from wheelwright.run.takes import DirectoryWheels, wheel_source
    from wheelwright.run.worker import Stages, StageSettings
    from wheelwright.sandbox.buildenv import UvEnvironments

    variant = narrowed(select_variant(variants, args.variant, args.accelerator_version), args.archs)
    if args.nodes and not args.plan:
        raise WheelwrightError("--nodes needs --plan FILE: a slice is a slice of a plan")
    plan_file = BuildGraph.from_json(_read(args.plan)) if args.plan else None
    if plan_file is not None and plan_file.variant != variant.label:
        raise WheelwrightError(f"{args.plan}: a plan for {plan_file.variant}, not {variant.label} (pass --variant)")
    if plan_file is not None and (args.requirements or args.requirement or args.constraint):
        raise WheelwrightError(f"{args.plan}: a plan file says what to build; drop the requirements, -r and -c")
    texts = list(plan_file.requested) if plan_file else (args.requirements or ([args.only] if args.only and not args.requirement else []))
    inputs = read_requested(texts, variant, requirement_files=[] if plan_file else args.requirement,
                            constraint_files=[] if plan_file else args.constraint)
    cache_dir = (args.cache_dir or default_cache_dir()).resolve()
    output_dir = (args.output_dir or project.output_dir(_label(variant, args.archs))).resolve()
    pythons = interpreters(",".join(plan_file.pythons) if plan_file else args.python)
    jobs_per_build = build_jobs(args.jobs, args.build_jobs)
    sde = int(os.environ.get("SOURCE_DATE_EPOCH", "315532800"))
    run_id = f"{time.strftime('%Y%m%dT%H%M%SZ', time.gmtime())}-{os.getpid()}"
    limits = UnpackLimits(args.max_unpack_files, args.max_unpack_size)
    reporter = TextReporter(sys.stderr)
    planning = make_planner(project, variant, frozenset(variants), inputs, pythons=pythons, index_url=args.index_url,
                            cache_dir=cache_dir, output_dir=output_dir, reporter=reporter, refresh=args.refresh, offline=args.offline,
                            source_date_epoch=sde, unpack_limits=limits, jobs_per_build=jobs_per_build)
    network = network_policy(args.allow_network)
    with output_lock(output_dir, args.wait):
        graph = plan_file or planning.planner.plan()
        only, forced = _slice(args, graph)
        tool_env = toolchain_gate(graph, variant, sorted(only) if only is not None else None)
        for path in (output_dir / "simple", output_dir / "logs", output_dir / ".state"):
            path.mkdir(parents=True, exist_ok=True)
        shutil.rmtree(output_dir / "work", ignore_errors=True)  # a failed run's leftovers, kept until now for debugging
        if plan_file is None and only is None:
            atomic_write_text(output_dir / "plan.json", graph.to_json() + "\n")
        settings = StageSettings(project=project, variant=variant, variant_names=frozenset(variants),
                                 interpreters={p.version: p for p in pythons}, output_dir=output_dir, cache_dir=cache_dir,
                                 sbom_dir=(args.sbom_dir.resolve() if args.sbom_dir else output_dir / "sbom"), run_id=run_id,
                                 build_jobs=jobs_per_build, source_date_epoch=sde, network=network, offline=args.offline,
                                 unpack_limits=limits, constraint_files=tuple(planning.constraints.files), toolchain_env=tool_env)
        stages = Stages(settings, book=planning.book, repairer=AuditwheelRepairer.for_variant(variant, source_date_epoch=sde),
                        environments=UvEnvironments(cache_dir / "uv"), renames=planning.renames)
        stages.local.remove_partial_files()  # a killed publish leaves a hidden temp file; the index never listed it
        for change in stages.local.reconcile(variant.label):
            reporter.report(Note(f"index manifest: {change}"))
        progress = progress_reporter(sys.stderr, total=len(graph.nodes) if only is None else len(only), expected=expected_durations(output_dir))
        executor = Executor(stages, progress, planner=planning.planner, jobs=args.jobs, keep_going=args.keep_going, only=only,
                            wheels=wheel_source(args.from_index) if args.from_index else (DirectoryWheels(output_dir / "simple") if only is not None else None),
                            forced=forced)
        try:
            result = executor.run(graph)
        finally:
            progress.close()
        planning.planner.check_extras(result.graph, {o.node: output_dir / "simple" / canonicalize_name(result.graph.nodes[o.node].name) / o.wheel
                                                     for o in result.outcomes if o.node in result.graph.nodes and o.wheel})
        if result.failures:
            write_outputs(result, settings, network=network, full=False, python=pythons, failed=True)
            raise BuildFailures(result.failures)
        rebuilt = result.graph.generation > 0 or any(o.status == "built" for o in result.outcomes)
        final = planning.planner.plan() if rebuilt and only is None and plan_file is None else result.graph  # keys of what was just built
        write_outputs(result, settings, network=network, full=only is None, python=pythons, graph=final)
    print(summary(result, settings))
    print(end_of_build(output_dir, list(graph.requested)))
    return 0


def _read(path: Path) -> str:
    try:
        return path.read_text()
    except OSError as exc:
        raise WheelwrightError(f"{path}: cannot read the plan: {exc.strerror or exc}") from None


def _slice(args: argparse.Namespace, graph: BuildGraph) -> tuple[frozenset[str] | None, frozenset[str]]:
    """--nodes / --only: which nodes this run builds; the rest come from an index."""
    if args.only:
        name = canonicalize_name(args.only)
        chosen = frozenset(n for n, s in graph.nodes.items() if s.name == name)
        return chosen, chosen
    if not args.nodes:
        return None, frozenset()
    picked: set[str] = set()
    for item in (i.strip() for i in args.nodes.split(",") if i.strip()):
        name, _, pinned = item.partition("==")
        version, _, python = pinned.partition("@")  # name==version@X.Y: one interpreter's node of a multi-python plan
        matches = [n for n, s in graph.nodes.items() if s.name == canonicalize_name(name) and (not version or s.version == version)
                   and (not python or s.python == python)]
        if not matches:
            raise WheelwrightError(f"--nodes {item!r}: not a node of {args.plan} (nodes look like name==version)")
        picked.update(matches)
    if not args.from_index and any(n not in picked for n in graph.nodes):
        raise WheelwrightError("--nodes needs --from-index DIR_OR_URL for the wheels the slice does not build")
    return frozenset(picked), frozenset()
