"""Every recipe of a run, loaded once, checked against the variants that exist, and read per variant.

The planner reads recipe decisions here and only here: what it writes into the build graph is what
the build uses, so a hook can never reach the plan and miss the build (or the other way round).
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import IO

from packaging.version import Version

from wheelwright.config.variants import Variant
from wheelwright.errors import ConfigError, ResolutionError
from wheelwright.sandbox.isolation import Isolation, NetworkPolicy
from wheelwright.recipes.decisions import RecipeDecisions
from wheelwright.recipes.api import LoadedRecipe, RecipeContext, call_hook_safely, load_recipe


class RecipeBook:
    """Recipes by canonical package name; a hook registered for (or a ``variants=`` naming) a variant that does not
    exist is refused at load, and so is planning a package for a variant its recipe does not apply to."""

    def __init__(self, recipes_dir: Path, variant_names: frozenset[str],
                 pins_for: Callable[[Variant], Mapping[str, str]] | None = None) -> None:
        self.recipes_dir = recipes_dir
        self.variant_names = variant_names
        self._pins_for = pins_for  # a variant row's exact constraint pins, what RecipeContext.pin() reads
        self._loaded: dict[str, LoadedRecipe] = {}
        self._decided: dict[tuple[str, Version, str, str], RecipeDecisions] = {}

    def pins(self, variant: Variant) -> Mapping[str, str]:
        return self._pins_for(variant) if self._pins_for else {}

    def get(self, name: str) -> LoadedRecipe:
        if name not in self._loaded:
            loaded = load_recipe(self.recipes_dir, name)
            if loaded.path is not None:
                self._check(loaded, loaded.path)
            self._loaded[name] = loaded
        return self._loaded[name]

    def _check(self, loaded: LoadedRecipe, path: Path) -> None:
        """Every variant a recipe names (its hooks', its ``variants=``) must exist, and hooks only where it applies."""
        known = ", ".join(sorted(self.variant_names))
        unknown = sorted(loaded.recipe.variants() - self.variant_names)
        if unknown:
            hooks = sorted(h for (h, v) in loaded.recipe.hooks() if v in unknown)
            raise ConfigError(f"{path}: hook {', '.join(hooks)} registered for variant {', '.join(map(repr, unknown))}, "
                              f"which variants.toml does not define (variants: {known})")
        declared = [v for v in loaded.applies_to or () if v not in self.variant_names]
        if declared:
            raise ConfigError(f"{path}: Recipe({loaded.recipe.name!r}, variants=...) names variant {', '.join(map(repr, declared))}, "
                              f"which variants.toml does not define (variants: {known})")
        outside = sorted(v for v in loaded.recipe.variants() if not loaded.applies(v))
        if outside:
            hooks = sorted(h for (h, v) in loaded.recipe.hooks() if v in outside)
            raise ConfigError(f"{path}: hook {', '.join(hooks)} registered for variant {', '.join(map(repr, outside))}, "
                              f"which the recipe does not apply to (variants={loaded.applies_to!r})")

    def require_buildable(self, name: str, variant: Variant) -> None:
        """A recipe that says its package cannot be built from source (``prebuilt=``) is planned only as a vendor wheel."""
        loaded = self.get(name)
        if loaded.recipe.prebuilt and not variant.takes_prebuilt(name) and loaded.applies(variant.name):
            raise ResolutionError(f"{name}: recipes/{loaded.path.name if loaded.path else name} does not build it from source "
                                  f"({loaded.recipe.prebuilt}); variant {variant.label} would have to take it prebuilt "
                                  f"(`prebuilt` in variants.toml)")

    def applies(self, name: str, variant: str) -> bool:
        """Whether ``name`` is built for ``variant`` at all (its recipe's ``variants=``; no recipe: every variant)."""
        return self.get(name).applies(variant)

    def decisions(self, name: str, version: Version, variant: Variant, python: str) -> RecipeDecisions:
        """What the recipe decides for one node, evaluated once per run, with the recipe named in any error it raises."""
        key = (name, version, variant.label, python)
        if key not in self._decided:
            self._decided[key] = self._decide(name, version, variant, python)
        return self._decided[key]

    def _decide(self, name: str, version: Version, variant: Variant, python: str) -> RecipeDecisions:
        loaded = self.get(name)
        if loaded.path is None:
            return RecipeDecisions(recipe_sha256=loaded.source_hash)
        if not loaded.applies(variant.name):  # asked for at the top level or pulled into the tree: either way, not here
            names = loaded.applies_to or ()
            only = " and ".join(filter(None, (", ".join(names[:-1]), names[-1])))
            raise ConfigError(f"{name}: recipes/{loaded.path.name} applies to {only} only, not {variant.name}")
        ctx = context(name, version, variant, python, pins=self.pins(variant))
        where = f"recipes/{loaded.path.name}"
        env = call_hook_safely(f"{where} env", lambda: loaded.env(ctx))
        config = call_hook_safely(f"{where} config_settings", lambda: loaded.config_settings(ctx))
        kernels = call_hook_safely(f"{where} kernels", lambda: loaded.kernels(ctx))
        links = call_hook_safely(f"{where} links", lambda: loaded.links(ctx))
        extra = call_hook_safely(f"{where} extra_sources", lambda: loaded.extra_sources(ctx))
        return RecipeDecisions(
            recipe=where,
            recipe_sha256=loaded.source_hash,
            env=tuple(sorted(env.items())),
            config_settings=json.dumps(config, sort_keys=True) if config is not None else None,
            added_requires=call_hook_safely(f"{where} requires", lambda: loaded.requires(ctx)),
            added_build_requires=call_hook_safely(f"{where} build_requires", lambda: loaded.build_requires(ctx)),
            dropped_requires=call_hook_safely(f"{where} drop_requires", lambda: loaded.drop_requires(ctx)),
            renamed_from=tuple(loaded.recipe.renamed_from),
            kernels=tuple(sorted(kernels.items())),
            links=tuple(sorted(links.items())),
            ships=call_hook_safely(f"{where} ships", lambda: loaded.ships(ctx)),
            extra_sources=extra,
            pins_read=tuple(sorted((k, v or "") for k, v in ctx.pins_read.items())),
            prebuilt_because=loaded.recipe.prebuilt,
            has_prepare=loaded.recipe.hook("prepare", variant.name) is not None,
            variant_specific=loaded.recipe.has_hooks_for(variant.name),
        )


def context(name: str, version: Version, variant: Variant, python: str, *, source_dir: Path | None = None,
            jobs: int | None = None, network: Isolation | None = None, log: IO[str] | None = None,
            pins: Mapping[str, str] | None = None) -> RecipeContext:
    """What a hook sees; at plan time there is no tree, no log and no network policy yet."""
    return RecipeContext(name=name, version=version, variant=variant, python_version=python, source_dir=source_dir,
                         jobs=jobs or os.cpu_count() or 1, network=network or NetworkPolicy(False, "not isolated (outside a build)"), log=log,
                         pins=dict(pins or {}))
