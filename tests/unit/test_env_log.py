"""Each build's log shows, near its top and before any backend hook runs, the environment the build got after the
allow-list: sorted, with secret-looking values masked and the host's other variables absent."""

from __future__ import annotations

from fakepypi import FakeProject

RECIPE = "from wheelwright import Recipe\nrecipe = Recipe('envlog')\n\n@recipe.env()\ndef env(ctx):\n    return {'MY_API_TOKEN': 'hunter2', 'FROM_RECIPE': 'yes'}\n"


def test_build_log_starts_with_the_environment_after_the_allow_list(workspace, fake_pypi, capsys, monkeypatch):
    monkeypatch.setenv("WHEELWRIGHT_TEST_LEAK", "1")
    monkeypatch.setenv("PYTHONPATH", "/somewhere")
    fake_pypi.add(FakeProject("envlog"))
    workspace.write("recipes/envlog.py", RECIPE)
    run = workspace.build(capsys, "envlog")
    assert run.code == 0, run.err
    log = (workspace.output / "logs" / "envlog-1.0.log").read_text()
    assert log.count("# environment (after the allow-list):\n") == 1
    lines = log.splitlines()
    start = lines.index("# environment (after the allow-list):")
    block = []
    for line in lines[start + 1:]:
        if not line.startswith("#   "):
            break
        block.append(line.removeprefix("#   "))
    keys = [line.split("=", 1)[0] for line in block]
    assert keys == sorted(keys)
    assert "SOURCE_DATE_EPOCH=315532800" in block and "PIP_CONFIG_FILE=/dev/null" in block and "FROM_RECIPE=yes" in block
    assert "MY_API_TOKEN=***" in block and "hunter2" not in log
    assert "WHEELWRIGHT_TEST_LEAK" not in log and "PYTHONPATH" not in keys
    assert all(line.startswith("# ") for line in lines[:start])  # only the prepare header comes before it
    assert log.index("# environment (after the allow-list):") < log.index("get_requires_for_build_wheel")

