"""The package reads like the pipeline: no import from a lower layer to a higher one, no module over ~400 lines."""

from __future__ import annotations

import ast
from pathlib import Path

import wheelwright

ROOT = Path(wheelwright.__file__).parent
#: Lowest first. A module may import from its own layer and the ones below it, never above.
LAYERS = ["errors", "fsutil", "suggest", "config", "sandbox", "recipes", "remote", "plan", "stages", "run", "outputs", "tools", "app", "ci", "sessions", "cli", "__main__", "__init__"]
# run/cache.py holds content keys and records that plan/ computes too; it sits below the planner
BELOW = {"wheelwright.run.cache": "plan"}


def _layer(module: str) -> int:
    if module in BELOW:
        return LAYERS.index(BELOW[module]) - 1
    part = module.split(".")[1] if module.count(".") else "__init__"
    return LAYERS.index(part)


def _modules() -> dict[str, Path]:
    return {"wheelwright." + ".".join(p.relative_to(ROOT).with_suffix("").parts).removesuffix(".__init__"): p for p in ROOT.rglob("*.py")}


def test_no_import_reaches_up_a_layer():
    wrong = []
    for module, path in _modules().items():
        if module == "wheelwright":
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("wheelwright."):
                if _layer(node.module) > _layer(module):
                    wrong.append(f"{module} imports {node.module}")
    assert wrong == []


def test_no_module_is_a_god_module():
    assert {m: n for m, p in _modules().items() if (n := len(p.read_text().splitlines())) > 450} == {}
