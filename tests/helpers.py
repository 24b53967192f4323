"""Helpers shared by unit and e2e tests (plain functions; fixtures live in conftest.py)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

from wheelwright.remote.index import default_cache_dir

REPO = Path(__file__).resolve().parents[1]
SHARED_CACHE = default_cache_dir()  # downloads only: each test's build state is its own


def copy_project(destination: Path) -> Path:
    """The repository's own project files, so tests run the real recipes and variants."""
    destination.mkdir(parents=True, exist_ok=True)
    shutil.copy(REPO / "variants.toml", destination)
    for folder in ("constraints", "recipes", "patches"):
        shutil.copytree(REPO / folder, destination / folder, dirs_exist_ok=True)
    return destination


def wheelwright(project: Path, *args: str, output: Path) -> subprocess.CompletedProcess:
    """The real CLI in a subprocess, as a user runs it."""
    command = [sys.executable, "-m", "wheelwright", "--project", str(project), "build", "--output-dir", str(output),
               "--cache-dir", str(SHARED_CACHE), *args]
    return subprocess.run(command, capture_output=True, text=True, timeout=1800)


def isolated_install(tmp: Path, index: Path, *packages: str, python: str = sys.executable) -> Path:
    """A fresh venv that can only see our index: global pip config, find-links and PyPI all ignored."""
    target = tmp / "venv"
    subprocess.run([python, "-m", "venv", str(target)], check=True)
    env = {k: v for k, v in os.environ.items() if not k.startswith("PIP_")}
    env["PIP_CONFIG_FILE"] = "/dev/null"
    subprocess.run(
        [str(target / "bin" / "python"), "-m", "pip", "install", "--isolated", "--no-cache-dir", "--quiet",
         "--index-url", index.resolve().as_uri(), *packages],
        check=True, env=env,
    )
    return target / "bin" / "python"
