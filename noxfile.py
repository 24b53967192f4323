"""Thin by design: sessions are generated from recipes/ x variants.toml by the engine.

Pass engine options after `--`, e.g. `nox -s build-cpu -- --jobs 2 --only markupsafe requests`.
Tags group them: `nox -l -t rocm` (a variant), `nox -l -t plan` (a kind), `nox -l -t torch` (a recipe's package).
"""

import logging
import sys
from pathlib import Path

import nox


def _quiet_libraries() -> None:
    """nox sets the root logger to DEBUG with its own handler, so every library the noxfile imports (py_serializable
    registers ~800 classes at DEBUG) would print through it: that handler passes nox's records, and only warnings of others."""
    for handler in logging.getLogger().handlers:
        if handler.get_name() == "nox-stream-handler":
            handler.addFilter(lambda record: record.name.split(".")[0] == "nox" or record.levelno >= logging.WARNING)


_quiet_libraries()

try:
    from wheelwright.sessions import engine_sessions
except ImportError:  # a fresh clone before `pip install -e`: the engine is right here
    sys.path.insert(0, str(Path(__file__).parent / "src"))
    try:
        from wheelwright.sessions import engine_sessions
    except ImportError as missing:
        sys.exit(f"nox: the engine's dependencies are not installed (no module {missing.name!r}); run: python3 -m pip install -e '.[test]'")

nox.options.default_venv_backend = "none"
nox.options.sessions = ["build-cpu"]


def _engine_session(argv: tuple[str, ...], doc: str):
    def session(session: nox.Session) -> None:
        session.run(sys.executable, "-m", "wheelwright", *argv, *session.posargs, external=True)

    session.__doc__ = doc
    return session


SPECS = engine_sessions(Path(__file__).parent)
for spec in SPECS:
    nox.session(name=spec.name, python=False, tags=list(spec.tags))(_engine_session(spec.argv, spec.doc))


def _hint_misspelt_sessions(argv: list[str], known: list[str]) -> None:
    """nox says "Sessions not found"; say which one was meant."""
    import difflib

    asked = [argv[i + 1] for i, a in enumerate(argv[:-1]) if a in ("-s", "--session", "--sessions", "-e")]
    asked += [a.split("=", 1)[1] for a in argv if a.startswith(("--session=", "--sessions="))]
    for name in (n for item in asked for n in item.split(",")):
        if name not in known and (close := difflib.get_close_matches(name, known, n=1, cutoff=0.6)):
            print(f"nox: no session {name!r} (did you mean {close[0]!r}?)", file=sys.stderr)


_hint_misspelt_sessions(sys.argv, [s.name for s in SPECS] + ["tests", "lint"])


@nox.session(python=False, tags=["tests"])
def tests(session: nox.Session) -> None:
    """Lint (ruff), types (mypy --strict on the engine), then unit and end-to-end tests (the e2e tests build real trees from PyPI)."""
    lint(session)
    session.run(sys.executable, "-m", "pytest", *(session.posargs or ["-n", "2", "--dist", "loadgroup"]), external=True)


@nox.session(python=False, tags=["lint"])
def lint(session: nox.Session) -> None:
    """ruff on the engine and the tests, mypy (strict, configured in pyproject.toml) on the engine."""
    session.run(sys.executable, "-m", "ruff", "check", "src", "tests", "noxfile.py", external=True)
    session.run(sys.executable, "-m", "mypy", external=True)
