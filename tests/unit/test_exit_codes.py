"""The README's exit-code table is the contract a CI step scripts against: it must say what errors.py does."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from wheelwright import errors
from wheelwright.cli import main
from wheelwright.config.toolchain import ToolchainError

README = Path(__file__).resolve().parents[2] / "README.md"


def _table() -> dict[int, str]:
    section = README.read_text().split("## Exit codes", 1)[1].split("\n## ", 1)[0]
    return {int(m.group(1)): m.group(2) for m in re.finditer(r"^\| (\d+) \| ([^|]+) \|", section, re.M)}


def test_the_readme_table_names_every_class_code():
    table = _table()
    assert set(table) == {0, 1, 2, 3, 4, 130}
    assert "build" in table[errors.EXIT_BUILD_FAILED] and "bad input" in table[errors.EXIT_BAD_INPUT]
    assert "missing" in table[errors.EXIT_TOOLCHAIN] and "verification" in table[errors.EXIT_VERIFICATION]


@pytest.mark.parametrize(("error", "code"), [
    (errors.WheelwrightError, 1), (errors.SourceError, 1), (errors.BuildError, 1), (errors.PublishError, 1),
    (errors.ConfigError, 2), (errors.ResolutionError, 2),
    (errors.ToolMissing, 3), (ToolchainError, 3),
    (errors.VerificationFailed, 4),
])
def test_each_error_class_has_its_documented_code(error, code):
    assert error.exit_code == code


def test_usage_errors_exit_2_before_anything_runs(capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["build", "--no-such-option"])
    assert exit_info.value.code == 2 and "unrecognized arguments: --no-such-option" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["--help"])
    assert errors.EXIT_CODES_HELP in capsys.readouterr().out.replace("\n", " ")


def test_a_missing_toolchain_exits_3(workspace, capsys, monkeypatch, tmp_path):
    monkeypatch.setenv("PATH", f"{tmp_path}:/usr/bin:/bin")
    (tmp_path / "hipcc").write_text("#!/bin/sh\necho 'HIP version: 5.2.0'\n")
    (tmp_path / "hipcc").chmod(0o755)
    assert main(["--project", str(workspace.root), "toolchain", "--variant", "rocm"]) == 3
    out = capsys.readouterr().out
    assert "WRONG\thipcc" in out and "builder image for rocm-7.1" in out, out
