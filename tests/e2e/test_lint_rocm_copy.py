"""The lint on a deliberately broken copy of the repository's own rocm-7.1 constraints file."""

from __future__ import annotations

import shutil

from helpers import REPO, SHARED_CACHE

from wheelwright.remote.index import SimpleJsonIndex
from wheelwright.tools.lint import lint_constraints
from wheelwright.recipes import declared_renames
from wheelwright.config.renames import load_renames


def _lint(path):
    return lint_constraints([path], index=SimpleJsonIndex("https://pypi.org/simple", SHARED_CACHE / "index"),
                            renames=load_renames(REPO / "renames.toml", declared_renames(REPO / "recipes")),
                            recipes_dir=REPO / "recipes", sdist_cache=SHARED_CACHE / "sdists")


def test_the_real_rocm_71_file_has_no_errors():
    report = _lint(REPO / "constraints" / "rocm-7.1.txt")
    assert not report.errors, report.render()


def test_a_broken_copy_is_caught_line_by_line(tmp_path):
    shutil.copy(REPO / "constraints" / "common.txt", tmp_path)
    text = (REPO / "constraints" / "rocm-7.1.txt").read_text()
    text = text.replace("triton==3.6.0", "triton==3.5.0").replace("amd-aiter==0.1.10.post2", "aiter==0.1.10.post2")
    text = text.replace("xformers==0.0.34", "xformers==0.0.99")
    (tmp_path / "rocm-7.1.txt").write_text(text)
    lines = text.splitlines()
    line_of = lambda prefix: next(i for i, line in enumerate(lines, 1) if line.startswith(prefix))
    report = _lint(tmp_path / "rocm-7.1.txt")
    errors = {(f.line, f.message) for f in report.errors}
    rendered = report.render()
    assert any(line == line_of("torch==") and f"rocm-7.1.txt:{line_of('triton==')} pins triton==3.5.0" in message
               and "requires 'triton==3.6.0'" in message for line, message in errors), rendered
    assert any(line == line_of("aiter==") and "aiter was renamed to amd-aiter" in message for line, message in errors), rendered
    assert any(line == line_of("xformers==") and "xformers 0.0.99 is not on the index" in message for line, message in errors), rendered
    assert len(report.errors) == 3, rendered
