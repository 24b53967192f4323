"""No network during builds: every build-backend call runs in a fresh network namespace with only
loopback, so a build that tries to download code fails at once instead of shipping what it fetched.
Where a namespace cannot be made, builds refuse to start unless --allow-network says otherwise."""

from __future__ import annotations

import re
import shutil
import subprocess
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from wheelwright.errors import ToolMissing

# `ip link set lo up` gives the build a working loopback; without `ip` the namespace simply has none.
_LOOPBACK_UP = ("sh", "-c", 'ip link set lo up 2>/dev/null; exec "$@"', "wheelwright-netjail")
#: Ways to get a namespace, tried in order: as root; else inside a user namespace of our own (uid kept).
_UNSHARE = (("unshare", "--net", "--"), ("unshare", "--user", "--map-current-user", "--net", "--"))


class Isolation(Protocol):
    """How a build command is kept off the network: the stages only ever call ``wrap``."""

    @property
    def isolated(self) -> bool: ...

    @property
    def description(self) -> str: ...

    def wrap(self, command: Sequence[str]) -> list[str]: ...


@dataclass(frozen=True)
class NetworkPolicy:
    """The isolation this machine allows: a network namespace as root, one inside a user namespace of
    our own, or (with --allow-network only) none. It is the Isolation the engine uses; tests bring others."""

    isolated: bool
    description: str  # goes into report.json
    prefix: tuple[str, ...] = _UNSHARE[0]

    def wrap(self, command: Sequence[str]) -> list[str]:
        return [*self.prefix, *_LOOPBACK_UP, *command] if self.isolated else list(command)


def network_policy(allow_network: bool) -> NetworkPolicy:
    if allow_network:
        return NetworkPolicy(False, "network allowed (--allow-network): builds could reach the internet")
    if shutil.which("unshare") is None:
        raise ToolMissing("cannot isolate builds from the network here (unshare is not installed); "
                          "install util-linux, or pass --allow-network to build without isolation")
    problems = []
    for prefix in _UNSHARE:
        result = subprocess.run([*prefix, "true"], capture_output=True, text=True)
        if result.returncode == 0:
            how = "a user namespace of its own, " if "--user" in prefix else ""
            return NetworkPolicy(True, f"isolated: every build hook ran in {how}its own network namespace ({' '.join(prefix[:-1])}, loopback only)", prefix)
        problems.append(f"{' '.join(prefix[:-1])}: {result.stderr.strip() or result.returncode}")
    raise ToolMissing(f"cannot isolate builds from the network here ({'; '.join(problems)}); "
                      "run as root or enable user namespaces, or pass --allow-network to build without isolation")


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


def egress_report(output: str) -> str:
    """The suffix an error line gets when a failed build's output shows it hit the missing network."""
    if not any(sign in output for sign in _SIGNS):
        return ""
    return f"; it tried to reach the network, which builds may not ({', '.join(egress_attempts(output)) or 'host not shown in its log'})"
