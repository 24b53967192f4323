"""Where a grafted system library came from: its distribution package, version and licence.

auditwheel copies libyaml or libffi out of the builder's /usr/lib into the wheel; an SBOM that lists only the file
name fails NTIA's minimum elements (no supplier, no version). On Debian and Ubuntu builders the package manager knows:
`dpkg -S` names the package that owns the file, `dpkg-query` its version and architecture, and the package's
machine-readable copyright file (DEP-5) its licence. Elsewhere (no dpkg) nothing is claimed.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

#: DEP-5 short names -> SPDX identifiers (the names Debian's copyright files use most; others are kept as written).
DEP5_TO_SPDX = {
    "Expat": "MIT", "MIT": "MIT", "X11": "X11", "Zlib": "Zlib", "zlib": "Zlib", "ISC": "ISC", "Apache-2.0": "Apache-2.0",
    "BSD-2-clause": "BSD-2-Clause", "BSD-3-clause": "BSD-3-Clause", "BSD-4-clause": "BSD-4-Clause", "PSF-2": "PSF-2.0",
    "GPL-2": "GPL-2.0-only", "GPL-2+": "GPL-2.0-or-later", "GPL-3": "GPL-3.0-only", "GPL-3+": "GPL-3.0-or-later",
    "LGPL-2": "LGPL-2.0-only", "LGPL-2+": "LGPL-2.0-or-later", "LGPL-2.1": "LGPL-2.1-only", "LGPL-2.1+": "LGPL-2.1-or-later",
    "LGPL-3": "LGPL-3.0-only", "LGPL-3+": "LGPL-3.0-or-later", "MPL-2.0": "MPL-2.0", "public-domain": "LicenseRef-public-domain",
    "curl": "curl", "OpenSSL": "OpenSSL", "libpng": "Libpng", "libpng-2.0": "libpng-2.0", "IJG": "IJG",
}


@dataclass(frozen=True)
class SystemPackage:
    name: str  # libyaml-0-2
    version: str  # 0.2.5-1
    architecture: str  # amd64
    license: str | None  # SPDX expression from the copyright file's "Files: *" paragraph, None when it has none
    license_origin: str

    @property
    def purl(self) -> str:
        return f"pkg:deb/{_vendor()}/{self.name}@{self.version}?arch={self.architecture}"


def system_package(path: str) -> SystemPackage | None:
    """The distribution package that installed ``path`` (resolved through symlinks, merged /usr), or None."""
    if not path or shutil.which("dpkg") is None:
        return None
    real = os.path.realpath(path)
    candidates = dict.fromkeys([path, real, *(p.replace("/usr/lib/", "/lib/", 1) for p in (path, real) if p.startswith("/usr/lib/"))])
    for candidate in candidates:
        found = _owner(candidate)
        if found is not None:
            return found
    return None


@lru_cache(maxsize=256)
def _owner(path: str) -> SystemPackage | None:
    owner = subprocess.run(["dpkg", "-S", path], capture_output=True, text=True)
    if owner.returncode != 0 or ":" not in owner.stdout:
        return None
    package = owner.stdout.splitlines()[0].split(": ", 1)[0].split(",")[0].strip()
    name = package.split(":", 1)[0]
    query = subprocess.run(["dpkg-query", "-W", "-f", "${Version}\t${Architecture}", package], capture_output=True, text=True)
    if query.returncode != 0 or "\t" not in query.stdout:
        return None
    version, architecture = query.stdout.strip().split("\t", 1)
    copyright_file = Path("/usr/share/doc") / name / "copyright"
    license_, origin = _copyright_license(copyright_file)
    return SystemPackage(name, version, architecture, license_, origin)


def _copyright_license(path: Path) -> tuple[str | None, str]:
    """The licence of a DEP-5 copyright file's ``Files: *`` paragraph (the package as a whole)."""
    try:
        text = path.read_text(errors="replace")
    except OSError:
        return None, f"unknown: {path} not found"
    if not text.startswith("Format:"):
        return None, f"unknown: {path} is not machine-readable (DEP-5)"
    for paragraph in re.split(r"\n\s*\n", text):
        fields = dict(re.findall(r"^([A-Za-z-]+):[ \t]*(.*)$", paragraph, flags=re.MULTILINE))
        if fields.get("Files", "").split() == ["*"] and fields.get("License"):
            return _spdx(fields["License"]), f"{path} (Files: *)"
    return None, f"unknown: {path} has no Files: * paragraph with a License"


def _spdx(dep5: str) -> str:
    """"Expat" -> "MIT"; "GPL-2+ or Artistic" -> "GPL-2.0-or-later OR Artistic"; unknown names stay as written (LicenseRef)."""
    parts = re.split(r"\s+(or|and)\s+", dep5.strip())
    out = []
    for part in parts:
        if part in ("or", "and"):
            out.append(part.upper())
        else:
            out.append(DEP5_TO_SPDX.get(part, f"LicenseRef-{re.sub(r'[^A-Za-z0-9.-]', '-', part)}"))
    return " ".join(out)


@lru_cache(maxsize=1)
def _vendor() -> str:
    try:
        fields = dict(line.split("=", 1) for line in Path("/etc/os-release").read_text().splitlines() if "=" in line)
    except OSError:
        return "debian"
    return fields.get("ID", "debian").strip('"') or "debian"
