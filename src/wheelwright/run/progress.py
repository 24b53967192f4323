"""Progress a person can follow, on the reporter seam: a live view on a terminal, plain lines in a CI log.

On a terminal (rich): the running builds (package, stage, elapsed), done/total with failures and cache hits, an ETA
from the durations the last run recorded, and the log tail of a build that failed. Without one: a line when each
package starts building and when it ends, and a heartbeat naming what is still building (torch compiles for hours),
never a redrawing display. The end-of-build summary is outputs/buildsummary.py's.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

if TYPE_CHECKING:
    from rich.table import Table

from wheelwright.run.events import Event, NodeFailed, NodeFinished, NodeSkipped, NodeStarted, Note


class _Tracker:
    """What is running, what is done: the state both views draw."""

    def __init__(self, total: int, expected: Mapping[str, float]) -> None:
        self.total, self.expected = total, dict(expected)
        self.running: dict[str, tuple[str, float]] = {}
        self.done: dict[str, str] = {}
        self.failed: list[NodeFailed] = []
        self.started_at = time.monotonic()

    def update(self, event: Event) -> None:
        if isinstance(event, NodeStarted):
            self.running[event.node] = (event.stage, self.running.get(event.node, (event.stage, time.monotonic()))[1])
        elif isinstance(event, NodeFinished):
            self.running.pop(event.node, None)
            self.done[event.node] = event.status
        elif isinstance(event, NodeFailed):
            self.running.pop(event.node, None)
            self.done[event.node] = "failed"
            self.failed.append(event)
        elif isinstance(event, NodeSkipped):
            self.done[event.node] = "skipped"

    def eta(self) -> float | None:
        """Seconds left by the last run's durations of what has not finished, spread over the running builds."""
        if not self.expected:
            return None
        now, left = time.monotonic(), 0.0
        for node, seconds in self.expected.items():
            if node in self.done:
                continue
            left += max(0.0, seconds - (now - self.running[node][1])) if node in self.running else seconds
        return left / max(1, len(self.running))

    def counts(self) -> str:
        statuses = list(self.done.values())
        cached = statuses.count("cached")
        failed = statuses.count("failed")
        return f"{len(self.done)}/{self.total or '?'} done" + (f", {cached} cached" if cached else "") + (f", {failed} failed" if failed else "")


class LineProgress:
    """CI logs: a line per start and end, a heartbeat every ``heartbeat`` seconds while something builds."""

    def __init__(self, stream: TextIO, *, total: int = 0, expected: Mapping[str, float] | None = None, heartbeat: float = 60.0) -> None:
        self.stream, self.tracker, self._lock = stream, _Tracker(total, expected or {}), threading.Lock()
        self._stop = threading.Event()
        self._beat = threading.Thread(target=self._heartbeat, args=(heartbeat,), daemon=True)
        self._beat.start()

    def report(self, event: Event) -> None:
        with self._lock:
            was_running = isinstance(event, NodeStarted) and event.node in self.tracker.running
            self.tracker.update(event)
            line = _line(event, self.tracker, started=not was_running)
            if line:
                self.stream.write(line + "\n")
                self.stream.flush()

    def _heartbeat(self, every: float) -> None:
        while not self._stop.wait(every):
            with self._lock:
                if self.tracker.running:
                    now = time.monotonic()
                    busy = ", ".join(f"{n} ({_clock(now - t)})" for n, (_, t) in sorted(self.tracker.running.items()))
                    self.stream.write(f"  ... {self.tracker.counts()}; still building: {busy}\n")
                    self.stream.flush()

    def close(self) -> None:
        self._stop.set()


class LiveProgress:
    """A terminal: rich's Live view of the running builds, redrawn in place."""

    def __init__(self, stream: TextIO, *, total: int = 0, expected: Mapping[str, float] | None = None) -> None:
        from rich.console import Console
        from rich.live import Live

        self.tracker, self._lock = _Tracker(total, expected or {}), threading.Lock()
        self.console = Console(file=stream)
        self.live = Live(self._render(), console=self.console, refresh_per_second=4, transient=True)
        self.live.start()

    def report(self, event: Event) -> None:
        with self._lock:
            self.tracker.update(event)
            line = _line(event, self.tracker, started=False)
            if line and not isinstance(event, NodeStarted):
                self.live.console.print(line, markup=False, highlight=False)
            self.live.update(self._render())

    def _render(self) -> Table:
        from rich.table import Table

        table = Table(title=self._title(), expand=False)
        for column in ("package", "stage", "elapsed"):
            table.add_column(column)
        now = time.monotonic()
        for node, (stage, started) in sorted(self.tracker.running.items()):
            table.add_row(node, stage, _clock(now - started))
        for failure in self.tracker.failed[-1:]:
            table.caption = f"{failure.node} failed: " + " | ".join(_tail(failure.log, 4))
        return table

    def _title(self) -> str:
        eta = self.tracker.eta()
        return self.tracker.counts() + (f", about {_clock(eta)} left" if eta is not None else "")

    def close(self) -> None:
        self.live.stop()


def progress_reporter(stream: TextIO, *, total: int, expected: Mapping[str, float]) -> LineProgress | LiveProgress:
    """The live view on a terminal, lines elsewhere (a CI log must never get a redrawing display)."""
    if stream.isatty():
        return LiveProgress(stream, total=total, expected=expected)
    return LineProgress(stream, total=total, expected=expected)


def _line(event: Event, tracker: _Tracker, *, started: bool) -> str:
    if isinstance(event, NodeStarted):
        return f"  start {event.node} ({event.stage})" if started else ""  # its first stage begins it; later stages add no line
    if isinstance(event, NodeFinished):
        return f"{event.status:>7} {event.node} -> {event.wheel} ({event.seconds:.1f}s)  [{tracker.counts()}]"
    if isinstance(event, NodeSkipped):
        return f"skipped {event.node}: it needs {event.because}, which failed"
    if isinstance(event, Note):
        return event.text
    return ""  # a failure is reported once, with its log's tail, by whoever ends the run


def _clock(seconds: float) -> str:
    seconds = int(seconds)
    return f"{seconds // 3600}h{seconds % 3600 // 60:02d}m" if seconds >= 3600 else f"{seconds // 60}m{seconds % 60:02d}s"


def _tail(log: str | None, lines: int) -> list[str]:
    if not log or not Path(log).is_file():
        return []
    return Path(log).read_text(errors="replace").splitlines()[-lines:]


def expected_durations(output_dir: Path) -> dict[str, float]:
    """What each node took in the last run of this output directory (its report.json), for the ETA."""
    import json

    try:
        nodes = json.loads((output_dir / "report.json").read_text()).get("nodes", {})
    except (OSError, ValueError):
        return {}
    return {n: float(d.get("seconds") or 0.0) for n, d in nodes.items() if d.get("status") == "built"}
