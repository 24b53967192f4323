"""Questions about a build graph a person asks: why is PKG in my tree, what does the graph look like, and how do
two variant-versions differ package by package. Read from the graph a plan or build wrote (plan.json), and for
variants from their constraints and recipes, never from the network."""

from __future__ import annotations

import argparse
import html
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from packaging.utils import canonicalize_name
from packaging.version import Version

from wheelwright.config.constraints import load_constraints
from wheelwright.config.project import Project
from wheelwright.config.variants import Variant, VariantSpec, select_variant
from wheelwright.errors import WheelwrightError
from wheelwright.outputs.htmlreport import EDGE_COLOURS, _graph
from wheelwright.plan.graph import ROOT, BuildGraph, Edge
from wheelwright.recipes.book import RecipeBook
from wheelwright.suggest import did_you_mean


def add_parsers(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    why = sub.add_parser("why", help="every path from a top-level requirement to PKG, with edge kinds and requirement texts")
    why.add_argument("package", metavar="PKG")
    graph = sub.add_parser("graph", help="the build graph as dot, svg or mermaid")
    graph.add_argument("--format", choices=("dot", "svg", "mermaid"), default="dot")
    for parser in (why, graph):
        parser.add_argument("--variant", default="cpu")
        parser.add_argument("--accelerator-version", metavar="V")
        parser.add_argument("--output-dir", type=Path, help="where the build wrote graph.json or the plan plan.json (default: build/<variant>)")
    diff = sub.add_parser("diff-variants", help="per package: the version and build settings that differ between two variant-versions")
    diff.add_argument("first", metavar="A", help="a variant label, e.g. cuda-13.0")
    diff.add_argument("second", metavar="B", help="e.g. rocm-7.1")


def run(args: argparse.Namespace, project: Project, variants: dict[str, VariantSpec]) -> int:
    if args.command == "diff-variants":
        print("\n".join(diff_variants(project, variants, args.first, args.second)))
        return 0
    variant = select_variant(variants, args.variant, args.accelerator_version)
    graph = _graph_of((args.output_dir or project.output_dir(variant.label)).resolve())
    if args.command == "why":
        paths = list(why(graph, args.package))
        names = {spec.name for spec in graph.nodes.values()}
        if not paths:
            raise WheelwrightError(f"{args.package} is not in the {variant.label} graph{did_you_mean(canonicalize_name(args.package), names)}")
        for path in paths:
            print(" -> ".join(["<toplevel>", *(f"{e.child} [{e.kind}: {e.requirement}]" for e in path)]))
        return 0
    print(render_graph(graph, args.format))
    return 0


def _graph_of(output: Path) -> BuildGraph:
    """The graph the last build ended with (graph.json: what building learnt), else the last plan's (plan.json)."""
    for name in ("graph.json", "plan.json"):
        if (output / name).is_file():
            return BuildGraph.from_json((output / name).read_text())
    raise WheelwrightError(f"{output}: no graph.json or plan.json; run `wheelwright plan` or `build` for the variant first")


def why(graph: BuildGraph, package: str, limit: int = 50) -> Iterator[tuple[Edge, ...]]:
    """Every simple path of edges from the top level to a node of ``package`` (the first ``limit``)."""
    wanted = canonicalize_name(package)
    children: dict[str, list[Edge]] = {}
    for edge in sorted(graph.edges, key=lambda e: (e.parent, e.child, e.kind)):
        children.setdefault(edge.parent, []).append(edge)
    found = 0
    stack: list[tuple[str, tuple[Edge, ...]]] = [(ROOT, ())]
    while stack and found < limit:
        node, path = stack.pop()
        spec = graph.nodes.get(node)
        if spec is not None and canonicalize_name(spec.name) == wanted:
            found += 1
            yield path
            continue
        seen = {e.child for e in path}
        for edge in reversed(children.get(node, [])):
            if edge.child not in seen:
                stack.append((edge.child, (*path, edge)))


def render_graph(graph: BuildGraph, fmt: str) -> str:
    edges = sorted(graph.edges, key=lambda e: (e.parent, e.child, e.kind))
    if fmt == "mermaid":
        ids = {n: f"n{i}" for i, n in enumerate(sorted({ROOT, *graph.nodes}))}
        lines = ["graph TD", *(f'  {ids[n]}["{n}"]' for n in sorted(ids))]
        lines += [f"  {ids[e.parent]} -->|{e.kind}| {ids[e.child]}" for e in edges if e.parent in ids and e.child in ids]
        return "\n".join(lines)
    if fmt == "svg":
        nodes = {n: {"id": n} for n in graph.nodes}
        picture = _graph(nodes, [{"parent": e.parent, "child": e.child, "kind": e.kind, "requirement": e.requirement} for e in edges])
        svg = picture[picture.index("<svg"):]
        return svg.replace("<svg ", "<svg xmlns='http://www.w3.org/2000/svg' ", 1)
    lines = ["digraph wheelwright {", "  rankdir=BT;", "  node [shape=box, fontsize=10];"]
    lines += [f'  "{e.parent}" -> "{e.child}" [label="{e.kind}", color="{EDGE_COLOURS.get(e.kind, "#999")}", '
              f'tooltip="{html.escape(e.requirement)}"];' for e in edges]
    return "\n".join([*lines, "}"])


@dataclass(frozen=True)
class _Row:
    package: str
    first: str
    second: str


def diff_variants(project: Project, variants: dict[str, VariantSpec], first: str, second: str) -> list[str]:
    """Pinned version, then each recipe setting, that differs between two variant-versions (labels like rocm-7.1)."""
    a, b = _by_label(variants, first), _by_label(variants, second)
    pins = {v.label: load_constraints([project.constraints_dir / c for c in v.constraints]).exact_pins() for v in (a, b)}
    book = RecipeBook(project.recipes_dir, frozenset(variants), lambda v: pins.get(v.label, {}))
    lines = [f"{'package':<24} {a.label:<40} {b.label}"]
    for name in sorted(set(pins[a.label]) | set(pins[b.label])):
        va, vb = pins[a.label].get(name, "-"), pins[b.label].get(name, "-")
        rows = [_Row("version", va, vb)] if va != vb else []
        rows += _setting_rows(book, name, a, va, b, vb)
        for row in rows:
            label = name if row is rows[0] else ""
            lines.append(f"{label:<24} {(row.package + ' ' if row.package != 'version' else '') + row.first:<40} "
                         f"{(row.package + ' ' if row.package != 'version' else '') + row.second}")
    return lines


def _setting_rows(book: RecipeBook, name: str, a: Variant, va: str, b: Variant, vb: str) -> list[_Row]:
    def settings(variant: Variant, version: str) -> dict[str, str]:
        if version == "-" or not book.applies(name, variant.name):
            return {}
        if variant.takes_prebuilt(name):
            return {"(built)": "no: a prebuilt vendor wheel"}
        try:
            decisions = book.decisions(name, Version(version), variant, "3.11")
        except WheelwrightError as exc:
            return {"(recipe)": str(exc)[:60]}
        return {k: v for k, v in decisions.env if k not in ("MAX_JOBS", "CMAKE_BUILD_PARALLEL_LEVEL")}  # this machine's, not the variant's

    sa, sb = settings(a, va), settings(b, vb)
    return [_Row(f"{key}=", sa.get(key, "(unset)"), sb.get(key, "(unset)")) for key in sorted(set(sa) | set(sb)) if sa.get(key) != sb.get(key)]


def _by_label(variants: dict[str, VariantSpec], label: str) -> Variant:
    family, _, version = label.partition("-")
    return select_variant(variants, family, version or None)
