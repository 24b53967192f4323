"""patch_problems: everything under patches/ that find_patches would silently skip, or that cannot apply to
this plan, comes back as one message naming its path; a valid layout yields none."""

from __future__ import annotations

from pathlib import Path

import pytest
from packaging.version import Version

from wheelwright.recipes.patches import find_patches, patch_problems

VARIANTS = frozenset({"cpu", "cuda", "rocm"})
DIFF = "--- a/payload.txt\n+++ b/payload.txt\n@@ -1 +1 @@\n-VALUE = 1\n+VALUE = 2\n"


def _tree(root: Path, *files: str) -> Path:
    patches = root / "patches"
    patches.mkdir()
    for relative in files:
        path = patches / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(DIFF)
    return patches


def test_valid_layout_has_no_problems_and_find_patches_is_unchanged(tmp_path):
    patches = _tree(tmp_path, "README.md", ".gitkeep", "jinja2/0001-all.patch", "jinja2/README.txt", "jinja2/cpu/0002-cpu.patch",
                    "jinja2/3.1.4/0003-version.patch", "jinja2/3.1.4/cuda/0004-version-cuda.patch", "jinja2/3.1.4/README",
                    "markupsafe/9.9/0001-other-run.patch")  # a package not in the plan: may be for other runs
    assert patch_problems(patches, {"jinja2": ["3.1.4"]}, VARIANTS) == []
    found = find_patches(patches, "Jinja2", Version("3.1.4"), "cuda", VARIANTS)
    assert [p.path.name for p in found] == ["0001-all.patch", "0003-version.patch", "0004-version-cuda.patch"]
    assert [p.path.name for p in find_patches(patches, "jinja2", Version("3.1.4"), "cpu", VARIANTS)] == ["0001-all.patch", "0002-cpu.patch", "0003-version.patch"]


def test_an_equal_but_differently_spelt_version_is_the_planned_one(tmp_path):
    patches = _tree(tmp_path, "jinja2/3.1.4.0/0001.patch")
    assert patch_problems(patches, {"jinja2": {"3.1.4"}}, VARIANTS) == []


def test_no_patches_directory_is_no_problem(tmp_path):
    assert patch_problems(tmp_path / "patches", {"jinja2": ["3.1.4"]}, VARIANTS) == []


@pytest.mark.parametrize("files, planned, expected", [
    (["Jinja2/0001.patch"], {"jinja2": ["3.1.4"]},
     "patches/Jinja2: not a normalised package name; patches for jinja2 go under patches/jinja2/ (these are ignored)"),
    (["zope.interface/0001.patch"], {}, "patches/zope.interface: not a normalised package name; patches for zope-interface go under patches/zope-interface/"),
    (["-bad-/0001.patch"], {}, "patches/-bad-: not a package name"),
    (["jinja2/0001-fix.diff"], {}, "patches/jinja2/0001-fix.diff: not a *.patch file"),
    (["jinja2/notes.txt"], {}, "patches/jinja2/notes.txt: not a *.patch file"),
    (["jinja2/cpu/0001.diff"], {}, "patches/jinja2/cpu/0001.diff: not a *.patch file"),
    (["jinja2/3.1.4/cuda/0001.diff"], {"jinja2": ["3.1.4"]}, "patches/jinja2/3.1.4/cuda/0001.diff: not a *.patch file"),
    (["0001-loose.patch"], {}, "patches/0001-loose.patch: not in a package directory"),
    (["jinja2/3.1.3/0001.patch"], {"jinja2": ["3.1.4"]},
     "patches/jinja2/3.1.3: the plan does not build jinja2 3.1.3 (it builds 3.1.4); these patches are not applied"),
    (["jinja2/latest/0001.patch"], {}, "patches/jinja2/latest: neither a version nor a known variant (cpu, cuda, rocm); these patches are ignored"),
    (["jinja2/quantum/0001.patch"], {"jinja2": ["3.1.4"]}, "patches/jinja2/quantum: neither a version nor a known variant"),
    (["jinja2/3.1.4/quantum/0001.patch"], {"jinja2": ["3.1.4"]}, "patches/jinja2/3.1.4/quantum: not a known variant (cpu, cuda, rocm); these patches are ignored"),
    (["jinja2/cpu/3.1.4/0001.patch"], {"jinja2": ["3.1.4"]}, "patches/jinja2/cpu/3.1.4: a directory inside a variant directory; nothing in it is read"),
    (["jinja2/3.1.4/cpu/extra/0001.patch"], {"jinja2": ["3.1.4"]}, "patches/jinja2/3.1.4/cpu/extra: a directory inside a variant directory"),
], ids=["non-normalised", "dotted-name", "not-a-name", "diff", "txt", "variant-diff", "version-variant-diff", "loose-file", "unplanned-version",
        "not-a-version", "unknown-variant", "unknown-variant-under-version", "version-under-variant", "too-deep"])
def test_each_problem_is_one_message_naming_the_path(tmp_path, files, planned, expected):
    problems = patch_problems(_tree(tmp_path, *files), planned, VARIANTS)
    assert len(problems) == 1, problems
    assert problems[0].startswith(expected.split(":")[0] + ":") and expected in problems[0], problems


def test_problems_are_all_reported_in_path_order_and_nothing_raises(tmp_path):
    patches = _tree(tmp_path, "Jinja2/0001.patch", "jinja2/0001.diff", "jinja2/1.0/0001.patch", "jinja2/3.1.4/x.orig", "jinja2/3.1.4/0001.patch")
    problems = patch_problems(patches, {"Jinja2": ["3.1.4"]}, VARIANTS)  # planned names are normalised too
    assert [p.split(":")[0] for p in problems] == ["patches/Jinja2", "patches/jinja2/0001.diff", "patches/jinja2/1.0", "patches/jinja2/3.1.4/x.orig"]
