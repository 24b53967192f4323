"""Why a node was rebuilt: which input of its cache key changed since the last time it was built here.

A key is a hash, so a miss alone says only "something changed". Each build records the inputs behind its key
(source, patches, recipe decisions, variant, interpreter, SOURCE_DATE_EPOCH, the build environment's wheels) under
the project and interpreter; the next miss of that project compares its inputs with them and names what differs.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Protocol

from wheelwright.config.variants import Variant
from wheelwright.plan.graph import NodeSpec


class Records(Protocol):
    def get(self, kind: str, key: str) -> dict[str, Any] | None: ...

    def put(self, kind: str, key: str, record: dict[str, Any]) -> None: ...


def key_inputs(*, version: str, source: str, patches: Sequence[tuple[str, str]], recipe: str, variant: str, python: str,
               source_date_epoch: int, build_wheels: Sequence[str]) -> dict[str, Any]:
    """The inputs the node's key hashes, in a form a person can compare (wheel file names, not only hashes)."""
    return {"version": version, "source": source, "patches": [name for name, _ in patches], "patch_hashes": [sha for _, sha in patches],
            "recipe": recipe, "variant": variant, "python": python, "source_date_epoch": source_date_epoch,
            "build_wheels": sorted(build_wheels)}


def node_inputs(spec: NodeSpec, variant: Variant, source_date_epoch: int, build_wheels: Sequence[Any]) -> dict[str, Any]:
    """``key_inputs`` of a node about to be built from these build-environment wheels (InputWheel: path, sha256)."""
    return key_inputs(version=spec.version, source=str(spec.source.sha256 or spec.source.git_commit or spec.source.url), patches=spec.patches,
                      recipe=spec.recipe.key_sha256, variant=variant.fingerprint(), python=spec.python, source_date_epoch=source_date_epoch,
                      build_wheels=[f"{w.path.name}#{w.sha256[:12]}" for w in build_wheels])


def remember_inputs(records: Records, project: str, python: str, current: Mapping[str, Any]) -> None:
    """After a successful build: what the next miss of this project compares with."""
    records.put("build-inputs", f"{project}-py{python}", dict(current))


def why_rebuilt(records: Records, project: str, python: str, current: Mapping[str, Any]) -> str:
    """What differs from the inputs of this project's last successful build here, in one line."""
    previous = records.get("build-inputs", f"{project}-py{python}")
    if previous is None:
        return "first build here: no earlier inputs recorded"
    changes = []
    if previous.get("version") != current["version"]:
        changes.append(f"version {previous.get('version')} -> {current['version']}")
    elif previous.get("source") != current["source"]:
        changes.append("source (its sha256 or commit)")
    if (previous.get("patches"), previous.get("patch_hashes")) != (current["patches"], current["patch_hashes"]):
        changes.append(f"patches {previous.get('patches')} -> {current['patches']}")
    for field, what in (("recipe", "recipe (its file or the pins it read)"), ("variant", "variant settings"), ("python", "interpreter"),
                        ("source_date_epoch", "SOURCE_DATE_EPOCH")):
        if previous.get(field) != current[field]:
            changes.append(what)
    before, after = set(previous.get("build_wheels", [])), set(current["build_wheels"])
    if before != after:
        changes.append("build environment: " + ", ".join([*(f"-{w}" for w in sorted(before - after)), *(f"+{w}" for w in sorted(after - before))]))
    return "; ".join(changes) or "same inputs as its last build here (the wheel record was missing or its file changed)"
