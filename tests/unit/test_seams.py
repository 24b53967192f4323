"""The seams the stages use are Protocols with more than one implementation: isolation and reporters."""

from __future__ import annotations

import io
import json
from collections.abc import Sequence
from dataclasses import dataclass, field

from packaging.version import Version

from wheelwright.config.variants import load_variants, select_variant
from wheelwright.recipes.api import RecipeContext
from wheelwright.run.events import CollectingReporter, FanOut, JsonLinesReporter, NodeFinished, Note, TextReporter
from wheelwright.sandbox.isolation import Isolation


@dataclass
class RecordingIsolation:
    """An Isolation that runs the command as is and remembers it: the recipe command goes through wrap."""

    isolated: bool = False
    description: str = "recording (test)"
    seen: list[list[str]] = field(default_factory=list)

    def wrap(self, command: Sequence[str]) -> list[str]:
        self.seen.append(list(command))
        return list(command)


def test_recipe_commands_go_through_the_isolation_they_are_given(tmp_path, workspace):
    variant = select_variant(load_variants(workspace.root / "variants.toml"), "cpu", None)
    isolation: Isolation = RecordingIsolation()
    ctx = RecipeContext(name="x", version=Version("1"), variant=variant, python_version="3.11", source_dir=tmp_path, jobs=1, network=isolation)
    ctx.run(["true"])
    assert isolation.seen == [["true"]]  # type: ignore[attr-defined]


def test_reporters_receive_the_same_events():
    text, lines = io.StringIO(), io.StringIO()
    collected = CollectingReporter()
    reporter = FanOut(TextReporter(text), JsonLinesReporter(lines), collected)
    reporter.report(NodeFinished("app==1.0", "built", "app-1.0-py3-none-any.whl", 1.25))
    reporter.report(Note("re-planned: something"))
    assert text.getvalue() == "  built app==1.0 -> app-1.0-py3-none-any.whl (1.2s)\nre-planned: something\n"
    assert [json.loads(line)["event"] for line in lines.getvalue().splitlines()] == ["NodeFinished", "Note"]
    assert len(collected.events) == 2
