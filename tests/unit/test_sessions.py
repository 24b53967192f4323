"""The noxfile is generated: every variant gets build-<variant>, every recipe x variant its own session."""

from __future__ import annotations

import json
import subprocess
import sys

from helpers import REPO

from wheelwright.cli import main
from wheelwright.recipes import recipe_names
from wheelwright.sessions import engine_sessions
from wheelwright.config.variants import load_variants


def test_every_recipe_and_variant_has_a_documented_session():
    variants = load_variants(REPO / "variants.toml")
    assert {"cpu", "cuda", "rocm", "gaudi", "tpu", "spyre"} <= set(variants)
    specs = {s.name: s for s in engine_sessions(REPO)}
    for variant in variants:
        assert f"build-{variant}" in specs
        for package in recipe_names(REPO / "recipes"):
            spec = specs[f"build-{variant}-{package}"]
            assert spec.doc and package in spec.doc
            assert spec.argv == ("build", "--variant", variant, package)


def test_nox_lists_generated_sessions_with_docstrings():
    out = subprocess.run([sys.executable, "-m", "nox", "-l"], cwd=REPO, capture_output=True, text=True, check=True).stdout
    assert "build-cpu -> Build REQs" in out
    assert "build-rocm-markupsafe -> Build markupsafe and its whole tree" in out
    assert "tests -> " in out
    for name in ("lint-constraints", "matrix", "lock-cpu", "lock-rocm", "verify-rocm", "verify-cuda", "licenses-cpu"):
        assert f"{name} -> " in out


def test_matrix_lists_every_session(capsys):
    assert main(["--project", str(REPO), "ci-matrix"]) == 0
    matrix = json.loads(capsys.readouterr().out)
    assert {"session": "build-cuda-markupsafe"} in matrix["include"]
