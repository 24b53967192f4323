"""What `plan` and `build` share, so they cannot disagree: one planner set-up, and `build` = plan, then execute."""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from wheelwright.config.constraints import Constraints, load_constraints
from wheelwright.config.inputs import Inputs, read_inputs
from wheelwright.config.interpreters import Interpreter, find_interpreter
from wheelwright.config.project import Project
from wheelwright.config.renames import Renames, load_renames
from wheelwright.config.variants import Variant
from wheelwright.errors import WheelwrightError
from wheelwright.plan.directrefs import read_direct
from wheelwright.plan.graph import BuildGraph
from wheelwright.plan.planner import Planner, PlanSettings
from wheelwright.plan.progress import PlanProgress
from wheelwright.plan.published import IndexMetadataSource, RecipeAwareSource
from wheelwright.plan.tags import target_tags
from wheelwright.recipes.api import declared_renames
from wheelwright.recipes.book import RecipeBook
from wheelwright.remote.index import SimpleJsonIndex
from wheelwright.remote.sources import UnpackLimits
from wheelwright.run.events import Note, Reporter


def open_index(url: str, cache_dir: Path, *, refresh: bool = False, offline: bool = False) -> SimpleJsonIndex:
    if refresh and offline:
        raise WheelwrightError("--refresh and --offline contradict each other: --offline never reads the index")
    return SimpleJsonIndex(url, cache_dir, ttl=0 if refresh else 3600, offline=offline)


def interpreters(text: str) -> tuple[Interpreter, ...]:
    """``--python 3.11,3.12``: each must be present; one plan covers them all."""
    versions = [v.strip() for v in text.split(",") if v.strip()]
    if not versions or len(set(versions)) != len(versions):
        raise WheelwrightError(f"--python {text!r}: name each interpreter once, like 3.11,3.12")
    return tuple(find_interpreter(v) for v in versions)


def build_jobs(jobs: int, explicit: int | None) -> int:
    """Each build's own compile parallelism: the cores shared among the concurrent builds, so N builds never start N x N compilers."""
    return explicit or max(1, (os.cpu_count() or 1) // jobs)


@dataclass(frozen=True)
class Planning:
    planner: Planner
    source: RecipeAwareSource
    book: RecipeBook
    renames: Renames
    constraints: Constraints
    index: SimpleJsonIndex


def read_requested(texts: Sequence[str], variant: Variant, *, requirement_files: Sequence[Path] = (),
                   constraint_files: Sequence[Path] = ()) -> Inputs:
    """What was asked for, as pip reads it; nothing at all means the variant's default stack."""
    inputs = read_inputs(texts, requirement_files, constraint_files)
    if not inputs.requested and not requirement_files:
        if not variant.stack:
            raise WheelwrightError(f"variant {variant.label!r} has no default stack; name requirements")
        inputs = Inputs(read_inputs(variant.stack).requested, inputs.constraint_files)
    return inputs


def make_planner(project: Project, variant: Variant, variant_names: frozenset[str], inputs: Inputs, *,
                 pythons: tuple[Interpreter, ...], index_url: str, cache_dir: Path, output_dir: Path, reporter: Reporter,
                 refresh: bool = False, offline: bool = False, permissive: bool = False, source_date_epoch: int = 315532800,
                 unpack_limits: UnpackLimits | None = None, jobs_per_build: int = 1) -> Planning:
    constraints = load_constraints([*(project.constraints_dir / c for c in variant.constraints), *inputs.constraint_files])
    requirements, direct = read_direct(inputs.requested, cache_dir, offline=offline)
    index = open_index(index_url, cache_dir / "index", refresh=refresh, offline=offline)
    renames = load_renames(project.root / "renames.toml", declared_renames(project.recipes_dir))
    prebuilt_index = (open_index(variant.prebuilt_index, cache_dir / "prebuilt-index", refresh=refresh, offline=offline)
                      if variant.prebuilt_index else None)
    base = IndexMetadataSource(index, cache_dir / "sdists", target_tags(pythons[0]), offline=offline)
    pins = constraints.exact_pins()
    book = RecipeBook(project.recipes_dir, variant_names, lambda _: pins)
    source = RecipeAwareSource(base, book, variant, constraints, pythons[0].version, prebuilt_index, permissive, direct)
    source.progress = PlanProgress(lambda text: reporter.report(Note(text)))
    settings = PlanSettings(project=project, variant=variant, variant_names=variant_names, constraints=constraints, interpreters=pythons,
                            cache_dir=cache_dir, state_dir=output_dir / ".state", source_date_epoch=source_date_epoch, offline=offline,
                            permissive=permissive, unpack_limits=unpack_limits or UnpackLimits(), build_jobs=jobs_per_build)
    planner = Planner(settings, requirements, index=index, source=source, renames=renames, book=book, prebuilt_index=prebuilt_index,
                      note=lambda text: reporter.report(Note(text)))
    return Planning(planner, source, book, renames, constraints, index)


def toolchain_gate(graph: BuildGraph, variant: Variant, nodes: Sequence[str] | None = None) -> dict[str, str]:
    """Before any build: if a node this run builds has recipe settings for the variant, its toolchain must be here.
    Returns what the tools say of themselves (CUDA_HOME) wherever they are here: a node the build reveals later
    gets them too."""
    from wheelwright.config.toolchain import check_toolchain, require_toolchain, toolchain_env

    statuses = check_toolchain(variant)  # once: each check runs the tool
    chosen = graph.nodes.values() if nodes is None else [graph.nodes[n] for n in nodes]
    if any(spec.recipe.variant_specific and spec.buildable for spec in chosen):
        require_toolchain(variant, statuses)
    return toolchain_env(variant) if all(status.ok for status in statuses) else {}
