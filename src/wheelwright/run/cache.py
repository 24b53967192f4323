"""Content keys and the records they point to. A key hashes every input that can change an output,
so an unchanged key means the output can be reused and a changed one means it must be rebuilt."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

from wheelwright.fsutil import atomic_write_text

#: Bump when the engine changes what it produces, so old records stop matching.
ENGINE_FORMAT = "1"


def content_key(**parts: Any) -> str:
    payload = json.dumps({"engine": ENGINE_FORMAT, **parts}, sort_keys=True, default=str)
    return hashlib.sha256(payload.encode()).hexdigest()


class RecordStore:
    """JSON records by (kind, key) under one directory; written atomically so a kill loses nothing."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def get(self, kind: str, key: str) -> dict[str, Any] | None:
        path = self.root / kind / f"{key}.json"
        try:
            record: dict[str, Any] = json.loads(path.read_text())
        except (OSError, ValueError):
            return None
        return record

    def put(self, kind: str, key: str, record: dict[str, Any]) -> None:
        atomic_write_text(self.root / kind / f"{key}.json", json.dumps(record, indent=1, sort_keys=True))
