"""The version matrix: every pinned package x every variant-version, so a glance shows where the
cpu, cuda, rocm… stacks diverge (and a wrong pin stands out)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from wheelwright.config.constraints import Constraints, load_constraints
from wheelwright.config.variants import Variant


@dataclass(frozen=True)
class VersionMatrix:
    variants: tuple[str, ...]
    cells: dict[str, dict[str, str]]  # package -> variant label -> pin ("" when unconstrained)
    sources: dict[str, str]  # variant label -> "pins" or the lock file the cells came from

    def differs(self, package: str) -> bool:
        values = {self.cells[package].get(v, "") for v in self.variants}
        return len(values) > 1

    def to_json(self) -> str:
        return json.dumps(
            {"variants": list(self.variants), "sources": self.sources,
             "packages": {p: {v: self.cells[p].get(v, "") for v in self.variants} for p in sorted(self.cells)},
             "differs": [p for p in sorted(self.cells) if self.differs(p)]},
            indent=1,
        )

    def render(self, highlight: bool = False) -> str:
        """A text table; rows that differ across variants are marked `*` (and bold on a terminal)."""
        header = ["", "package", *self.variants]
        rows = [header]
        for package in sorted(self.cells):
            mark = "*" if self.differs(package) else ""
            rows.append([mark, package, *(self.cells[package].get(v, "") or "-" for v in self.variants)])
        widths = [max(len(r[i]) for r in rows) for i in range(len(header))]
        lines = []
        for index, row in enumerate(rows):
            text = "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip()
            if highlight and index and row[0] == "*":
                text = f"\033[1m{text}\033[0m"
            lines.append(text)
        lines.append("* = differs across variants; cells are the constraint (== pins shown as the version)"
                     + ("; locked versions where a <variant>.lock.txt exists" if any(s != "pins" for s in self.sources.values()) else ""))
        return "\n".join(lines)


def build_matrix(variants: Sequence[Variant], constraints_dir: Path) -> VersionMatrix:
    cells: dict[str, dict[str, str]] = {}
    sources: dict[str, str] = {}
    for variant in variants:
        lock = constraints_dir / f"{variant.label}.lock.txt"
        files = [lock] if lock.exists() else [constraints_dir / c for c in variant.constraints]
        sources[variant.label] = lock.name if lock.exists() else "pins"
        for name, text in _pins(load_constraints(files)).items():
            cells.setdefault(name, {})[variant.label] = text
    return VersionMatrix(tuple(v.label for v in variants), cells, sources)


def _pins(constraints: Constraints) -> dict[str, str]:
    result: dict[str, str] = {}
    for name in constraints.by_name:
        specifier = constraints.specifier_for(name)
        exact = [s.version for s in specifier if s.operator == "=="]
        result[name] = exact[0] if len(exact) == 1 and len(specifier) == 1 else str(specifier)
    return result
