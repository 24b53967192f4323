"""The licence report of a variant, read back from the SBOMs the build published (the SBOM is the
record; the report is a view of it)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from wheelwright.errors import WheelwrightError
from wheelwright.stages.licenses import proprietary


@dataclass(frozen=True)
class LicenseRow:
    package: str
    version: str
    license: str | None  # SPDX expression, None when unknown
    origin: str
    proprietary_grafts: tuple[str, ...]  # "libcudart.so.12 (NVIDIA CUDA Toolkit EULA)"
    unknown_grafts: tuple[str, ...] = ()  # grafted libraries whose licence nobody stated ("libfoo.so.1 (from /opt/x/libfoo.so.1)")


@dataclass(frozen=True)
class LicenseReport:
    rows: tuple[LicenseRow, ...]

    @property
    def problems(self) -> list[str]:
        found = [f"{r.package} {r.version}: licence unknown ({r.origin})" for r in self.rows if r.license is None]
        found += [f"{r.package} {r.version}: grafts proprietary {g}" for r in self.rows for g in r.proprietary_grafts]
        found += [f"{r.package} {r.version}: grafts {g} whose licence is unknown" for r in self.rows for g in r.unknown_grafts]
        return found

    def render(self) -> str:
        width = max([len(r.package) for r in self.rows] + [7])
        lines = [f"{'package'.ljust(width)}  {'version':<12}  licence"]
        for row in self.rows:
            licence = row.license or "UNKNOWN"
            grafts = [*row.proprietary_grafts, *(f"{g}: licence unknown" for g in row.unknown_grafts)]
            lines.append(f"{row.package.ljust(width)}  {row.version:<12}  {licence}" + (f"  [grafts: {', '.join(grafts)}]" if grafts else ""))
        problems = self.problems
        lines.append(f"{len(self.rows)} wheels; " + (f"{len(problems)} to review:" if problems else "every licence known, grafted libraries included, nothing proprietary grafted"))
        lines += [f"  - {p}" for p in problems]
        return "\n".join(lines)


def license_report(output_dir: Path) -> LicenseReport:
    """One row per wheel the index holds (its manifest, index.json, names each wheel's SBOM): never a wheel
    of another index, never a stale SBOM of a file the index does not have."""
    manifest = output_dir / "index.json"
    if not manifest.is_file():
        raise WheelwrightError(f"{output_dir}: no index manifest (index.json); build the variant first")
    wheels = json.loads(manifest.read_text()).get("wheels", {})
    files = []
    for filename, entry in sorted(wheels.items()):
        if not entry.get("sbom"):
            raise WheelwrightError(f"{manifest}: {filename} has no SBOM on record (published before the manifest?); rebuild it")
        files.append(output_dir / entry["sbom"])
    if not files:
        raise WheelwrightError(f"{manifest}: the index holds no wheels; build the variant first")
    rows = []
    for path in files:
        if not path.is_file():
            raise WheelwrightError(f"{path}: the SBOM the index manifest names is missing")
        try:
            document = json.loads(path.read_text())
        except ValueError as exc:
            raise WheelwrightError(f"{path}: not valid JSON: {exc}") from None
        main = document["metadata"]["component"]
        props = {p["name"]: p["value"] for p in main.get("properties", [])}
        expressions = [entry.get("expression") or entry.get("license", {}).get("id") for entry in main.get("licenses", [])]
        grafts, unknown = [], []
        for component in document.get("components", []):
            cprops = {p["name"]: p["value"] for p in component.get("properties", [])}
            if cprops.get("wheelwright:role") != "grafted-library":
                continue
            if terms := proprietary(component["name"]):
                grafts.append(f"{component['name']} ({terms.terms})")
            elif not component.get("licenses"):
                unknown.append(f"{component['name']} (from {cprops.get('wheelwright:origin-path', 'an unknown path')})")
        rows.append(LicenseRow(main["name"], main.get("version", ""), " AND ".join(e for e in expressions if e) or None,
                               props.get("wheelwright:license-origin", "SBOM"), tuple(sorted(grafts)), tuple(sorted(unknown))))
    return LicenseReport(tuple(sorted(rows, key=lambda r: (r.package, r.version))))
