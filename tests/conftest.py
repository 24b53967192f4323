from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

from fakepypi import FakePyPI

from helpers import copy_project

from wheelwright.cli import main



def pytest_addoption(parser):
    parser.addoption("--gpu-stack", action="store_true",
                     help="also run the tests marked gpu_stack: builds against PyPI's CUDA torch stack (~3 GB of wheels, tens of minutes)")


@dataclass
class Run:
    code: int
    out: str
    err: str

    @property
    def error(self) -> str:
        """The one-line error (progress lines may come before it)."""
        return next((line for line in self.err.splitlines() if line.startswith("error:")), "")


@dataclass
class Workspace:
    """A throwaway Wheelwright project: its own variants, constraints, recipes and patches."""

    root: Path
    cache: Path
    index_url: str | None = None

    @property
    def output(self) -> Path:
        return self.root / "build" / "cpu"  # other variants: root / "build" / <variant-version>

    def build(self, capsys, *args: str, variant: str = "cpu") -> Run:
        argv = ["--project", str(self.root), "build", "--variant", variant, "--cache-dir", str(self.cache), "--jobs", "2"]
        if self.index_url:
            argv += ["--index-url", self.index_url] + ([] if "--offline" in args else ["--refresh"])
        code = main([*argv, *args])
        captured = capsys.readouterr()
        return Run(code, captured.out, captured.err)

    def plan(self, capsys, *args: str, variant: str = "cpu") -> Run:
        argv = ["--project", str(self.root), "plan", "--variant", variant, "--cache-dir", str(self.cache)]
        code = main([*argv, *(["--index-url", self.index_url] if self.index_url else []), *args])
        captured = capsys.readouterr()
        return Run(code, captured.out, captured.err)

    def report(self) -> dict:
        return json.loads((self.output / "report.json").read_text())

    def statuses(self) -> dict[str, str]:
        return {node: data["status"] for node, data in self.report()["nodes"].items()}

    def add_patch(self, package: str, name: str, text: str) -> Path:
        path = self.root / "patches" / package / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
        return path

    def write(self, relative: str, text: str) -> Path:
        path = self.root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
        return path


@pytest.fixture
def fake_pypi() -> Iterator[FakePyPI]:
    server = FakePyPI()
    yield server
    server.close()


@pytest.fixture
def workspace(tmp_path: Path, fake_pypi: FakePyPI) -> Workspace:
    """A project served by the fake index; nothing here touches the network."""
    root = copy_project(tmp_path / "project")
    for recipe in (root / "recipes").glob("*.py"):
        recipe.unlink()  # real recipes target real packages
    return Workspace(root, tmp_path / "cache", fake_pypi.url)
