"""What a recipe decided for one node: a frozen record the plan shows and the build obeys."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import Any

from wheelwright.recipes.api import ExtraSource


@dataclass(frozen=True, kw_only=True)
class RecipeDecisions:
    """Everything a recipe decided for this node and variant, as the plan shows it and the build uses it."""

    recipe: str | None = None  # recipes/<name>.py, None: the default recipe
    recipe_sha256: str = ""
    env: tuple[tuple[str, str], ...] = ()
    config_settings: str | None = None  # JSON (sorted keys) of the PEP 517 config settings, None: none
    added_requires: tuple[str, ...] = ()  # runtime requirements the variant adds (written into the wheel)
    added_build_requires: tuple[str, ...] = ()
    dropped_requires: tuple[str, ...] = ()  # fnmatch patterns on published requirement names
    renamed_from: tuple[str, ...] = ()
    kernels: tuple[tuple[str, tuple[str, ...]], ...] = ()  # module pattern -> archs (empty: every arch)
    links: tuple[tuple[str, tuple[str, ...]], ...] = ()  # module pattern -> soname patterns it must link
    ships: tuple[str, ...] = ()  # wheel members (fnmatch) that must be there
    extra_sources: tuple[ExtraSource, ...] = ()  # fetched before the build, their paths in the build's env
    pins_read: tuple[tuple[str, str], ...] = ()  # constraint pins the hooks decided with (name, version or "")
    prebuilt_because: str | None = None  # the recipe's reason it is not built from source (Recipe(..., prebuilt=...))
    has_prepare: bool = False
    variant_specific: bool = False  # the recipe has hooks for this variant: its toolchain must be present

    @property
    def key_sha256(self) -> str:
        """What the recipe contributes to a source key: its file, and the pins its hooks read (a new triton pin is a new torch)."""
        if not self.pins_read:
            return self.recipe_sha256  # keys of recipes that read no pin stay what they were
        return hashlib.sha256(json.dumps([self.recipe_sha256, list(self.pins_read)]).encode()).hexdigest()

    def config(self) -> dict[str, Any] | None:
        return json.loads(self.config_settings) if self.config_settings is not None else None
