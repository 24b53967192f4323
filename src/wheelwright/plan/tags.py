"""Wheel tags a target interpreter installs, on this machine's platform."""

from __future__ import annotations

from packaging.tags import Tag, compatible_tags, cpython_tags

from wheelwright.config.interpreters import Interpreter


def target_tags(interpreter: Interpreter) -> frozenset[Tag]:
    version = tuple(int(p) for p in interpreter.version.split("."))
    return frozenset([*cpython_tags(version), *compatible_tags(version)])
