"""The engine never prints: it sends events to a Reporter. The terminal lines, a JSON-lines stream and
(later) the live progress view and the HTML report are reporters."""

from __future__ import annotations

import json
import threading
from dataclasses import asdict, dataclass
from typing import Protocol, TextIO

from wheelwright.errors import EXIT_BUILD_FAILED


@dataclass(frozen=True)
class NodeStarted:
    node: str
    stage: str  # discover | build | fetch


@dataclass(frozen=True)
class NodeFinished:
    node: str
    status: str  # built | cached | prebuilt | index | shared
    wheel: str
    seconds: float


@dataclass(frozen=True)
class NodeFailed:
    node: str
    message: str
    log: str | None
    exit_code: int = EXIT_BUILD_FAILED  # its error class's (errors.py): EXIT_VERIFICATION when the wheel failed verification


@dataclass(frozen=True)
class NodeSkipped:
    node: str
    because: str  # the failed node it needed


@dataclass(frozen=True)
class Note:
    text: str


Event = NodeStarted | NodeFinished | NodeFailed | NodeSkipped | Note


class Reporter(Protocol):
    def report(self, event: Event) -> None: ...


class TextReporter:
    """One line per finished package and per note, as a person reads a build."""

    def __init__(self, stream: TextIO) -> None:
        self.stream = stream
        self._lock = threading.Lock()

    def report(self, event: Event) -> None:
        if isinstance(event, NodeFinished):
            line = f"{event.status:>7} {event.node} -> {event.wheel} ({event.seconds:.1f}s)"
        elif isinstance(event, Note):
            line = event.text
        elif isinstance(event, NodeSkipped):
            line = f"skipped {event.node}: it needs {event.because}, which failed"
        else:  # a failure is reported once, with its log's tail, by whoever ends the run
            return
        with self._lock:
            self.stream.write(line + "\n")
            self.stream.flush()


class JsonLinesReporter:
    """Every event as a JSON object per line, for tools (and tests) that follow a build."""

    def __init__(self, stream: TextIO) -> None:
        self.stream = stream
        self._lock = threading.Lock()

    def report(self, event: Event) -> None:
        with self._lock:
            self.stream.write(json.dumps({"event": type(event).__name__, **asdict(event)}) + "\n")


class CollectingReporter:
    """Keeps the events (tests, and the report writers that summarise a run)."""

    def __init__(self) -> None:
        self.events: list[Event] = []

    def report(self, event: Event) -> None:
        self.events.append(event)


class FanOut:
    def __init__(self, *reporters: Reporter) -> None:
        self.reporters = reporters

    def report(self, event: Event) -> None:
        for reporter in self.reporters:
            reporter.report(event)
