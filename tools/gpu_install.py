"""Install one wheel of our index into the GPU machine's python3, as its users would: no index, no dependencies
(that machine has no network; torch is already there)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path


def install_from_index(find_links: Path, requirement: str) -> None:
    command = [sys.executable, "-m", "pip", "install", "--no-index", "--no-deps", "--no-cache-dir", "--force-reinstall",
               "--find-links", str(find_links), requirement]
    print("$", " ".join(command), flush=True)
    subprocess.run(command, check=True)


def list_elf(path: Path) -> None:
    """NVIDIA's own reading of a module's device code (cuobjdump ships with the toolkit there)."""
    print(f"$ cuobjdump --list-elf {path}", flush=True)
    subprocess.run(["cuobjdump", "--list-elf", str(path)], check=False)
