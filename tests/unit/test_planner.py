"""The resolver on JSON fixture indexes, in the style of resolvelib's own functional tests."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.version import Version

from wheelwright.config.constraints import load_constraints
from wheelwright.errors import ResolutionError
from wheelwright.plan.resolve import plan_install_tree
from wheelwright.plan.published import PublishedMetadata, Release
from wheelwright.config.renames import Rename, Renames

FIXTURES = sorted((Path(__file__).parent / "resolver_fixtures").glob("*.json"))
MARKERS = {"python_version": "3.11", "python_full_version": "3.11.7", "sys_platform": "linux", "platform_system": "Linux",
           "platform_machine": "x86_64", "os_name": "posix", "implementation_name": "cpython",
           "platform_python_implementation": "CPython", "platform_release": "", "platform_version": "", "implementation_version": "3.11.7"}


class FixtureSource:
    """A MetadataSource over {name: {version: {dependencies, yanked, requires_python}}}."""

    def __init__(self, index: dict) -> None:
        self.index = index

    def releases(self, name: str) -> list[Release]:
        return [Release(Version(v), bool(o.get("yanked")), o.get("requires_python")) for v, o in self.index.get(name, {}).items()]

    def metadata(self, name: str, version: Version) -> PublishedMetadata | None:
        entry = next(o for v, o in self.index[name].items() if Version(v) == version)
        deps = entry.get("dependencies", [])
        return None if deps is None else PublishedMetadata(tuple(deps), entry.get("requires_python"), f"fixture {name} {version}")

    def why_unavailable(self, name: str) -> str:
        return "not in the fixture index"


def _run(case: dict, tmp_path: Path):
    (tmp_path / "c.txt").write_text("\n".join(case.get("constraints", [])) + "\n")
    renames = Renames({old: Rename(old, new, "") for old, new in case.get("renames", {}).items()})  # type: ignore[misc]
    return plan_install_tree([Requirement(r) for r in case["requested"]], source=FixtureSource(case["index"]),
                             constraints=load_constraints([tmp_path / "c.txt"]), renames=renames, markers=MARKERS)


@pytest.mark.parametrize("fixture", FIXTURES, ids=[f.stem for f in FIXTURES])
def test_fixture(fixture: Path, tmp_path: Path):
    case = json.loads(fixture.read_text())
    if "expected" in case:
        plan = _run(case, tmp_path)
        assert {name: str(p.version) for name, p in plan.packages.items()} == case["expected"]
    else:
        with pytest.raises(ResolutionError) as error:
            _run(case, tmp_path)
        message = str(error.value)
        assert "\n" not in message
        for fragment in case["unsatisfiable"]:
            assert fragment in message


def test_plan_records_where_dependencies_came_from_and_edges(tmp_path):
    case = json.loads((Path(__file__).parent / "resolver_fixtures" / "simple.json").read_text())
    plan = _run(case, tmp_path)
    assert plan.packages["lib"].origin == "fixture lib 2.0"
    assert ("<toplevel>", "app", "app") in plan.edges and ("app", "lib", "lib>=1") in plan.edges
    assert json.loads(plan.to_json())["packages"]["app"]["requires"] == ["lib>=1"]


def test_unknown_metadata_is_planned_as_deferred(tmp_path):
    case = {"requested": ["app"], "index": {"app": {"1.0": {"dependencies": None}}}}
    assert _run(case, tmp_path).packages["app"].origin is None
