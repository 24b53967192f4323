"""The manylinux image a CI job builds cpu wheels in: the one the installed cibuildwheel pins, read from its
own data (its default image policy and the digest it pins), so CI wheels carry the widest manylinux tag their
code allows instead of the runner's glibc."""

from __future__ import annotations

import configparser
import importlib.resources
import re
import tomllib
from dataclasses import dataclass

from wheelwright.errors import ConfigError


@dataclass(frozen=True)
class PinnedImage:
    policy: str  # manylinux_2_28
    reference: str  # quay.io/pypa/manylinux_2_28_x86_64@sha256:...
    glibc: str  # 2.28
    source: str  # where it was read, for the README and the workflow's comment


def cibuildwheel_image(arch: str = "x86_64") -> PinnedImage:
    try:
        resources = importlib.resources.files("cibuildwheel") / "resources"
        defaults = tomllib.loads((resources / "defaults.toml").read_text())
        pinned = configparser.ConfigParser(inline_comment_prefixes=("#",))
        pinned.read_string((resources / "pinned_docker_images.cfg").read_text())
        import cibuildwheel

        version = getattr(cibuildwheel, "__version__", "?")
    except (ModuleNotFoundError, FileNotFoundError) as exc:
        raise ConfigError(f"cibuildwheel's pinned-image data is not installed ({exc}); pip install cibuildwheel") from None
    policy = defaults["tool"]["cibuildwheel"]["linux"].get(f"manylinux-{arch}-image") or defaults["tool"]["cibuildwheel"].get(f"manylinux-{arch}-image")
    if not policy or not pinned.has_option(arch, policy):
        raise ConfigError(f"cibuildwheel {version}: no pinned {arch} image for its default policy {policy!r}")
    match = re.match(r"manylinux_(\d+)_(\d+)$", policy)
    glibc = f"{match.group(1)}.{match.group(2)}" if match else {"manylinux2014": "2.17"}.get(policy, "?")
    return PinnedImage(policy, pinned.get(arch, policy).strip(), glibc, f"cibuildwheel {version} resources/pinned_docker_images.cfg [{arch}] {policy}")
