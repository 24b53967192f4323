"""One exception family, so the CLI can turn any bad input into a one-line message and exit 1."""

from __future__ import annotations


class WheelwrightError(Exception):
    """An error the user can act on: its message names the bad input and says what to do."""


class ConfigError(WheelwrightError):
    """The project's own files (variants, constraints, recipes, patches) are wrong."""


class ResolutionError(WheelwrightError):
    """No acceptable version of a requirement exists."""


class SourceError(WheelwrightError):
    """An sdist could not be fetched, verified, unpacked or patched."""


class BuildError(WheelwrightError):
    """A package's build failed; carries its log so the report can show the tail."""

    def __init__(self, message: str, log_path: str | None = None) -> None:
        super().__init__(message)
        self.log_path = log_path


class PublishError(WheelwrightError):
    """A wheel could not be written into the index (a full disk, a read-only mount); nothing was changed."""


class CycleError(WheelwrightError):
    """Packages need each other to build, so none of them can start."""


class OfflineMiss(SourceError):
    """``--offline`` needs something the local cache does not hold; the message names it."""

    def __str__(self) -> str:
        return f"{super().__str__()} (--offline: run once with the network to fill the cache, or copy a filled cache here)"
