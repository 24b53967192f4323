"""The build graph: ``name==version`` nodes and typed edges. It is what answers "why is X here?"."""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Literal

EdgeKind = Literal["toplevel", "install", "build-system", "build-backend"]
BUILD_KINDS: tuple[EdgeKind, ...] = ("build-system", "build-backend")
ROOT = "<toplevel>"


@dataclass(frozen=True)
class Edge:
    parent: str
    child: str
    kind: EdgeKind
    requirement: str


@dataclass
class NodeInfo:
    """Facts about one node, filled in as the build learns them."""

    id: str
    name: str
    version: str
    source_url: str | None = None
    source_sha256: str | None = None
    source_commit: str | None = None  # git sources: the commit built
    patches: list[str] = field(default_factory=list)
    former_names: list[str] = field(default_factory=list)  # renames: amd-aiter was aiter
    wheel: str | None = None
    wheel_sha256: str | None = None
    prebuilt: bool = False  # a vendor wheel taken as-is (the variant lists it), never built here


class Graph:
    def __init__(self) -> None:
        self.nodes: dict[str, NodeInfo] = {}
        self.edges: list[Edge] = []
        self._seen: set[Edge] = set()

    def add_node(self, info: NodeInfo) -> None:
        self.nodes.setdefault(info.id, info)

    def add_edge(self, edge: Edge) -> None:
        if edge not in self._seen:
            self._seen.add(edge)
            self.edges.append(edge)

    def children(self, parent: str, kinds: Iterable[EdgeKind]) -> list[str]:
        wanted = set(kinds)
        return [e.child for e in self.edges if e.parent == parent and e.kind in wanted]

    def install_closure(self, roots: Iterable[str]) -> set[str]:
        """The roots plus everything they need at run time."""
        seen: set[str] = set()
        stack = list(roots)
        while stack:
            node = stack.pop()
            if node not in seen:
                seen.add(node)
                stack.extend(self.children(node, ("install",)))
        return seen

    def build_needs(self, node: str) -> set[str]:
        """Everything that must be published before ``node`` can build: its build deps' install closures."""
        return self.install_closure(self.children(node, BUILD_KINDS))

    def build_order(self) -> list[str]:
        """A deterministic topological order in which every node follows what it needs to build."""
        needs = {n: self.build_needs(n) - {n} for n in self.nodes}
        order: list[str] = []
        done: set[str] = set()
        while len(order) < len(needs):
            ready = sorted(n for n in needs if n not in done and needs[n] <= done)
            if not ready:  # a cycle: callers report it before we get here; keep the rest stable
                ready = sorted(n for n in needs if n not in done)[:1]
            order.extend(ready)
            done.update(ready)
        return order

    def why(self, node: str) -> list[Edge]:
        return [e for e in self.edges if e.child == node]

    def to_json(self) -> str:
        return json.dumps(
            {
                "nodes": [vars(self.nodes[n]) for n in sorted(self.nodes)],
                "edges": [vars(e) for e in sorted(self.edges, key=lambda e: (e.parent, e.kind, e.child))],
            },
            indent=1,
        )


def find_cycle(waits: dict[str, set[str]]) -> list[str] | None:
    """A cycle in a waits-for relation, as a path that starts and ends on the same node."""
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        stack.append(node)
        for nxt in sorted(waits.get(node, ())):
            if state.get(nxt) == 1:
                return stack[stack.index(nxt):] + [nxt]
            if nxt not in state and (found := visit(nxt)):
                return found
        stack.pop()
        state[node] = 2
        return None

    for start in sorted(waits):
        if start not in state and (found := visit(start)):
            return found
    return None
