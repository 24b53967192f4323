"""Every option of every command has a help text, and --variant / --accelerator-version list their choices."""

from __future__ import annotations

import argparse

from helpers import REPO

from wheelwright.cli import _parser, main
from wheelwright.tools.helptexts import fill_help


def test_every_option_says_what_it_does():
    missing = []

    def walk(parser: argparse.ArgumentParser, path: str) -> None:
        for action in parser._actions:
            if isinstance(action, argparse._SubParsersAction):
                for name, sub in action.choices.items():
                    walk(sub, f"{path} {name}")
            elif action.option_strings and action.help is None:
                missing.append(f"{path} {action.option_strings[0]}")

    walk(fill_help(_parser(), REPO), "wheelwright")
    assert not missing


def test_variant_help_lists_the_families_and_their_versions(capsys):
    try:
        main(["--project", str(REPO), "build", "--help"])
    except SystemExit as done:
        assert done.code == 0
    text = " ".join(capsys.readouterr().out.split())
    assert "one of: cpu, cuda, rocm, gaudi, tpu, spyre" in text and "cuda: 12.9, 13.0 (default 13.0)" in text and "rocm: 6.4, 7.1" in text
