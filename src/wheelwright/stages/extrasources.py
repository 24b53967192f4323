"""A recipe's extra sources: the third-party trees an upstream build would download in the middle of it.

vLLM's CMake clones cutlass, flash-attention, FlashMLA… at configure time; in the build's network jail that fails,
and outside it the build would take whatever the remote serves. Each tree is declared in the recipe, pinned by the
git commit upstream names (or an archive's sha256), fetched and verified here before the build, cached like a
source, unpacked next to the source tree, and handed to the build through the variables the recipe names.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from packaging.version import Version

from wheelwright.errors import OfflineMiss, SourceError
from wheelwright.fsutil import atomic_writer
from wheelwright.recipes.api import ExtraSource
from wheelwright.remote.index import SourceDistribution
from wheelwright.stages.sbomfacts import ExtraSourceFacts
from wheelwright.remote.sources import UnpackLimits, deterministic_tar, fetch_sdist, unpack_sdist


@dataclass(frozen=True)
class ProvidedSources:
    """The variables that name the unpacked trees, and what each tree was (a commit, or an archive's sha256)."""

    env: dict[str, str]
    facts: tuple[ExtraSourceFacts, ...]


def provide_extra_sources(extras: Sequence[ExtraSource], *, cache_dir: Path, work: Path, log: IO[str], offline: bool = False,
                          limits: UnpackLimits | None = None) -> ProvidedSources:
    """Fetch (or take from the cache), verify and unpack each tree under ``work``/extra; the variables that name them."""
    env: dict[str, str] = {}
    trees: dict[str, Path] = {}
    facts = []
    for extra in extras:
        archive, identity = fetch_extra(extra, cache_dir / "extra", offline=offline)
        facts.append(ExtraSourceFacts(name=extra.name, url=extra.url, tag=extra.ref, **({"sha256": identity} if extra.sha256 else {"commit": identity})))
        tree = unpack_sdist(archive, work / "extra" / extra.name, limits or UnpackLimits())
        if extra.subdir:
            tree = tree / extra.subdir
            if not tree.is_dir():
                raise SourceError(f"extra source {extra.name}: {extra.subdir!r} is not a directory of {archive.name}")
        if extra.into:
            if extra.into not in trees:
                raise SourceError(f"extra source {extra.name}: merges into {extra.into!r}, which no earlier extra source is")
            shutil.copytree(tree, trees[extra.into], dirs_exist_ok=True, symlinks=True)
            tree = trees[extra.into]
        trees[extra.name] = tree
        log.write(f"# extra source {extra.describe()} verified ({identity}), at {tree}\n")
        env |= dict.fromkeys(extra.env, str(tree))
    return ProvidedSources(env, tuple(facts))


def fetch_extra(extra: ExtraSource, cache_dir: Path, *, offline: bool = False) -> tuple[Path, str]:
    """A verified archive of the tree and what it is (the commit, or the sha256): git commits are packed like git
    sources, archives checked by sha256. A tag pinned without a commit is recorded as the commit it resolved to."""
    if extra.sha256 is not None:
        filename = extra.url.rsplit("/", 1)[-1].split("?", 1)[0] or f"{extra.name}.tar.gz"
        dist = SourceDistribution(name=extra.name, version=Version("0"), filename=filename, url=extra.url, sha256=extra.sha256,
                                  requires_python=None, yanked=False)
        return fetch_sdist(dist, cache_dir, offline=offline), extra.sha256
    resolved = cache_dir / "tags" / hashlib.sha256(f"{extra.url}@{extra.ref}".encode()).hexdigest()[:24]
    commit = extra.commit or (resolved.read_text().strip() if resolved.is_file() else None)
    if commit and (cache_dir / commit / f"{extra.name}.tar.gz").exists():
        return cache_dir / commit / f"{extra.name}.tar.gz", commit
    if offline:
        raise OfflineMiss(f"extra source {extra.name}: {extra.commit or extra.ref} of {extra.url} is not in the source cache {cache_dir}")
    cache_dir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=cache_dir) as scratch:
        checkout = Path(scratch) / "checkout"
        commit = _clone_commit(extra, checkout)
        target = cache_dir / commit / f"{extra.name}.tar.gz"
        with atomic_writer(target) as out:
            deterministic_tar(checkout, extra.name, out)
    if extra.ref and not extra.commit:
        with atomic_writer(resolved) as out:
            out.write(commit.encode())
    return target, commit


def _clone_commit(extra: ExtraSource, checkout: Path) -> str:
    """Exactly the pinned commit (fetched by its id, so a moved branch or tag cannot substitute another; or by the tag,
    then checked against the commit when one is pinned), with submodules."""
    wanted = extra.ref if extra.ref else extra.commit
    assert wanted is not None
    env = {**os.environ, "GIT_TERMINAL_PROMPT": "0"}
    steps: list[list[str]] = [["git", "init", "--quiet", str(checkout)],
             ["git", "-C", str(checkout), "fetch", "--quiet", "--depth", "1", extra.url, wanted],
             ["git", "-C", str(checkout), "checkout", "--quiet", "FETCH_HEAD"],
             ["git", "-C", str(checkout), "submodule", "update", "--quiet", "--init", "--recursive", "--depth", "1"]]
    for step in steps:
        result = subprocess.run(step, capture_output=True, text=True, env=env)
        if result.returncode != 0:
            raise SourceError(f"extra source {extra.name}: git {step[3] if step[1] == '-C' else step[1]} of {extra.url} "
                              f"failed: {(result.stderr.strip().splitlines() or ['?'])[-1]}")
    head = subprocess.run(["git", "-C", str(checkout), "rev-parse", "HEAD"], capture_output=True, text=True, check=True).stdout.strip()
    if extra.commit and head != extra.commit:
        raise SourceError(f"extra source {extra.name}: {extra.url} gave commit {head}, not the pinned {extra.commit}")
    return head
