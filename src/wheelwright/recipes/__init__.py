"""The recipe API recipes import: ``from wheelwright.recipes import Recipe, GitSource``."""

from wheelwright.recipes.api import (
    DEFAULT_HASH, HOOKS, ExtraSource, GitSource, LoadedRecipe, Recipe, RecipeContext, Source, UrlSource, call_hook_safely, cuda_arch_list,
    declared_renames, load_recipe, module_path, recipe_names,
)

__all__ = [
    "DEFAULT_HASH", "HOOKS", "ExtraSource", "GitSource", "LoadedRecipe", "Recipe", "RecipeContext", "Source", "UrlSource", "call_hook_safely",
    "cuda_arch_list", "declared_renames", "load_recipe", "module_path", "recipe_names",
]
