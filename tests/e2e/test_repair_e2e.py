"""auditwheel repair on a real C-extension wheel: markupsafe built from its PyPI sdist, repaired, installed, imported."""

from __future__ import annotations

import io
import os
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import pytest

from wheelwright.stages.repair import AuditwheelRepairer
from wheelwright.config.variants import load_variants, select_variant

REPO = Path(__file__).resolve().parents[2]
ARCH = os.uname().machine


def _clean_pip_env() -> dict[str, str]:
    """pip as a stranger runs it: no config file, no PIP_* settings (find-links, constraints, extra indexes)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PIP_")}
    env["PIP_CONFIG_FILE"] = os.devnull
    env["PIP_DISABLE_PIP_VERSION_CHECK"] = "1"
    return env


def test_markupsafe_from_sdist_is_repaired_to_manylinux_and_still_imports(tmp_path):
    if sys.platform != "linux":
        pytest.skip("auditwheel repairs Linux wheels")
    dist = tmp_path / "dist"
    build = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-binary", ":all:", "--no-cache-dir",
         "--isolated", "-w", str(dist), "markupsafe"],
        capture_output=True, text=True, env=_clean_pip_env(), timeout=900,
    )
    assert build.returncode == 0, build.stdout[-2000:] + build.stderr[-2000:]
    (built,) = dist.glob("*.whl")
    assert built.name.endswith(f"-linux_{ARCH}.whl"), built.name  # the C speedups were compiled
    before = built.read_bytes()

    log = io.StringIO()
    repairer = AuditwheelRepairer.for_variant(select_variant(load_variants(REPO / "variants.toml"), "cpu"))
    started = time.monotonic()
    result = repairer.repair(built, tmp_path / "repaired", log=log)
    seconds = time.monotonic() - started

    assert built.read_bytes() == before
    assert result.wheel.parent == tmp_path / "repaired" and result.wheel.is_file()
    assert result.platform_tag is not None and result.platform_tag in result.wheel.name
    assert result.platform_tags and all(t.startswith("manylinux") and t.endswith(f"_{ARCH}") for t in result.platform_tags)
    assert repairer.plat in result.platform_tags
    assert result.grafted == ()  # the speedups need only libc
    with zipfile.ZipFile(result.wheel) as zf:
        assert any(n.startswith("markupsafe/_speedups.") and n.endswith(".so") for n in zf.namelist())
    print(f"repaired {built.name} -> {result.wheel.name} in {seconds:.2f}s")

    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    python = venv / "bin" / "python"
    subprocess.run([str(python), "-m", "pip", "install", "--no-index", "--no-deps", "--quiet", str(result.wheel)],
                   check=True, env=_clean_pip_env())
    run = subprocess.run([str(python), "-c", "import markupsafe._speedups as s, markupsafe as m; "
                          "print(s.__file__); print(m.escape('<a>'))"], capture_output=True, text=True, cwd=tmp_path)
    assert run.returncode == 0, run.stderr
    assert "_speedups" in run.stdout and "&lt;a&gt;" in run.stdout
