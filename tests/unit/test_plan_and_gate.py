"""`wheelwright plan` shows a build without running it; the toolchain gate stops a GPU build before it starts."""

from __future__ import annotations

import json

from fakepypi import FakeProject

from wheelwright.cli import main

RECIPE = '''
from wheelwright import Recipe
recipe = Recipe("app")

@recipe.env()
def env(ctx):
    return {"APP_TARGET": ctx.variant.name}

@recipe.env("rocm")
def env_rocm(ctx):
    return {"APP_TARGET": "rocm", "PYTORCH_ROCM_ARCH": ";".join(ctx.variant.archs)}

@recipe.kernels("rocm")
def kernels(ctx):
    return ["app/_C*.so"]

@recipe.requires("rocm")
def requires(ctx):
    return ["extra-rocm-dep"]
'''


def _plan(workspace, capsys, *args):
    code = main(["--project", str(workspace.root), "plan", "--index-url", workspace.index_url, *args])
    return code, capsys.readouterr()


def test_plan_lists_versions_sources_env_and_toolchain_without_building(workspace, fake_pypi, capsys):
    fake_pypi.add_sdist_with_pkg_info("app", "1.0", ["lib>=1"])
    fake_pypi.add_sdist_with_pkg_info("lib", "2.0", [])
    fake_pypi.add_sdist_with_pkg_info("extra-rocm-dep", "0.5", [])
    workspace.write("recipes/app.py", RECIPE)
    code, out = _plan(workspace, capsys, "--variant", "rocm", "app")
    assert code == 0, out.err
    text = out.out
    assert text.index("lib 2.0") < text.index("app 1.0")  # dependencies first
    assert "extra-rocm-dep 0.5" in text  # the recipe's rocm-only requirement
    assert "source: PyPI sdist http://127.0.0.1" in text and "sha256 " in text
    assert "APP_TARGET=rocm" in text and "PYTORCH_ROCM_ARCH=gfx90a;gfx942" in text and "USE_ROCM=1" in text
    assert "must carry kernels: app/_C*.so" in text
    assert "toolchain for rocm-7.1:" in text and "hipcc" in text
    plan = json.loads((workspace.root / "build" / "rocm-7.1" / "build-plan.json").read_text())
    assert [p["name"] for p in plan["packages"]][-1] == "app" and plan["toolchain_needed"] is True
    assert not (workspace.root / "build" / "rocm-7.1" / "simple").exists()  # nothing was built

    code, out = _plan(workspace, capsys, "--variant", "cpu", "app")
    assert code == 0 and "extra-rocm-dep" not in out.out and "APP_TARGET=cpu" in out.out


def test_gpu_build_stops_before_any_build_without_its_toolchain(workspace, fake_pypi, capsys, monkeypatch, tmp_path):
    fake_pypi.add(FakeProject("app"), FakeProject("extra-rocm-dep"))
    workspace.write("recipes/app.py", RECIPE)
    monkeypatch.setenv("PATH", f"{tmp_path}:/usr/bin:/bin")  # whatever hipcc this machine has, ROCm 7.1 it is not
    run = workspace.build(capsys, "app", variant="rocm")
    assert run.code == 3
    assert run.error.startswith("error: variant rocm-7.1: hipcc")
    assert "build inside docker.io/rocm/dev-ubuntu-22.04:7.1-complete" in run.error
    assert not (workspace.root / "build" / "rocm-7.1" / "logs").exists()  # stopped before the first build


def test_a_variant_build_of_packages_without_gpu_recipes_needs_no_toolchain(workspace, fake_pypi, capsys):
    fake_pypi.add(FakeProject("plain"))
    run = workspace.build(capsys, "plain", variant="rocm")
    assert run.code == 0, run.err
