"""Pure parts: constraints, resolution, graph order and cycles, patches, interpreters."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.version import Version

from wheelwright.config.constraints import load_constraints
from wheelwright.errors import ConfigError, ResolutionError
from wheelwright.plan.graph import BuildGraph, Edge, NodeSpec, SourceRef, find_cycle
from wheelwright.remote.index import SourceDistribution
from wheelwright.config.interpreters import find_interpreter
from wheelwright.recipes.patches import find_patches
from wheelwright.plan.candidates import choose_sdist


class MemoryIndex:
    def __init__(self, **versions: list[tuple[str, dict]]) -> None:
        self.data = {
            name: [SourceDistribution(name, Version(v), f"{name}-{v}.tar.gz", f"https://x/{name}-{v}.tar.gz", "0" * 64,
                                      opts.get("requires_python"), opts.get("yanked", False)) for v, opts in entries]
            for name, entries in versions.items()
        }

    def sdists(self, name):
        return self.data.get(name, [])


def _constraints(tmp_path: Path, text: str, extra: dict[str, str] | None = None):
    for name, body in (extra or {}).items():
        (tmp_path / name).write_text(body)
    (tmp_path / "c.txt").write_text(text)
    return load_constraints([tmp_path / "c.txt"])


def test_constraints_follow_includes_and_intersect(tmp_path):
    constraints = _constraints(tmp_path, "-c common.txt\nfoo<3  # cap\n", {"common.txt": "Foo>=1\n"})
    assert str(constraints.specifier_for("foo")) in ("<3,>=1", ">=1,<3")
    assert [c.origin for c in constraints.lines_for("FOO")] == ["common.txt:1", "c.txt:2"]


def test_malformed_constraint_names_file_and_line(tmp_path):
    with pytest.raises(ConfigError, match=r"c\.txt:2: malformed constraint 'bar ==='"):
        _constraints(tmp_path, "foo==1\nbar ===\n")


def test_choose_newest_allowed_sdist(tmp_path):
    index = MemoryIndex(foo=[("1.0", {}), ("2.0", {}), ("3.0", {"yanked": True}), ("4.0", {"requires_python": ">=3.99"}), ("5.0b1", {})])
    constraints = _constraints(tmp_path, "")
    assert choose_sdist(Requirement("foo"), constraints, index, "3.11").version == Version("2.0")
    assert choose_sdist(Requirement("foo==3.0"), constraints, index, "3.11").version == Version("3.0")  # yanked but pinned
    assert choose_sdist(Requirement("foo>=5.0b1"), constraints, index, "3.11").version == Version("5.0b1")
    assert choose_sdist(Requirement("foo"), _constraints(tmp_path, "foo<2"), index, "3.11").version == Version("1.0")


def test_unsatisfiable_requirement_explains_with_constraint_line(tmp_path):
    index = MemoryIndex(foo=[("1.0", {}), ("2.0", {})])
    with pytest.raises(ResolutionError, match=r"foo: no sdist matches requirement 'foo>=2' with constraint c\.txt:1 foo<2; available: 1\.0, 2\.0"):
        choose_sdist(Requirement("foo>=2"), _constraints(tmp_path, "foo<2\n"), index, "3.11")
    with pytest.raises(ResolutionError, match="no sdist for any version"):
        choose_sdist(Requirement("wheelonly"), _constraints(tmp_path, ""), index, "3.11")


def test_build_order_puts_build_environment_first():
    nodes = {n: NodeSpec(id=n, name=n.split("==")[0], version="1", python="3.11", source=SourceRef(kind="sdist", url="u", filename="f"))
             for n in ("app==1", "tool==1", "helper==1", "lib==1")}
    edges = (Edge("app==1", "tool==1", "build-system", "tool"), Edge("tool==1", "helper==1", "install", "helper"),
             Edge("app==1", "lib==1", "install", "lib"))
    graph = BuildGraph(variant="cpu", pythons=("3.11",), requested=("app",), nodes=nodes, edges=edges)
    order = graph.build_order()
    assert order.index("helper==1") < order.index("app==1") and order.index("tool==1") < order.index("app==1")
    assert graph.build_closure("app==1") == {"tool==1", "helper==1"}
    assert BuildGraph.from_json(graph.to_json()) == graph  # the plan file round-trips exactly


def test_find_cycle_returns_closed_path():
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b"}, "b": set()}) is None


def test_patches_are_selected_by_version_and_variant_and_sorted_by_name(tmp_path):
    root = tmp_path / "patches" / "foo"
    for rel in ("0003-all.patch", "1.0/0001-v1.patch", "2.0/0002-v2.patch", "rocm/0002-rocm.patch", "1.0/cpu/0004-v1cpu.patch", "cuda/0000-cuda.patch"):
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(rel)
    found = find_patches(tmp_path / "patches", "Foo", Version("1.0"), "cpu", frozenset({"cpu", "cuda", "rocm"}))
    assert [p.path.name for p in found] == ["0001-v1.patch", "0003-all.patch", "0004-v1cpu.patch"]


def test_interpreter_lookup():
    version = f"{sys.version_info.major}.{sys.version_info.minor}"
    assert find_interpreter(version).markers["python_version"] == version
    with pytest.raises(ConfigError, match=r"--python 2\.1: no working python2\.1"):
        find_interpreter("2.1")
