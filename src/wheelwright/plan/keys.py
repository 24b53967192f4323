"""The content keys of a node, computed by the planner and the executor through these functions alone.

A key hashes every input that can change an output: unchanged key, reusable output. The planner fills
the keys whose input wheels are already recorded; the executor computes the same keys from the wheels
it actually installs, so a plan's key and the build's key can only differ when an input did.
"""

from __future__ import annotations

from collections.abc import Iterable

from wheelwright.config.interpreters import Interpreter
from wheelwright.config.variants import Variant
from wheelwright.run.cache import content_key


def source_key(*, identity: str, patches: Iterable[tuple[str, str]], recipe_sha256: str, variant: Variant,
               interpreter: Interpreter, source_date_epoch: int) -> str:
    """Everything that shapes the prepared source tree and the backend's view of it."""
    return content_key(
        sdist=identity,
        patches=[list(p) for p in patches],
        recipe=recipe_sha256,
        variant=variant.fingerprint(),
        python=[interpreter.markers["implementation_name"], interpreter.version, interpreter.markers["platform_machine"]],
        source_date_epoch=source_date_epoch,
    )


def discover_key(source: str, build_system_wheels: Iterable[str]) -> str:
    """What ``get_requires_for_build_wheel`` answers depends on the tree and on the backend's own wheels."""
    return content_key(source=source, wheels=sorted(build_system_wheels))


def wheel_key(discover: str, build_wheels: Iterable[str]) -> str:
    """The wheel depends on everything its build environment holds, byte for byte (early cutoff hangs on this)."""
    return content_key(discover=discover, wheels=sorted(build_wheels))
