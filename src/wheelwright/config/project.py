"""Where a Wheelwright monorepo keeps things, found from its root directory."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from wheelwright.errors import ConfigError


@dataclass(frozen=True)
class Project:
    root: Path

    @property
    def variants_file(self) -> Path:
        return self.root / "variants.toml"

    @property
    def recipes_dir(self) -> Path:
        return self.root / "recipes"

    @property
    def patches_dir(self) -> Path:
        return self.root / "patches"

    @property
    def constraints_dir(self) -> Path:
        return self.root / "constraints"

    def output_dir(self, variant: str) -> Path:
        return self.root / "build" / variant

    @classmethod
    def at(cls, root: Path) -> Project:
        root = root.resolve()
        if not (root / "variants.toml").exists():
            raise ConfigError(f"{root}: not a Wheelwright project (no variants.toml); pass --project DIR")
        return cls(root)
