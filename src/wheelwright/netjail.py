"""No network during builds: every build-backend call runs in a fresh network namespace with only
loopback, so a build that tries to download code fails at once instead of shipping what it fetched.
Where a namespace cannot be made, builds refuse to start unless --allow-network says otherwise."""

from __future__ import annotations

import re
import shutil
import subprocess
from collections.abc import Sequence
from dataclasses import dataclass

from .errors import WheelwrightError

# `ip link set lo up` gives the build a working loopback; without `ip` the namespace simply has none.
_JAIL = ("unshare", "--net", "--", "sh", "-c", 'ip link set lo up 2>/dev/null; exec "$@"', "wheelwright-netjail")


@dataclass(frozen=True)
class NetworkPolicy:
    isolated: bool
    description: str  # goes into report.json

    def wrap(self, command: Sequence[str]) -> list[str]:
        return [*_JAIL, *command] if self.isolated else list(command)


def network_policy(allow_network: bool) -> NetworkPolicy:
    if allow_network:
        return NetworkPolicy(False, "network allowed (--allow-network): builds could reach the internet")
    problem = _probe()
    if problem:
        raise WheelwrightError(f"cannot isolate builds from the network here ({problem}); "
                               "run as root or with user namespaces, or pass --allow-network to build without isolation")
    return NetworkPolicy(True, "isolated: every build hook ran in its own network namespace (unshare --net, loopback only)")


def _probe() -> str | None:
    if shutil.which("unshare") is None:
        return "unshare is not installed"
    result = subprocess.run(["unshare", "--net", "--", "true"], capture_output=True, text=True)
    return None if result.returncode == 0 else f"unshare --net failed: {result.stderr.strip() or result.returncode}"


_URL = re.compile(r"\bhttps?://[^\s'\"<>)\]]+")
_HOST = re.compile(r"(?:Could not resolve host:?|host=|Failed to connect to|getaddrinfo failed for|connect to) ?'?\"?([A-Za-z0-9.-]+\.[A-Za-z]{2,})")
_SIGNS = ("Temporary failure in name resolution", "Name or service not known", "Network is unreachable",
          "Failed to establish a new network connection", "Could not resolve host", "getaddrinfo", "nodename nor servname",
          "Connection refused")


def egress_attempts(log_text: str) -> list[str]:
    """URLs and hosts a failed build tried to reach, when its log shows it hit the missing network."""
    if not any(sign in log_text for sign in _SIGNS):
        return []
    found = _URL.findall(log_text) + _HOST.findall(log_text)
    return list(dict.fromkeys(u.rstrip(".,;:'\"") for u in found))[:5]
