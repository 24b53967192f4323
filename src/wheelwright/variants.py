"""Accelerator variants, defined as data in ``variants.toml`` and loaded into frozen objects."""

from __future__ import annotations

import hashlib
import json
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from .errors import ConfigError


@dataclass(frozen=True, kw_only=True)
class Variant:
    """One accelerator target: what every build for it shares."""

    name: str
    description: str
    env: Mapping[str, str] = field(default_factory=dict)
    constraints: tuple[str, ...] = ()
    stack: tuple[str, ...] = ()

    def fingerprint(self) -> str:
        """Hash of every setting that can change a wheel built for this variant (part of cache keys)."""
        payload = json.dumps(
            {"name": self.name, "env": dict(sorted(self.env.items())), "constraints": list(self.constraints)},
            sort_keys=True,
        )
        return hashlib.sha256(payload.encode()).hexdigest()


def load_variants(path: Path) -> dict[str, Variant]:
    """Read every variant in ``path``; a malformed file is a ConfigError naming it."""
    try:
        data = tomllib.loads(path.read_text())
    except FileNotFoundError:
        raise ConfigError(f"{path}: variants file not found") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML: {exc}") from None
    variants: dict[str, Variant] = {}
    for name, table in data.get("variant", {}).items():
        try:
            variants[name] = Variant(
                name=name,
                description=str(table.get("description", name)),
                env={str(k): str(v) for k, v in table.get("env", {}).items()},
                constraints=tuple(table.get("constraints", ())),
                stack=tuple(table.get("stack", ())),
            )
        except (TypeError, AttributeError) as exc:
            raise ConfigError(f"{path}: variant {name!r} is malformed: {exc}") from None
    if not variants:
        raise ConfigError(f"{path}: defines no [variant.*] tables")
    return variants


def select_variant(variants: Mapping[str, Variant], name: str) -> Variant:
    """Look a variant up by name, listing the known ones when it is unknown."""
    try:
        return variants[name]
    except KeyError:
        raise ConfigError(f"unknown variant {name!r}; known variants: {', '.join(sorted(variants))}") from None
