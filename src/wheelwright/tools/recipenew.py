"""`wheelwright recipe new PKG`: the scaffold of a recipe module, with every hook shown and none active.

The file it writes imports and loads as it stands (the default recipe's behaviour), names each hook with when it
runs and what it returns (docs/recipes.md has the whole reference), and is refused over an existing module.
"""

from __future__ import annotations

from pathlib import Path

from packaging.utils import canonicalize_name

from wheelwright.errors import ConfigError
from wheelwright.recipes.api import module_path

TEMPLATE = '''"""{name}: why this package needs a recipe, in a sentence or two (what upstream's build does that a plain PEP 517
build of its sdist would get wrong). Cite upstream for every setting: the file and line that reads it."""

from wheelwright import Recipe, RecipeContext

recipe = Recipe("{name}")  # source=GitSource(...) / UrlSource(...) where PyPI has no usable sdist; variants=("cuda",) to limit it


# @recipe.env("cuda")                      # build environment variables for one variant family (or every one: @recipe.env())
# def env_cuda(ctx: RecipeContext) -> dict[str, str]:
#     return {{"FORCE_CUDA": "1"}}  # setup.py: os.getenv("FORCE_CUDA") selects the CUDA extension without a GPU
#
# @recipe.kernels("cuda")                  # modules that must carry GPU code for the variant's archs (or {{pattern: [archs]}})
# def kernels(ctx: RecipeContext) -> list[str]:
#     return ["{module}/_C*.so"]
#
# Other hooks: config_settings, prepare, requires, build_requires, drop_requires, links, ships, extra_sources
# (docs/recipes.md). Check it: `wheelwright recipe check {name}`, `wheelwright plan --variant cuda {name}`,
# `wheelwright build --variant cuda --only {name}`.
'''


def new_recipe(recipes_dir: Path, package: str) -> Path:
    name = canonicalize_name(package)
    path = module_path(recipes_dir, name)
    if path.exists():
        raise ConfigError(f"{path} exists already; edit it instead")
    recipes_dir.mkdir(parents=True, exist_ok=True)
    path.write_text(TEMPLATE.format(name=name, module=name.replace("-", "_")))
    return path
