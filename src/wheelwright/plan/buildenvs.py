"""One version of each project in a build environment.

The walk picks each build requirement on its own: `setuptools>=40.8.0` (torch-scatter's default build-system) gets
the newest setuptools, while torch, in the same build environment, requires `setuptools<82`. Installed together
that is two setuptools, which no installer accepts. Here a node's build environment is made consistent: the node's
own build edges move to the version its tools' runtime requirements already chose, when every requirement on that
project in the environment allows it; when none does, the plan fails naming each requirement.
"""

from __future__ import annotations

from collections.abc import Mapping

from packaging.requirements import Requirement
from packaging.version import Version

from wheelwright.errors import ResolutionError
from wheelwright.plan.graph import BUILD_KINDS, BuildGraph, Edge, NodeSpec


def unify_build_environment(node: str, nodes: Mapping[str, NodeSpec], edges: set[Edge]) -> bool:
    """Re-point ``node``'s own build edges so that its build environment holds one version per project.
    Edges of other parents are shared by every environment holding them and stay as they are. True if it changed."""
    graph = BuildGraph(variant="", pythons=(), requested=(), nodes=dict(nodes), edges=tuple(edges))
    closure = graph.build_closure(node)
    by_name: dict[str, list[str]] = {}
    for member in sorted(closure):
        by_name.setdefault(nodes[member].name, []).append(member)
    changed = False
    for name, versions in sorted(by_name.items()):
        if len(versions) < 2:
            continue
        own = [e for e in edges if e.parent == node and e.kind in BUILD_KINDS and e.child in versions]
        shared = [e for e in edges if e.parent in closure and e.kind == "install" and e.child in versions]
        chosen = _fitting(name, versions, own + shared, nodes, node)
        for edge in own:
            if edge.child != chosen:
                edges.discard(edge)
                edges.add(Edge(edge.parent, chosen, edge.kind, edge.requirement))
                changed = True
    return changed


def _fitting(name: str, versions: list[str], wanting: list[Edge], nodes: Mapping[str, NodeSpec], node: str) -> str:
    """The version every requirement allows: the one the shared (runtime) edges chose, else the newest."""
    specifiers = [Requirement(e.requirement).specifier for e in wanting]
    fits = [v for v in versions if all(s.contains(Version(nodes[v].version), prereleases=True) for s in specifiers)]
    agreed = {e.child for e in wanting if e.kind == "install"}
    preferred = [v for v in fits if v in agreed] or fits
    if len(agreed) > 1 or not preferred:
        asks = "; ".join(sorted(f"{e.parent} wants {e.requirement!r} ({nodes[e.child].version})" for e in wanting))
        raise ResolutionError(f"{node}: its build environment needs one {name}, and no version fits every requirement: {asks}")
    return max(preferred, key=lambda v: Version(nodes[v].version))
