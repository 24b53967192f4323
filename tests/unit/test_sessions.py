"""The noxfile is generated: every variant gets build-<variant>, every recipe x variant it applies to its own session."""

from __future__ import annotations

import subprocess
import sys

import pytest
from fakepypi import FakeProject
from helpers import REPO

from wheelwright.cli import main
from wheelwright.errors import ConfigError
from wheelwright.recipes import load_recipe, recipe_names
from wheelwright.sessions import engine_sessions
from wheelwright.config.variants import load_variants

KINDS = {"ci", "build", "plan", "verify", "check", "report", "licenses", "lock", "lint", "matrix"}


def test_every_recipe_and_variant_has_a_documented_session():
    variants = load_variants(REPO / "variants.toml")
    assert {"cpu", "cuda", "rocm", "gaudi", "tpu", "spyre"} <= set(variants)
    specs = {s.name: s for s in engine_sessions(REPO)}
    for variant in variants:
        assert f"build-{variant}" in specs
        for package in recipe_names(REPO / "recipes"):
            if not load_recipe(REPO / "recipes", package).applies(variant):
                assert f"build-{variant}-{package}" not in specs and f"plan-{variant}-{package}" not in specs
                continue
            spec = specs[f"build-{variant}-{package}"]
            assert spec.doc and package in spec.doc
            assert spec.argv == ("build", "--variant", variant, package)
            assert specs[f"plan-{variant}-{package}"].argv == ("plan", "--variant", variant, package)


def test_sessions_exist_only_for_the_variants_a_recipe_applies_to():
    specs = {s.name for s in engine_sessions(REPO)}
    for meaningless in ("build-cpu-amd-aiter", "plan-cpu-amd-aiter", "build-tpu-pytorch-triton-rocm", "build-cuda-aotriton",
                        "build-cpu-flash-attn", "build-gaudi-xformers", "plan-spyre-xformers"):
        assert meaningless not in specs
    assert {"build-rocm-amd-aiter", "plan-rocm-pytorch-triton-rocm", "build-rocm-aotriton", "build-cuda-flash-attn",
            "build-rocm-flash-attn", "build-cuda-xformers", "plan-rocm-xformers"} <= specs
    for variant in load_variants(REPO / "variants.toml"):  # a plain package's recipe applies everywhere
        for package in ("markupsafe", "cython", "pyyaml", "torch", "vllm"):
            assert {f"build-{variant}-{package}", f"plan-{variant}-{package}"} <= specs


def test_every_session_is_tagged_with_its_kind_and_variant():
    variants = set(load_variants(REPO / "variants.toml"))
    for spec in engine_sessions(REPO):
        kind = spec.name.split("-")[0]
        assert spec.tags and spec.tags[0] in KINDS and (kind in KINDS and spec.tags[0] == kind or spec.tags == ("lint",)), spec
        if spec.argv[1:2] == ("--variant",):
            assert spec.argv[2] in variants and spec.argv[2] in spec.tags, spec
        if len(spec.argv) == 4 and spec.argv[0] != "ci":  # build-<variant>-<pkg>, plan-<variant>-<pkg>
            assert spec.tags == (spec.argv[0], spec.argv[2], spec.argv[3])


def test_nox_selects_sessions_by_tag():
    def listed(*tags: str) -> set[str]:
        out = subprocess.run([sys.executable, "-m", "nox", "-l", "-t", *tags], cwd=REPO, capture_output=True, text=True, check=True).stdout
        return {line.split()[1] for line in out.splitlines() if line.startswith("* ")}

    rocm = listed("rocm")
    assert {"build-rocm", "plan-rocm", "build-rocm-amd-aiter", "verify-rocm", "licenses-rocm", "lock-rocm"} <= rocm
    assert all("rocm" in name for name in rocm)
    plans = listed("plan")
    assert plans and all(name.startswith("plan-") for name in plans) and "plan-cpu-amd-aiter" not in plans
    assert "plan-rocm-amd-aiter" in plans and "plan-cpu-markupsafe" in plans


def test_nox_lists_generated_sessions_with_docstrings():
    out = subprocess.run([sys.executable, "-m", "nox", "-l"], cwd=REPO, capture_output=True, text=True, check=True).stdout
    assert "build-cpu [build,cpu] -> Build REQs" in out
    assert "build-rocm-markupsafe [build,rocm,markupsafe] -> Build markupsafe and its whole tree" in out
    assert "tests [tests] -> " in out
    for name, tags in (("lint-constraints", "lint"), ("matrix", "matrix"), ("lock-cpu", "lock,cpu"), ("lock-rocm", "lock,rocm"),
                       ("verify-rocm", "verify,rocm"), ("verify-cuda", "verify,cuda"), ("licenses-cpu", "licenses,cpu")):
        assert f"{name} [{tags}] -> " in out


def test_the_flat_session_matrix_is_gone_and_ci_is_generated_per_variant():
    """One job per nox session rebuilt whole trees per job; GitHub Actions now runs the build graph (wheelwright ci generate)."""
    specs = {spec.name: spec for spec in engine_sessions(REPO)}
    assert specs["ci-generate-rocm"].argv == ("ci", "generate", "--variant", "rocm") and specs["ci-generate-rocm"].tags == ("ci", "rocm")
    with pytest.raises(SystemExit):
        main(["--project", str(REPO), "ci-matrix"])
    assert not (REPO / ".github" / "workflows" / "build.yml").exists()


# ----- a recipe's variants, through a fake project ----------------------------------------------

ROCM_ONLY = "from wheelwright import Recipe\nrecipe = Recipe('gpuonly', variants=('rocm',))\n"


def test_a_recipe_naming_an_unknown_variant_is_refused(workspace, fake_pypi, capsys):
    fake_pypi.add(FakeProject("odd"))
    workspace.write("recipes/odd.py", "from wheelwright import Recipe\nrecipe = Recipe('odd', variants=('rocm', 'quantum'))\n")
    run = workspace.build(capsys, "odd")
    assert run.code == 2 and "\n" not in run.error, run.err
    assert "recipes/odd.py" in run.error and "'quantum'" in run.error and "variants.toml does not define" in run.error
    with pytest.raises(ConfigError, match="'quantum'"):
        engine_sessions(workspace.root)


def test_a_hook_for_a_variant_the_recipe_does_not_apply_to_is_refused(workspace, fake_pypi, capsys):
    fake_pypi.add(FakeProject("gpuonly"))
    workspace.write("recipes/gpuonly.py", ROCM_ONLY + "\n@recipe.env('cuda')\ndef env(ctx):\n    return {}\n")
    run = workspace.build(capsys, "gpuonly", variant="cuda")
    assert run.code == 2 and "recipes/gpuonly.py" in run.error and "'cuda'" in run.error and "does not apply to" in run.error, run.err


@pytest.mark.parametrize("pulled_in", [False, True], ids=["top-level", "dependency"])
def test_building_a_rocm_only_package_for_cpu_is_refused_in_one_line(workspace, fake_pypi, capsys, pulled_in):
    fake_pypi.add(FakeProject("gpuonly"), FakeProject("app", requires_dist=["gpuonly"], prepare_metadata=True))
    workspace.write("recipes/gpuonly.py", ROCM_ONLY)
    run = workspace.build(capsys, "app" if pulled_in else "gpuonly")
    assert run.code == 2, run.err
    assert run.error == "error: gpuonly: recipes/gpuonly.py applies to rocm only, not cpu", run.err
    assert not list((workspace.output / "simple").rglob("*.whl"))  # refused before anything was built
    specs = {s.name for s in engine_sessions(workspace.root)}
    assert "build-rocm-gpuonly" in specs and "build-cpu-gpuonly" not in specs
