"""One exception family, so the CLI can turn any error into a one-line message and the exit code of its class
(EXIT_CODES_HELP; the README's "Exit codes" table): a CI step can tell bad input from a missing tool from a wrong wheel."""

from __future__ import annotations


EXIT_BUILD_FAILED, EXIT_BAD_INPUT, EXIT_TOOLCHAIN, EXIT_VERIFICATION = 1, 2, 3, 4
EXIT_CODES_HELP = ("exit codes: 0 ok; 1 a package failed to build, or a check found problems; 2 usage or bad input; "
                   "3 a tool this machine must provide is missing; 4 a wheel failed verification; 130 interrupted")


class WheelwrightError(Exception):
    """An error the user can act on: its message names the bad input and says what to do."""

    exit_code = EXIT_BUILD_FAILED


class ConfigError(WheelwrightError):
    """The project's own files (variants, constraints, recipes, patches) are wrong."""

    exit_code = EXIT_BAD_INPUT


class ResolutionError(WheelwrightError):
    """No acceptable version of a requirement exists."""

    exit_code = EXIT_BAD_INPUT


class SourceError(WheelwrightError):
    """An sdist could not be fetched, verified, unpacked or patched."""


class BuildError(WheelwrightError):
    """A package's build failed; carries its log so the report can show the tail."""

    def __init__(self, message: str, log_path: str | None = None) -> None:
        super().__init__(message)
        self.log_path = log_path


class VerificationFailed(BuildError):
    """A wheel was built but lacks what it must carry (the article's silent CPU-only wheel): nothing is published."""

    exit_code = EXIT_VERIFICATION


class ToolMissing(WheelwrightError):
    """A tool this machine must provide is absent or wrong (a compiler, unshare): nothing the project can fix."""

    exit_code = EXIT_TOOLCHAIN


class PublishError(WheelwrightError):
    """A wheel could not be written into the index (a full disk, a read-only mount); nothing was changed."""


class CycleError(WheelwrightError):
    """Packages need each other to build, so none of them can start."""


class OfflineMiss(SourceError):
    """``--offline`` needs something the local cache does not hold; the message names it."""

    def __str__(self) -> str:
        return f"{super().__str__()} (--offline: run once with the network to fill the cache, or copy a filled cache here)"
