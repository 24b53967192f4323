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
from wheelwright.plan.graph import BUILD_KINDS, Edge, NodeSpec


def unify_build_environments(nodes: Mapping[str, NodeSpec], edges: set[Edge]) -> bool:
    """Every buildable node's build environment, one version per project. True if an edge moved."""
    installs, builds = _by_parent(edges)  # only a node's own build edges move here: install edges hold still
    changed = False
    for node in sorted(n for n, spec in nodes.items() if spec.buildable and n in builds):
        changed = _unify(node, builds[node], nodes, edges, installs) or changed
    return changed


def unify_build_environment(node: str, nodes: Mapping[str, NodeSpec], edges: set[Edge]) -> bool:
    """Re-point ``node``'s own build edges so that its build environment holds one version per project.
    Edges of other parents are shared by every environment holding them and stay as they are. True if it changed."""
    installs, builds = _by_parent(edges)
    return _unify(node, builds.get(node, []), nodes, edges, installs)


def _by_parent(edges: set[Edge]) -> tuple[dict[str, list[Edge]], dict[str, list[Edge]]]:
    """Install edges and build edges, each by parent."""
    installs: dict[str, list[Edge]] = {}
    builds: dict[str, list[Edge]] = {}
    for edge in edges:
        if edge.kind == "install":
            installs.setdefault(edge.parent, []).append(edge)
        elif edge.kind in BUILD_KINDS:
            builds.setdefault(edge.parent, []).append(edge)
    return installs, builds


def _unify(node: str, own: list[Edge], nodes: Mapping[str, NodeSpec], edges: set[Edge], installs: Mapping[str, list[Edge]]) -> bool:
    closure = _install_closure({e.child for e in own}, installs) - {node}
    by_name: dict[str, list[str]] = {}
    for member in sorted(closure):
        by_name.setdefault(nodes[member].name, []).append(member)
    changed = False
    for name, versions in sorted(by_name.items()):
        if len(versions) < 2:
            continue
        mine = [e for e in own if e.child in versions]
        shared = [e for parent in sorted(closure) for e in installs.get(parent, ()) if e.child in versions]
        chosen = _fitting(name, versions, mine + shared, nodes, node)
        for edge in mine:
            if edge.child != chosen:
                edges.discard(edge)
                edges.add(Edge(edge.parent, chosen, edge.kind, edge.requirement))
                changed = True
    return changed


def _install_closure(roots: set[str], installs: Mapping[str, list[Edge]]) -> set[str]:
    """The roots and what they need at run time (BuildGraph.install_closure, without building a graph per node)."""
    seen, stack = set(roots), list(roots)
    while stack:
        for edge in installs.get(stack.pop(), ()):
            if edge.child not in seen:
                seen.add(edge.child)
                stack.append(edge.child)
    return seen


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
