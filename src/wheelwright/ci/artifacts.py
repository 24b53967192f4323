"""What a CI job hands on, and how the last job puts the pieces together.

``collect``: a slice's own outputs (its nodes' wheels, their manifest entries, SBOMs, the facts the stack SBOM
is made from, and logs) into one directory, the job's artifact, laid out so that merged artifacts are again
a ``simple/`` tree a slice can take wheels from. ``merge``: every artifact into one index through the same
``LocalIndex.publish`` a build uses (so two jobs that made other bytes under one name fail here, loudly)."""

from __future__ import annotations

import json
import shutil
from collections.abc import Sequence
from pathlib import Path

from wheelwright.errors import WheelwrightError
from wheelwright.fsutil import atomic_write_text
from wheelwright.stages.localindex import LocalIndex


def collect(output_dir: Path, nodes: Sequence[str], into: Path) -> list[str]:
    """Copy the wheels this slice built (or took as vendor wheels) for ``nodes``; returns their file names."""
    manifest = LocalIndex(output_dir / "simple").manifest()
    wanted = {n.strip() for n in nodes if n.strip()}
    chosen = {name: entry for name, entry in manifest.items()
              if entry.get("node") in wanted or _bare(entry.get("node", "")) in wanted or entry.get("status") in ("built", "prebuilt")}
    # ... and what the slice built besides (a need only a backend revealed): a full build publishes it too
    missing = sorted(wanted - {e["node"] for e in chosen.values()} - {_bare(e["node"]) for e in chosen.values()})
    if missing:
        raise WheelwrightError(f"{output_dir}: no published wheel for {', '.join(missing)}; did the slice build them?")
    for name, entry in sorted(chosen.items()):
        project = entry["project"]
        _copy(output_dir / "simple" / project / name, into / "simple" / project / name)
        atomic_write_text(into / "manifest" / f"{name}.json", json.dumps(entry, indent=1, sort_keys=True) + "\n")
        if entry.get("sbom"):
            _copy(output_dir / entry["sbom"], into / "sbom" / Path(entry["sbom"]).name)
        facts = output_dir / ".state" / "facts" / f"{entry['sha256']}.json"
        if facts.is_file():
            _copy(facts, into / "facts" / facts.name)
        for log in sorted((output_dir / "logs").glob(f"{project}-{entry['version']}*.log")):
            _copy(log, into / "logs" / log.name)
    return sorted(chosen)


def _bare(node: str) -> str:
    return node.split("@", 1)[0]


def _copy(source: Path, target: Path) -> None:
    if not source.is_file():
        raise WheelwrightError(f"{source}: missing; the slice's outputs are incomplete")
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(source, target)


def merge(artifacts: Path, output_dir: Path, variant: str) -> list[str]:
    """Publish every artifact's wheels into ``output_dir/simple`` with their manifest entries; SBOMs, facts and logs
    beside them. Returns the wheel file names."""
    index = LocalIndex(output_dir / "simple")
    names = []
    for entry_file in sorted((artifacts / "manifest").glob("*.json")):
        name = entry_file.name.removesuffix(".json")
        entry = json.loads(entry_file.read_text())
        wheel = artifacts / "simple" / entry["project"] / name
        if not wheel.is_file():
            raise WheelwrightError(f"{entry_file}: its wheel {wheel} is not in the artifacts")
        index.publish(wheel, entry, variant)
        names.append(name)
    if not names:
        raise WheelwrightError(f"{artifacts}: no job outputs (manifest/*.json) to merge")
    for kind, target in (("sbom", output_dir / "sbom"), ("facts", output_dir / ".state" / "facts"), ("logs", output_dir / "logs")):
        for path in sorted((artifacts / kind).glob("*")):
            _copy(path, target / path.name)
    return names
