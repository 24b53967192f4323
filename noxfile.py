"""Thin by design: sessions are generated from recipes/ x variants.toml by the engine.

Pass engine options after `--`, e.g. `nox -s build-cpu -- --jobs 2 --only markupsafe requests`.
Tags group them: `nox -l -t rocm` (a variant), `nox -l -t plan` (a kind), `nox -l -t torch` (a recipe's package).
"""

import sys
from pathlib import Path

import nox

from wheelwright.sessions import engine_sessions

nox.options.default_venv_backend = "none"
nox.options.sessions = ["build-cpu"]


def _engine_session(argv: tuple[str, ...], doc: str):
    def session(session: nox.Session) -> None:
        session.run(sys.executable, "-m", "wheelwright", *argv, *session.posargs, external=True)

    session.__doc__ = doc
    return session


for spec in engine_sessions(Path(__file__).parent):
    nox.session(name=spec.name, python=False, tags=list(spec.tags))(_engine_session(spec.argv, spec.doc))


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
