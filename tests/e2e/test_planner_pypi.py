"""The resolver against the real PyPI (responses cached under the shared cache between runs)."""

from __future__ import annotations

import pytest
from helpers import REPO, SHARED_CACHE
from packaging.requirements import Requirement

from wheelwright.config.constraints import load_constraints
from wheelwright.errors import ResolutionError
from wheelwright.remote.index import SimpleJsonIndex
from wheelwright.config.interpreters import find_interpreter
from wheelwright.plan.resolve import plan_install_tree
from wheelwright.plan.published import IndexMetadataSource
from wheelwright.config.renames import load_renames
from wheelwright.plan.tags import target_tags


def _plan(*requirements: str, constraints: str = "cpu.txt"):
    interpreter = find_interpreter("3.11")
    source = IndexMetadataSource(SimpleJsonIndex("https://pypi.org/simple", SHARED_CACHE / "index"), SHARED_CACHE / "sdists", target_tags(interpreter))
    return plan_install_tree([Requirement(r) for r in requirements], source=source,
                             constraints=load_constraints([REPO / "constraints" / constraints]),
                             renames=load_renames(REPO / "renames.toml"), markers=interpreter.markers)


def test_backtracks_across_install_requirements():
    # the newest mpmath (1.4.x) is what a greedy pick takes for `mpmath`; sympy 1.14 needs mpmath<1.4
    plan = _plan("sympy", "mpmath")
    assert plan.packages["mpmath"].version.release[:2] == (1, 3)
    assert any(r.startswith("mpmath") and "<1.4" in r for r in plan.packages["sympy"].requires)
    assert plan.packages["sympy"].origin.startswith("METADATA of sympy-")


def test_requests_tree_from_published_metadata():
    plan = _plan("requests")
    assert {"requests", "urllib3", "idna", "certifi", "charset-normalizer"} == set(plan.packages)
    assert all(p.origin for p in plan.packages.values())


def test_conflict_is_explained_before_any_build():
    with pytest.raises(ResolutionError) as error:
        _plan("sympy==1.14.0", "mpmath>=1.4")
    message = str(error.value)
    assert "sympy==1.14.0 requires mpmath" in message and "the top level requires mpmath>=1.4" in message
