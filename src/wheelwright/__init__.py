"""Wheelwright: rebuild whole dependency trees of Python wheels from source, per accelerator."""

from wheelwright.config.variants import Variant, load_variants
from wheelwright.errors import BuildError, ConfigError, CycleError, ResolutionError, SourceError, WheelwrightError
from wheelwright.plan.graph import BuildGraph, Edge, NodeSpec
from wheelwright.recipes.api import Recipe, RecipeContext

__all__ = [
    "BuildError", "BuildGraph", "ConfigError", "CycleError", "Edge", "NodeSpec", "Recipe",
    "RecipeContext", "ResolutionError", "SourceError", "Variant", "WheelwrightError", "load_variants",
]
