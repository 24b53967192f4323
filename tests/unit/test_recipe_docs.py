"""The recipe-author reference stays whole: every hook, every RecipeContext field and every Recipe and ExtraSource
argument is in docs/recipes.md; `wheelwright recipe new` writes a module that loads, and refuses to overwrite one."""

from __future__ import annotations

import dataclasses
import inspect

from helpers import REPO

from wheelwright.cli import main
from wheelwright.recipes import HOOKS, ExtraSource, Recipe, RecipeContext, load_recipe


def test_the_reference_names_every_hook_field_and_argument():
    text = (REPO / "docs" / "recipes.md").read_text()
    missing = [h for h in HOOKS if f"`{h}`" not in text]
    missing += [f.name for f in dataclasses.fields(RecipeContext) if f"`{f.name}`" not in text and f.name not in ("name", "version", "network", "log")]
    missing += [p for p in inspect.signature(Recipe.__init__).parameters if p not in ("self", "name") and f"`{p}`" not in text]
    missing += [f.name for f in dataclasses.fields(ExtraSource) if f.name not in text]
    assert not missing, f"docs/recipes.md does not describe {missing}"


def test_recipe_new_scaffolds_a_module_that_loads(workspace, capsys):
    assert main(["--project", str(workspace.root), "recipe", "new", "My_Package"]) == 0
    path = workspace.root / "recipes" / "my_package.py"
    assert f"written: {path}" in capsys.readouterr().out
    loaded = load_recipe(workspace.root / "recipes", "my-package")
    assert loaded.recipe.name == "my-package" and loaded.recipe.hooks() == []  # every hook shown, none active
    assert main(["--project", str(workspace.root), "recipe", "new", "my-package"]) == 2
    assert "exists already; edit it instead" in capsys.readouterr().err
