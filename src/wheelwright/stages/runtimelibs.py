"""Every library a wheel leaves outside must reach the host that installs it.

auditwheel grafts what a wheel needs, except what the variant says must never be grafted (libcudart, libc10…).
Those stay DT_NEEDED entries, and `pip install` satisfies them only through the wheel's requirements (torch brings
libc10.so, nvidia-cuda-runtime brings libcudart.so.13) or through the host itself (the driver's libcuda.so.1, a
ROCm install): the variant's `system_runtime`. Anything else imports only where someone happened to install a full
toolkit, so the wheel is refused naming the library. Providers are read from the build environment's wheels, the
only place the build could have linked them from besides the host: by the file names of their shared objects.
"""

from __future__ import annotations

import fnmatch
import re
import zipfile
from collections.abc import Iterable, Sequence
from functools import lru_cache
from pathlib import Path

from packaging.utils import canonicalize_name

from wheelwright.errors import VerificationFailed

_SHARED_OBJECT = re.compile(r"\.so(\.\d+)*$")


@lru_cache(maxsize=512)
def _shared_objects(wheel: Path, size: int) -> frozenset[str]:
    with zipfile.ZipFile(wheel) as archive:  # the directory only: torch's wheel is read in milliseconds
        return frozenset(Path(name).name for name in archive.namelist() if _SHARED_OBJECT.search(name))


def shared_objects(wheel: Path) -> frozenset[str]:
    """The file names of a wheel's shared objects (libcudart.so.13, libc10.so)."""
    return _shared_objects(wheel, wheel.stat().st_size)


def project_of(wheel: Path) -> str:
    return canonicalize_name(wheel.name.split("-", 1)[0])


def unprovided(external: Iterable[str], *, build_env: Sequence[Path], requires: frozenset[str], system: Sequence[str]) -> list[str]:
    """The external sonames nothing brings, each with why: which wheel has it that the wheel does not require, or none."""
    problems = []
    for soname in sorted(external):
        if any(fnmatch.fnmatchcase(soname, pattern) for pattern in system):
            continue
        providers = sorted({project_of(w) for w in build_env if soname in shared_objects(w)})
        if any(p in requires for p in providers):
            continue
        problems.append(f"{soname} (in {', '.join(providers)}, which it does not require)" if providers
                        else f"{soname} (no wheel of its build environment has it, and the variant's system_runtime does not list it)")
    return problems


def require_provided(wheel: str, external: Iterable[str], *, build_env: Sequence[Path], requires: frozenset[str], system: Sequence[str],
                     variant: str, log_path: str | None = None) -> None:
    problems = unprovided(external, build_env=build_env, requires=requires, system=system)
    if problems:
        raise VerificationFailed(f"{wheel}: needs libraries that installing it does not bring on {variant}: {'; '.join(problems)}; "
                                 f"declare the requirement (a recipe's `requires`) or the host's runtime (`system_runtime` in variants.toml)", log_path)
