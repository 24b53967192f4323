"""Wheelwright: rebuild whole dependency trees of Python wheels from source, per accelerator."""

from wheelwright.errors import BuildError, ConfigError, CycleError, ResolutionError, SourceError, WheelwrightError
from wheelwright.plan.graph import Edge, Graph
from wheelwright.recipes.api import Recipe, RecipeContext
from wheelwright.run.schedule import BuildResult, BuildSettings, TreeBuilder
from wheelwright.config.variants import Variant, load_variants

__all__ = [
    "BuildError", "BuildResult", "BuildSettings", "ConfigError", "CycleError", "Edge", "Graph", "Recipe",
    "RecipeContext", "ResolutionError", "SourceError", "TreeBuilder", "Variant", "WheelwrightError", "load_variants",
]
