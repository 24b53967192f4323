"""One run per output directory: a second run on the same index would interleave its writes."""

from __future__ import annotations

import contextlib
import fcntl
import os
import time
from collections.abc import Iterator
from pathlib import Path

from wheelwright.errors import WheelwrightError


@contextlib.contextmanager
def output_lock(output_dir: Path, wait_seconds: float = 0.0) -> Iterator[None]:
    output_dir.mkdir(parents=True, exist_ok=True)
    path = output_dir / ".lock"
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    deadline = time.monotonic() + wait_seconds
    try:
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    holder = path.read_text().strip() or "?"
                    raise WheelwrightError(f"{output_dir}: another wheelwright run (pid {holder}) is using it (lock {path}); "
                                           f"wait for it or use --wait SECONDS") from None
                time.sleep(0.5)
        os.ftruncate(fd, 0)
        os.write(fd, str(os.getpid()).encode())
        yield
    finally:
        os.close(fd)
