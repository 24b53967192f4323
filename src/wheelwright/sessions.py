"""The nox sessions, as data: the noxfile only turns these into functions."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from wheelwright.config.project import Project
from wheelwright.recipes.api import recipe_names
from wheelwright.recipes.book import RecipeBook
from wheelwright.config.variants import load_variants, select_variant


@dataclass(frozen=True)
class SessionSpec:
    name: str
    doc: str
    argv: tuple[str, ...]  # arguments to `python -m wheelwright`, before the session's posargs
    tags: tuple[str, ...]  # `nox -t TAG`: the kind (build, plan, verify, licenses, lock, lint, matrix), the variant, the package


def engine_sessions(root: Path) -> list[SessionSpec]:
    """build-<variant> for each variant, and build-<variant>-<pkg> for each recipe x variant it applies to."""
    project = Project.at(root)
    variants = load_variants(project.variants_file)
    book = RecipeBook(project.recipes_dir, frozenset(variants))  # a recipe naming an unknown variant is refused here too
    specs: list[SessionSpec] = []
    for variant in (select_variant(variants, name) for name in variants):
        stack = ", ".join(variant.stack) or "nothing by default"
        specs.append(SessionSpec(
            f"build-{variant.name}",
            f"Build REQs (after --) for {variant.description}; with none, the default stack ({stack}).",
            ("build", "--variant", variant.name),
            ("build", variant.name),
        ))
    for variant in (select_variant(variants, name) for name in variants):
        specs.append(SessionSpec(
            f"plan-{variant.name}",
            f"Print the ordered build plan of REQs (after --) for {variant.description} without building.",
            ("plan", "--variant", variant.name),
            ("plan", variant.name),
        ))
    for package in recipe_names(project.recipes_dir):
        for variant in (select_variant(variants, name) for name in variants if book.applies(package, name)):
            specs.append(SessionSpec(
                f"build-{variant.name}-{package}",
                f"Build {package} and its whole tree for {variant.description} (recipes/{package.replace('-', '_')}.py).",
                ("build", "--variant", variant.name, package),
                ("build", variant.name, package),
            ))
            specs.append(SessionSpec(
                f"plan-{variant.name}-{package}",
                f"Show what building {package} for {variant.description} would do: versions, sources, env, toolchain.",
                ("plan", "--variant", variant.name, package),
                ("plan", variant.name, package),
            ))
    specs.append(SessionSpec("lint-constraints", "Check every constraints file (or -- FILE...) against the index and published metadata.",
                             ("lint-constraints",), ("lint",)))
    specs.append(SessionSpec("matrix", "Every pinned package x every variant-version, differences marked (-- --json for JSON).",
                             ("matrix",), ("matrix",)))
    for name in variants:
        specs.append(SessionSpec(
            f"check-reproducible-{name}",
            f"Rebuild REQs (after --; default: the stack) of {name} perturbed (build path, umask, TZ, locale, HOME, user, "
            "hostname, jobs) and compare byte for byte with the published wheels; --sample N rebuilds N nodes.",
            ("check-reproducible", "--variant", name),
            ("check", name),
        ))
        specs.append(SessionSpec(
            f"report-{name}",
            f"Write build/{name}/report.html (packages, Gantt timeline with the critical path, graph, failures) and "
            "timeline.trace.json (Perfetto) from the last run.",
            ("report", "--variant", name),
            ("report", name),
        ))
        specs.append(SessionSpec(
            f"verify-{name}",
            f"Re-check every wheel in {name}'s index for its GPU kernels: wheel | module | archs present | archs required | ok.",
            ("verify", "--variant", name),
            ("verify", name),
        ))
        specs.append(SessionSpec(
            f"licenses-{name}",
            f"Licence report of {name}'s built wheels (SPDX per package; unknown and grafted proprietary called out; -- --strict).",
            ("licenses", "--variant", name),
            ("licenses", name),
        ))
        specs.append(SessionSpec(
            f"ci-generate-{name}",
            f"Write .github/workflows/wheelwright-{name}.yml from the plan of REQs (after --; default: the stack): a job per package (-- --check, --dry-run).",
            ("ci", "generate", "--variant", name),
            ("ci", name),
        ))
        specs.append(SessionSpec(
            f"lock-{name}",
            f"pip-compile {name}'s top-level requirements into constraints/<{name}-version>.lock.txt with hashes.",
            ("lock", "--variant", name),
            ("lock", name),
        ))
    return specs
