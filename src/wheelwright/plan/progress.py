"""A plan says what it is doing: a cold plan of a GPU stack reads hundreds of metadata files, and a minute of
silence looks like a hang. A line at most every few seconds: releases read, projects seen, the last one."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable


class PlanProgress:
    """Counts what the resolver reads and notes it, throttled to one line per ``every`` seconds."""

    EVERY = 3.0  # seconds between two lines

    def __init__(self, note: Callable[[str], None], every: float | None = None) -> None:
        self.note, self.every = note, self.EVERY if every is None else every
        self.releases = 0
        self.projects: set[str] = set()
        self._last = time.monotonic()
        self._lock = threading.Lock()

    def read(self, name: str, version: object) -> None:
        with self._lock:
            self.releases += 1
            self.projects.add(name)
            now = time.monotonic()
            if now - self._last < self.every:
                return
            self._last = now
        self.note(f"  plan: read the metadata of {self.releases} releases of {len(self.projects)} projects (last {name} {version})")
