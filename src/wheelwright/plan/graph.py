"""The build graph: the one object `plan` writes and `build` executes.

Immutable and serialisable, so a slice of it can run in another process or on another machine.
Nodes are ``name==version`` (with ``@<python>`` when one plan targets several interpreters);
edges are typed the way Spack types dependencies: ``install`` (needed at run time),
``build-system`` (PEP 518 ``[build-system] requires``, plus a recipe's ``build_requires``) and
``build-backend`` (what ``get_requires_for_build_wheel`` answered). A node whose backend has not
answered yet is on the *frontier*; the executor asks the planner for the next graph version once
it has the answer, so the graph a build ends with was grown by the planner alone.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

from wheelwright.recipes.api import ExtraSource
from wheelwright.recipes.decisions import RecipeDecisions

EdgeKind = Literal["toplevel", "install", "build-system", "build-backend"]
BUILD_KINDS: tuple[EdgeKind, ...] = ("build-system", "build-backend")
ROOT = "<toplevel>"
FORMAT = 1

SourceKind = Literal["sdist", "git", "url", "local", "prebuilt", "index"]


@dataclass(frozen=True, kw_only=True)
class SourceRef:
    """Where a node's bytes come from, pinned: an sdist by sha256, a git tag by commit, a vendor wheel by sha256, a
    local sdist or source directory (``local_path``, as given) by the sha256 of its archive."""

    kind: SourceKind
    url: str
    filename: str
    sha256: str | None = None
    git_ref: str | None = None
    git_commit: str | None = None
    requires_python: str | None = None
    local_path: str | None = None


@dataclass(frozen=True, kw_only=True)
class NodeSpec:
    id: str
    name: str
    version: str
    python: str  # target interpreter X.Y
    source: SourceRef
    patches: tuple[tuple[str, str], ...] = ()  # (file name, sha256), in the order they apply
    recipe: RecipeDecisions = field(default_factory=RecipeDecisions)
    extras: tuple[str, ...] = ()
    build_system: tuple[str, ...] | None = None  # [build-system] requires as read; None: not read yet
    backend: str | None = None  # the build backend (module:object)
    backend_path: tuple[str, ...] | None = None
    backend_requires: tuple[str, ...] | None = None  # get_requires_for_build_wheel; None: on the frontier
    requires: tuple[str, ...] | None = None  # runtime requirements that apply to this target (recipe additions in, drops out); None: known only after a backend answers
    metadata_origin: str | None = None  # where requires_dist was read
    source_key: str | None = None  # content key of everything that shapes the prepared tree
    cache_key: str | None = None  # content key of the wheel; None while some input wheel is not known yet
    wheel: str | None = None  # file name, when the cache already holds it
    wheel_sha256: str | None = None
    toplevel: bool = False
    runtime: bool = False  # part of the install tree that was asked for (else only a build tool's closure)
    former_names: tuple[str, ...] = ()

    @property
    def on_frontier(self) -> bool:
        return self.source.kind not in ("prebuilt", "index") and (self.backend_requires is None or self.build_system is None)

    @property
    def buildable(self) -> bool:
        return self.source.kind not in ("prebuilt", "index")


@dataclass(frozen=True)
class Edge:
    parent: str
    child: str
    kind: EdgeKind
    requirement: str


@dataclass(frozen=True, kw_only=True)
class BuildGraph:
    variant: str
    pythons: tuple[str, ...]
    requested: tuple[str, ...]
    nodes: Mapping[str, NodeSpec]
    edges: tuple[Edge, ...]
    generation: int = 0  # how many times the planner expanded it
    notes: tuple[str, ...] = ()

    def __post_init__(self) -> None:  # one order for edges, so equal graphs compare (and serialise) equal
        object.__setattr__(self, "edges", tuple(sorted(set(self.edges), key=lambda e: (e.parent, e.kind, e.child, e.requirement))))

    # ----- queries --------------------------------------------------------------------------------

    def children(self, parent: str, kinds: Iterable[EdgeKind]) -> list[str]:
        wanted = set(kinds)
        return sorted({e.child for e in self.edges if e.parent == parent and e.kind in wanted})

    def install_closure(self, roots: Iterable[str]) -> set[str]:
        """The roots plus everything they need at run time."""
        adjacency = self._adjacency("install")
        seen: set[str] = set()
        stack = list(roots)
        while stack:
            node = stack.pop()
            if node not in seen:
                seen.add(node)
                stack.extend(adjacency.get(node, ()))
        return seen

    def build_closure(self, node: str, kinds: Iterable[EdgeKind] = BUILD_KINDS) -> set[str]:
        """What must be published before ``node`` builds: its build requirements and their install closures."""
        return self.install_closure(self.children(node, kinds)) - {node}

    def build_order(self) -> list[str]:
        """A deterministic topological order in which every node follows what it needs to build."""
        needs = {n: self.build_closure(n) for n in self.nodes}
        order: list[str] = []
        done: set[str] = set()
        while len(order) < len(needs):
            ready = sorted(n for n in needs if n not in done and needs[n] <= done)
            if not ready:  # a cycle: the planner reports it before a build; keep the rest stable
                ready = sorted(n for n in needs if n not in done)[:1]
            order.extend(ready)
            done.update(ready)
        return order

    def frontier(self) -> list[str]:
        return sorted(n for n, spec in self.nodes.items() if spec.on_frontier)

    def why(self, node: str) -> list[Edge]:
        return [e for e in self.edges if e.child == node]

    def by_name(self, name: str) -> list[NodeSpec]:
        return [spec for spec in self.nodes.values() if spec.name == name]

    def _adjacency(self, kind: EdgeKind) -> dict[str, list[str]]:
        result: dict[str, list[str]] = {}
        for edge in self.edges:
            if edge.kind == kind:
                result.setdefault(edge.parent, []).append(edge.child)
        return result

    # ----- serialisation --------------------------------------------------------------------------

    def to_dict(self) -> dict[str, Any]:
        return {
            "format": FORMAT,
            "variant": self.variant,
            "pythons": list(self.pythons),
            "requested": list(self.requested),
            "generation": self.generation,
            "frontier": self.frontier(),
            "nodes": [asdict(self.nodes[n]) for n in sorted(self.nodes)],
            "edges": [asdict(e) for e in sorted(self.edges, key=lambda e: (e.parent, e.kind, e.child, e.requirement))],
            "notes": list(self.notes),
        }

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=1)

    @classmethod
    def from_json(cls, text: str) -> BuildGraph:
        data = json.loads(text)
        if data.get("format") != FORMAT:
            raise ValueError(f"plan format {data.get('format')!r} is not {FORMAT}")
        nodes = {n["id"]: _node_from_dict(n) for n in data["nodes"]}
        edges = tuple(Edge(e["parent"], e["child"], e["kind"], e["requirement"]) for e in data["edges"])
        return cls(variant=data["variant"], pythons=tuple(data["pythons"]), requested=tuple(data["requested"]), nodes=nodes,
                   edges=edges, generation=data["generation"], notes=tuple(data.get("notes", ())))

    def shape(self) -> tuple[frozenset[tuple[str, str, str]], frozenset[tuple[str, str, str]]]:
        """Nodes (id, name, version) and edges (parent, child, kind): what plan/build parity compares."""
        return (frozenset((n.id, n.name, n.version) for n in self.nodes.values()),
                frozenset((e.parent, e.child, e.kind) for e in self.edges))


def _tuple(value: Any) -> Any:
    if isinstance(value, list):
        return tuple(_tuple(v) for v in value)
    return value


def _node_from_dict(data: dict[str, Any]) -> NodeSpec:
    fields = {k: _tuple(v) for k, v in data.items()}
    fields["source"] = SourceRef(**data["source"])
    recipe = {k: _tuple(v) for k, v in data["recipe"].items()}
    recipe["extra_sources"] = tuple(ExtraSource(**{k: _tuple(v) for k, v in e.items()}) for e in data["recipe"].get("extra_sources", ()))
    fields["recipe"] = RecipeDecisions(**recipe)
    return NodeSpec(**fields)


def find_cycle(waits: Mapping[str, Iterable[str]]) -> list[str] | None:
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
