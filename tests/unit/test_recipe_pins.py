"""Recipes decide with the variant's pins (torch's triton==3.6.0 requirement comes from the constraints): a pin a
hook reads is part of the node's cache key, a pin it needs and lacks is one error line, and a recipe that says its
package cannot be built from source (`prebuilt=`) is planned only as a vendor wheel."""

from __future__ import annotations

from fakepypi import FakeProject

PIN_READER = """from wheelwright import Recipe
recipe = Recipe('reader')

@recipe.env()
def env(ctx):
    return {'TOOL_PIN': ctx.pin('sometool')}
"""


def test_a_pin_a_hook_reads_is_part_of_the_key_and_a_missing_one_is_refused(workspace, fake_pypi, capsys):
    fake_pypi.add(FakeProject("reader", print_env=True))
    workspace.write("recipes/reader.py", PIN_READER)
    constraints = workspace.root / "constraints" / "cpu.txt"
    base = constraints.read_text()
    constraints.write_text(base + "sometool==1.0\n")
    assert workspace.build(capsys, "reader").code == 0
    assert "ENV TOOL_PIN=1.0" in (workspace.output / "logs" / "reader-1.0.log").read_text()
    assert workspace.build(capsys, "reader").code == 0 and workspace.statuses()["reader==1.0"] == "cached"
    constraints.write_text(base + "sometool==2.0\n")  # nothing about reader's own source changed, but its recipe's decision did
    assert workspace.build(capsys, "reader").code == 0 and workspace.statuses()["reader==1.0"] == "built"
    assert "ENV TOOL_PIN=2.0" in (workspace.output / "logs" / "reader-1.0.log").read_text()
    constraints.write_text(base)
    run = workspace.build(capsys, "reader")
    assert run.code != 0 and "reader 1.0: the recipe needs a == pin of sometool in the cpu constraints" in run.error, run.err


def test_a_recipe_that_cannot_build_from_source_is_refused_with_its_reason(workspace, fake_pypi, capsys):
    fake_pypi.add(FakeProject("bazelish"))
    workspace.write("recipes/bazelish.py", "from wheelwright import Recipe\n"
                                           "recipe = Recipe('bazelish', prebuilt='its Bazel build downloads mid-build')\n")
    run = workspace.plan(capsys, "bazelish")
    assert run.code != 0
    assert ("bazelish: recipes/bazelish.py does not build it from source (its Bazel build downloads mid-build); variant cpu would "
            "have to take it prebuilt") in run.err, run.err
