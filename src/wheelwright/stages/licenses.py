"""What licence a wheel declares, as an SPDX expression, and which libraries come under proprietary terms.

``license_from_metadata`` reads core metadata in this order and stops at the first answer:

1. ``License-Expression`` (PEP 639), canonicalised;
2. ``License ::`` trove classifiers, when *every* specific one maps to an SPDX id (several are combined with
   ``AND``: the classifiers do not say whether they are alternatives, and ``AND`` is the reading that never
   understates the obligations). A classifier that names no single licence (``BSD License``: 2- or 3-clause?,
   unversioned GPL/LGPL, ``Artistic License``…) is not guessed at, and stops this step;
3. the free-text ``License`` field, when it is a valid SPDX expression (``MIT``, ``BSD-3-Clause``…);
4. otherwise unknown, with an ``origin`` that says what was seen.

Nothing here invents a licence: an ambiguous declaration comes back unknown, for a person to settle.
"""

from __future__ import annotations

import email.message
import email.parser
import email.utils
import fnmatch
import zipfile
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from packaging.utils import canonicalize_name

try:  # packaging >= 24.2
    from packaging.licenses import InvalidLicenseExpression, canonicalize_license_expression
except ImportError:  # pragma: no cover - older packaging: fall back on cyclonedx's SPDX check (no canonicalisation)
    from cyclonedx.spdx import is_expression as _is_expression

    class InvalidLicenseExpression(ValueError):  # type: ignore[no-redef]
        pass

    def canonicalize_license_expression(raw_license_expression: str) -> str:  # type: ignore[misc]
        if not _is_expression(raw_license_expression):
            raise InvalidLicenseExpression(raw_license_expression)
        return raw_license_expression


@dataclass(frozen=True, kw_only=True)
class LicenseFacts:
    """A wheel's licence: an SPDX expression, or None when unknown; ``origin`` says where it came from."""

    expression: str | None
    origin: str

    @property
    def known(self) -> bool:
        return self.expression is not None


UNKNOWN = LicenseFacts(expression=None, origin="unknown: no licence metadata")

# Trove classifier (after "License :: ") -> SPDX id, or None where the classifier names no single licence.
# "Apache Software License" is taken as Apache-2.0: Apache-1.x is extinct on PyPI, and 2.0 is what every
# project using the classifier means in practice. "BSD License" is not: 2- and 3-clause differ in obligations.
CLASSIFIERS: dict[str, str | None] = {
    "OSI Approved :: MIT License": "MIT",
    "OSI Approved :: MIT No Attribution License (MIT-0)": "MIT-0",
    "OSI Approved :: CMU License (MIT-CMU)": "MIT-CMU",
    "OSI Approved :: Apache Software License": "Apache-2.0",
    "OSI Approved :: BSD License": None,
    "OSI Approved :: Zero-Clause BSD (0BSD)": "0BSD",
    "OSI Approved :: ISC License (ISCL)": "ISC",
    "OSI Approved :: Python Software Foundation License": "PSF-2.0",
    "OSI Approved :: Python License (CNRI Python License)": "CNRI-Python",
    "OSI Approved :: The Unlicense (Unlicense)": "Unlicense",
    "OSI Approved :: Mozilla Public License 2.0 (MPL 2.0)": "MPL-2.0",
    "OSI Approved :: Mozilla Public License 1.1 (MPL 1.1)": "MPL-1.1",
    "OSI Approved :: Mozilla Public License 1.0 (MPL)": "MPL-1.0",
    "OSI Approved :: GNU General Public License (GPL)": None,
    "OSI Approved :: GNU General Public License v2 (GPLv2)": "GPL-2.0-only",
    "OSI Approved :: GNU General Public License v2 or later (GPLv2+)": "GPL-2.0-or-later",
    "OSI Approved :: GNU General Public License v3 (GPLv3)": "GPL-3.0-only",
    "OSI Approved :: GNU General Public License v3 or later (GPLv3+)": "GPL-3.0-or-later",
    "OSI Approved :: GNU Library or Lesser General Public License (LGPL)": None,
    "OSI Approved :: GNU Lesser General Public License v2 (LGPLv2)": None,  # 2.0 or 2.1?
    "OSI Approved :: GNU Lesser General Public License v2 or later (LGPLv2+)": "LGPL-2.0-or-later",
    "OSI Approved :: GNU Lesser General Public License v3 (LGPLv3)": "LGPL-3.0-only",
    "OSI Approved :: GNU Lesser General Public License v3 or later (LGPLv3+)": "LGPL-3.0-or-later",
    "OSI Approved :: GNU Affero General Public License v3": "AGPL-3.0-only",
    "OSI Approved :: GNU Affero General Public License v3 or later (AGPLv3+)": "AGPL-3.0-or-later",
    "OSI Approved :: Boost Software License 1.0 (BSL-1.0)": "BSL-1.0",
    "OSI Approved :: Eclipse Public License 1.0 (EPL-1.0)": "EPL-1.0",
    "OSI Approved :: Eclipse Public License 2.0 (EPL-2.0)": "EPL-2.0",
    "OSI Approved :: Common Development and Distribution License 1.0 (CDDL-1.0)": "CDDL-1.0",
    "OSI Approved :: European Union Public Licence 1.0 (EUPL 1.0)": "EUPL-1.0",
    "OSI Approved :: European Union Public Licence 1.1 (EUPL 1.1)": "EUPL-1.1",
    "OSI Approved :: European Union Public Licence 1.2 (EUPL 1.2)": "EUPL-1.2",
    "OSI Approved :: Open Software License 3.0 (OSL-3.0)": "OSL-3.0",
    "OSI Approved :: PostgreSQL License": "PostgreSQL",
    "OSI Approved :: University of Illinois/NCSA Open Source License": "NCSA",
    "OSI Approved :: Historical Permission Notice and Disclaimer (HPND)": "HPND",
    "OSI Approved :: Blue Oak Model License (BlueOak-1.0.0)": "BlueOak-1.0.0",
    "OSI Approved :: Universal Permissive License (UPL)": "UPL-1.0",
    "OSI Approved :: W3C License": "W3C",
    "OSI Approved :: zlib/libpng License": "Zlib",
    "OSI Approved :: SIL Open Font License 1.1 (OFL-1.1)": "OFL-1.1",
    "OSI Approved :: Educational Community License, Version 2.0 (ECL-2.0)": "ECL-2.0",
    "OSI Approved :: Mulan Permissive Software License v2 (MulanPSL-2.0)": "MulanPSL-2.0",
    "OSI Approved :: CEA CNRS Inria Logiciel Libre License, version 2.1 (CeCILL-2.1)": "CECILL-2.1",
    "OSI Approved :: Artistic License": None,
    "OSI Approved :: Zope Public License": None,
    "CC0 1.0 Universal (CC0 1.0) Public Domain Dedication": "CC0-1.0",
    "Public Domain": "LicenseRef-Public-Domain",
    "Other/Proprietary License": "LicenseRef-Proprietary",
}
_GENERIC = {"OSI Approved", "DFSG approved"}  # say nothing about which licence


def license_from_metadata(metadata: bytes | str | email.message.Message) -> LicenseFacts:
    """The licence a wheel's or sdist's core metadata declares (see the module docstring for the order)."""
    message = _message(metadata)
    seen: list[str] = []

    raw = _field(message, "License-Expression")
    if raw:
        try:
            return LicenseFacts(expression=canonicalize_license_expression(raw), origin="License-Expression")
        except InvalidLicenseExpression:
            seen.append(f"License-Expression {raw!r} is not a valid SPDX expression")

    classifiers = [str(c).strip() for c in message.get_all("Classifier") or []]
    specific = sorted({c.removeprefix("License ::").strip() for c in classifiers if c.startswith("License ::")} - _GENERIC)
    if specific:
        mapped = [CLASSIFIERS.get(c) for c in specific]
        unmapped = [c for c, spdx in zip(specific, mapped, strict=True) if spdx is None]
        if not unmapped:
            ids = sorted(set(m for m in mapped if m))
            expression = ids[0] if len(ids) == 1 else " AND ".join(ids)
            origin = "classifier" if len(specific) == 1 else "classifiers (combined with AND)"
            return LicenseFacts(expression=expression, origin=f"{origin}: " + "; ".join(f"License :: {c}" for c in specific))
        seen.append("classifier names no single SPDX licence: " + "; ".join(f"License :: {c}" for c in unmapped))

    text = _field(message, "License")
    if text:
        if "\n" not in text and len(text) <= 200:
            try:
                return LicenseFacts(expression=canonicalize_license_expression(text), origin="License field")
            except InvalidLicenseExpression:
                pass
        seen.append(f"License field is not an SPDX expression: {_shorten(text)!r}")

    return LicenseFacts(expression=None, origin="unknown: " + ("; ".join(seen) if seen else "no licence metadata"))


def license_from_wheel(wheel: Path) -> LicenseFacts:
    """``license_from_metadata`` of a wheel's ``.dist-info/METADATA``."""
    with zipfile.ZipFile(wheel) as zf:
        names = [n for n in zf.namelist() if n.count("/") == 1 and n.endswith(".dist-info/METADATA")]
        if len(names) != 1:
            return LicenseFacts(expression=None, origin=f"unknown: {wheel.name} has {len(names)} .dist-info/METADATA files")
        return license_from_metadata(zf.read(names[0]))


def supplier_from_wheel(wheel: Path) -> str | None:
    """Who the wheel's METADATA says made it (Author, else Maintainer, else their e-mail fields' names): NTIA's
    "supplier name". None when the metadata names nobody."""
    try:
        with zipfile.ZipFile(wheel) as zf:
            names = [n for n in zf.namelist() if n.count("/") == 1 and n.endswith(".dist-info/METADATA")]
            if len(names) != 1:
                return None
            message = _message(zf.read(names[0]))
    except (OSError, zipfile.BadZipFile):
        return None
    for field in ("Author", "Maintainer", "Author-email", "Maintainer-email"):
        value = _field(message, field)
        if not value or value.upper() == "UNKNOWN":
            continue
        if field.endswith("-email"):
            people = [name or address for name, address in email.utils.getaddresses([value])]
            value = ", ".join(p for p in people if p)
        if value:
            return " ".join(value.split())
    return None


def _message(metadata: bytes | str | email.message.Message) -> email.message.Message:
    if isinstance(metadata, email.message.Message):
        return metadata
    if isinstance(metadata, str):
        metadata = metadata.encode("utf-8", "surrogateescape")
    return email.parser.BytesParser().parsebytes(metadata, headersonly=True)


def _field(message: email.message.Message, name: str) -> str:
    value = message.get(name)
    return str(value).strip() if value is not None else ""


def _shorten(text: str, limit: int = 60) -> str:
    lines = text.strip().splitlines()
    return lines[0] if len(lines) == 1 and len(lines[0]) <= limit else lines[0][:limit] + "…"


# -- proprietary libraries -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class ProprietaryTerms:
    """Who owns a library and under which terms it ships: a line in the licence report."""

    vendor: str
    terms: str
    license_ref: str  # an SPDX LicenseRef for SBOMs


_CUDA_EULA = ProprietaryTerms("NVIDIA", "NVIDIA CUDA Toolkit EULA", "LicenseRef-NVIDIA-CUDA-EULA")
_NV_DRIVER = ProprietaryTerms("NVIDIA", "NVIDIA driver licence", "LicenseRef-NVIDIA-Driver")
_CUDNN = ProprietaryTerms("NVIDIA", "NVIDIA cuDNN Software License Agreement", "LicenseRef-NVIDIA-cuDNN-SLA")
_NV_SLA = ProprietaryTerms("NVIDIA", "NVIDIA Software License Agreement", "LicenseRef-NVIDIA-SLA")
_TENSORRT = ProprietaryTerms("NVIDIA", "NVIDIA TensorRT Software License Agreement", "LicenseRef-NVIDIA-TensorRT-SLA")
_NV_WHEEL = ProprietaryTerms("NVIDIA", "NVIDIA proprietary (see the package's licence)", "LicenseRef-NVIDIA-Proprietary")
_HABANA = ProprietaryTerms("Intel Habana", "Habana Labs software licence", "LicenseRef-Habana-Proprietary")
_INTEL_ISSL = ProprietaryTerms("Intel", "Intel Simplified Software License", "LicenseRef-Intel-ISSL")

# fnmatch patterns on the lower-cased file name (sonames: libfoo.so.1). NCCL is BSD-3-Clause, so not here.
_SONAMES: tuple[tuple[str, ProprietaryTerms], ...] = (
    ("libcuda.so*", _NV_DRIVER),
    ("libnvidia-*", _NV_DRIVER),
    ("libnvcuvid.so*", _NV_DRIVER),
    ("libcudnn*", _CUDNN),
    ("libnvinfer*", _TENSORRT),
    ("libnvonnxparser*", _TENSORRT),
    ("libcutensor*", _NV_SLA),
    ("libcusparselt*", _NV_SLA),
    ("libcudss*", _NV_SLA),
    ("libnvshmem*", _NV_SLA),
    *((p, _CUDA_EULA) for p in (
        "libcudart*", "libcublas*", "libcublaslt*", "libcufft*", "libcurand*", "libcusolver*", "libcusparse*",
        "libnvrtc*", "libnvjitlink*", "libcupti*", "libnvtoolsext*", "libnpp*", "libnvjpeg*", "libcufile*",
        "libnvblas*", "libnvperf*", "libnvptxcompiler*", "libnvfatbin*",
    )),
    ("libsynapse*", _HABANA),
    ("libhcl*", _HABANA),
    ("libhabana*", _HABANA),
    ("libmkl_*", _INTEL_ISSL),
    ("libiomp5*", _INTEL_ISSL),
)
# fnmatch patterns on canonical distribution names.
_PACKAGES: tuple[tuple[str, ProprietaryTerms], ...] = (
    ("nvidia-cudnn-*", _CUDNN),
    ("tensorrt*", _TENSORRT),
    ("nvidia-*", _NV_WHEEL),
    ("habana-*", _HABANA),
    ("mkl", _INTEL_ISSL),
    ("mkl-*", _INTEL_ISSL),
)


def proprietary(soname_or_name: str) -> ProprietaryTerms | None:
    """The proprietary terms of a known closed library (a soname or path: ``libcudnn.so.9``) or distribution
    (``nvidia-cublas-cu12``), or None when it is not one we know of. Not knowing proves nothing."""
    base = PurePosixPath(soname_or_name).name.lower()
    if base.startswith("lib") and ".so" in base or base.endswith((".so", ".dll", ".dylib")):
        table = _SONAMES
    else:
        table = _PACKAGES
        base = canonicalize_name(base)
    for pattern, terms in table:
        if fnmatch.fnmatchcase(base, pattern):
            return terms
    return None
