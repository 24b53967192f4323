"""Package renames (aiter -> amd-aiter), from renames.toml and from recipes' ``renamed_from``."""

from __future__ import annotations

import tomllib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from packaging.utils import NormalizedName, canonicalize_name

from wheelwright.errors import ConfigError


@dataclass(frozen=True)
class Rename:
    old: NormalizedName
    new: NormalizedName
    note: str


@dataclass(frozen=True)
class Renames:
    by_old: Mapping[NormalizedName, Rename] = field(default_factory=dict)

    def current(self, name: str) -> NormalizedName:
        """Follow renames to the name the package is published under today."""
        seen: set[str] = set()
        current = canonicalize_name(name)
        while current in self.by_old and current not in seen:
            seen.add(current)
            current = self.by_old[current].new
        return current

    def renamed(self, name: str) -> Rename | None:
        return self.by_old.get(canonicalize_name(name))

    def former_names(self, name: str) -> list[NormalizedName]:
        target = canonicalize_name(name)
        return sorted(old for old in self.by_old if self.current(old) == target)


def load_renames(path: Path, extra: Iterable[Rename] = ()) -> Renames:
    by_old: dict[NormalizedName, Rename] = {}
    if path.exists():
        try:
            table = tomllib.loads(path.read_text()).get("renames", {})
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(f"{path}: not valid TOML: {exc}") from None
        for old, entry in table.items():
            if not isinstance(entry, dict) or "to" not in entry:
                raise ConfigError(f"{path}: renames.{old} needs `to = \"new-name\"`")
            rename = Rename(canonicalize_name(old), canonicalize_name(entry["to"]), str(entry.get("note", "")))
            by_old[rename.old] = rename
    for rename in extra:
        by_old.setdefault(rename.old, rename)
    return Renames(by_old)
