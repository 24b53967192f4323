"""Wheelwright: rebuild whole dependency trees of Python wheels from source, per accelerator."""

from .errors import BuildError, ConfigError, CycleError, ResolutionError, SourceError, WheelwrightError
from .graph import Edge, Graph
from .recipes import Recipe, RecipeContext
from .schedule import BuildResult, BuildSettings, TreeBuilder
from .variants import Variant, load_variants

__all__ = [
    "BuildError", "BuildResult", "BuildSettings", "ConfigError", "CycleError", "Edge", "Graph", "Recipe",
    "RecipeContext", "ResolutionError", "SourceError", "TreeBuilder", "Variant", "WheelwrightError", "load_variants",
]
