"""The constraints lint on the real PyPI: a deliberately broken rocm-7.1 file gets one finding per
mistake (torch 2.10.0's own METADATA says triton==3.6.0), and the corrected file gets none."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from helpers import REPO, SHARED_CACHE

from wheelwright.remote.index import SimpleJsonIndex
from wheelwright.tools.lint import LintReport, lint_constraints
from wheelwright.config.renames import load_renames

pytestmark = pytest.mark.xdist_group("lint")

BROKEN = """\
# rocm 7.1 pins, broken on purpose
torch==2.10.0
triton==3.5.0
torchvision==0.25.0
torchaudio==2.10.0
aiter==0.1.10.post2
xformers==0.0.99
torchaudio==2.10.0
numpy=>2
"""

CLEAN = "torch==2.10.0\ntriton==3.6.0\ntorchvision==0.25.0\ntorchaudio==2.10.0\n"


def _lint(tmp_path: Path, text: str) -> LintReport:
    (tmp_path / "rocm-7.1.txt").write_text(text)
    recipes = tmp_path / "recipes"  # no recipes: every package must come from PyPI
    recipes.mkdir(exist_ok=True)
    started = time.monotonic()
    report = lint_constraints(
        [tmp_path / "rocm-7.1.txt"],
        index=SimpleJsonIndex("https://pypi.org/simple", SHARED_CACHE / "index"),
        renames=load_renames(REPO / "renames.toml"),
        recipes_dir=recipes,
        sdist_cache=SHARED_CACHE / "sdists",
    )
    print(f"lint took {time.monotonic() - started:.1f}s\n{report.render()}")
    return report


def test_broken_rocm_file_gets_one_finding_per_mistake(tmp_path):
    report = _lint(tmp_path, BROKEN)
    by_line = {f.line: f for f in report.findings}
    assert sorted(by_line) == [2, 6, 7, 8, 9], report.render()
    assert all(f.severity == "error" for f in report.findings) and len(report.errors) == 5
    assert by_line[2].message == ("rocm-7.1.txt:2 torch==2.10.0 requires 'triton==3.6.0' "
                                  "(torch 2.10.0 METADATA, Linux x86_64) but rocm-7.1.txt:3 pins triton==3.5.0")
    assert by_line[6].message.startswith("rocm-7.1.txt:6 aiter==0.1.10.post2: aiter was renamed to amd-aiter (")
    assert by_line[6].message.endswith("); pin amd-aiter")
    assert by_line[7].message.startswith("rocm-7.1.txt:7 xformers==0.0.99: xformers 0.0.99 is not on the index; newest: ")
    assert by_line[8].message == "rocm-7.1.txt:8 torchaudio==2.10.0: duplicate: rocm-7.1.txt:5 torchaudio==2.10.0 already constrains torchaudio"
    assert by_line[9].message.startswith("rocm-7.1.txt:9: malformed constraint 'numpy=>2'")


def test_consistent_rocm_file_has_no_errors(tmp_path):
    report = _lint(tmp_path, CLEAN)
    assert report.errors == (), report.render()
    assert report.findings == (), report.render()  # every pin's wheel METADATA was readable
