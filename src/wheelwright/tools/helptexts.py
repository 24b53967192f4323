"""Every option of every command says what it does: options shared by many commands get their help here, once,
with the choices read from the project's variants.toml (the --variant families, each family's accelerator versions)."""

from __future__ import annotations

import argparse
import sys
import tomllib
from pathlib import Path


def _matrix(root: Path) -> tuple[str, str]:
    """"cpu, cuda, …" and "cuda: 12.9, 13.0 (default 13.0); rocm: …" from variants.toml, where there is one."""
    try:
        families = tomllib.loads((root / "variants.toml").read_text()).get("variant", {})
    except (OSError, tomllib.TOMLDecodeError):
        return "see variants.toml", "see variants.toml"
    rows = [f"{name}: {', '.join(table['versions'])} (default {table.get('default_version', '?')})"
            for name, table in families.items() if table.get("versions")]
    return ", ".join(families), "; ".join(rows)


def shared_help(root: Path) -> dict[str, str]:
    variants, versions = _matrix(root)
    return {
        "variant": f"accelerator family, one of: {variants} (default cpu)",
        "accelerator_version": f"a row of the family's matrix — {versions}",
        "python": "target interpreter X.Y (several: X.Y,X.Y share one plan; default 3.11)",
        "index_url": "the PEP 503/691 index sdists and metadata come from (default PyPI)",
        "cache_dir": "downloads, index pages and uv's cache (default ~/.cache/wheelwright); shared by every run",
        "output_dir": "the variant's build directory: simple/, sbom/, logs/, report.json (default build/<variant>)",
        "jobs": "packages built at once (default: the number of cores)",
        "refresh": "re-read index pages instead of using cached ones",
        "json": "print JSON instead of a table",
        "format": "output format",
        "plan": "a plan file (plan.json from `wheelwright plan`) to follow instead of planning again",
        "nodes": "only these nodes of the plan (NAME==VER[,...])",
        "into": "the directory the collected wheels and records go to",
    }


def fill_help(parser: argparse.ArgumentParser, root: Path) -> argparse.ArgumentParser:
    """Give every option without help the shared text for its destination (a new option without either is a test failure)."""
    texts = shared_help(root)
    variants, versions = _matrix(root)
    choices = {"variant": f"one of: {variants}", "accelerator_version": versions}

    def walk(current: argparse.ArgumentParser) -> None:
        for action in current._actions:
            if isinstance(action, argparse._SubParsersAction):
                for sub in action.choices.values():
                    walk(sub)
            elif action.option_strings and action.dest in texts and action.help is None:
                action.help = texts[action.dest]
            elif action.option_strings and action.dest in choices and choices[action.dest] not in (action.help or ""):
                action.help = f"{action.help} — {choices[action.dest]}"  # --variant and --accelerator-version always list their choices

    walk(parser)
    return parser


def project_root(argv: list[str] | None) -> Path:
    """--project as given (before parsing: --help needs it to list the variants), else the current directory."""
    args = sys.argv[1:] if argv is None else argv
    for i, arg in enumerate(args):
        if arg == "--project" and i + 1 < len(args):
            return Path(args[i + 1])
        if arg.startswith("--project="):
            return Path(arg.split("=", 1)[1])
    return Path(".")


def installed_version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("wheelwright")
    except PackageNotFoundError:
        return "(not installed)"
