"""Licences from core metadata as SPDX expressions, and the proprietary-library list."""

from __future__ import annotations

import email.parser
import zipfile

import pytest

from wheelwright.stages.licenses import LicenseFacts, license_from_metadata, license_from_wheel, proprietary

OSI = "License :: OSI Approved :: "


def metadata(*lines: str) -> bytes:
    return ("Metadata-Version: 2.4\nName: demo\nVersion: 1.0\n" + "".join(f"{line}\n" for line in lines)).encode()


@pytest.mark.parametrize(
    ("lines", "expression", "origin"),
    [
        (["License-Expression: mit OR apache-2.0"], "MIT OR Apache-2.0", "License-Expression"),
        # License-Expression wins over classifiers and the License field
        (["License-Expression: BSD-3-Clause", f"Classifier: {OSI}MIT License", "License: GPL-3.0-only"], "BSD-3-Clause", "License-Expression"),
        ([f"Classifier: {OSI}MIT License"], "MIT", f"classifier: {OSI}MIT License"),
        ([f"Classifier: {OSI}Apache Software License", "Classifier: License :: OSI Approved"], "Apache-2.0", "classifier: "),
        ([f"Classifier: {OSI}Python Software Foundation License"], "PSF-2.0", "classifier: "),
        ([f"Classifier: {OSI}ISC License (ISCL)"], "ISC", "classifier: "),
        ([f"Classifier: {OSI}The Unlicense (Unlicense)"], "Unlicense", "classifier: "),
        ([f"Classifier: {OSI}Mozilla Public License 2.0 (MPL 2.0)"], "MPL-2.0", "classifier: "),
        ([f"Classifier: {OSI}GNU General Public License v3 or later (GPLv3+)"], "GPL-3.0-or-later", "classifier: "),
        ([f"Classifier: {OSI}GNU Lesser General Public License v2 or later (LGPLv2+)"], "LGPL-2.0-or-later", "classifier: "),
        ([f"Classifier: {OSI}GNU Lesser General Public License v3 (LGPLv3)"], "LGPL-3.0-only", "classifier: "),
        ([f"Classifier: {OSI}MIT License", f"Classifier: {OSI}Apache Software License"], "Apache-2.0 AND MIT", "classifiers (combined with AND)"),
        # "BSD License" does not say which BSD: the License field settles it when it is SPDX …
        ([f"Classifier: {OSI}BSD License", "License: BSD-3-Clause"], "BSD-3-Clause", "License field"),
        (["License: bsd-2-clause"], "BSD-2-Clause", "License field"),
        (["License: Apache-2.0 WITH LLVM-exception"], "Apache-2.0 WITH LLVM-exception", "License field"),
        # … and nothing is guessed when it is not
        ([f"Classifier: {OSI}BSD License", "License: BSD"], None, "unknown: classifier names no single SPDX licence"),
        (["License: Copyright (c) 2005 Someone.\n        All rights reserved."], None, "unknown: License field is not an SPDX expression"),
        (["License: Apache 2.0"], None, "unknown: License field"),
        ([f"Classifier: {OSI}GNU General Public License (GPL)"], None, "unknown: classifier"),
        (["License-Expression: not a licence"], None, "unknown: License-Expression 'not a licence' is not a valid SPDX"),
        (["Classifier: License :: Other/Proprietary License"], "LicenseRef-Proprietary", "classifier: "),
        ([], None, "unknown: no licence metadata"),
    ],
)
def test_license_from_metadata(lines, expression, origin):
    facts = license_from_metadata(metadata(*lines))
    assert facts.expression == expression
    assert facts.origin.startswith(origin), facts.origin
    assert facts.known is (expression is not None)


def test_license_from_message_str_and_wheel(tmp_path):
    raw = metadata("License-Expression: MIT")
    assert license_from_metadata(raw.decode()) == license_from_metadata(email.parser.BytesParser().parsebytes(raw))
    assert license_from_metadata(raw) == LicenseFacts(expression="MIT", origin="License-Expression")
    wheel = tmp_path / "demo-1.0-py3-none-any.whl"
    with zipfile.ZipFile(wheel, "w") as zf:
        zf.writestr("demo-1.0.dist-info/METADATA", raw)
    assert license_from_wheel(wheel).expression == "MIT"


@pytest.mark.parametrize(
    ("name", "terms"),
    [
        ("libcuda.so.1", "NVIDIA driver licence"),
        ("/usr/lib/x86_64-linux-gnu/libnvidia-ml.so.1", "NVIDIA driver licence"),
        ("libcudnn_graph-1a2b3c4d.so.9", "NVIDIA cuDNN Software License Agreement"),
        ("libcublasLt.so.13", "NVIDIA CUDA Toolkit EULA"),
        ("libcudart-9a8b7c6d.so.12", "NVIDIA CUDA Toolkit EULA"),
        ("libnvrtc.so.13", "NVIDIA CUDA Toolkit EULA"),
        ("libSynapse.so", "Habana Labs software licence"),
        ("nvidia-cublas-cu12", "NVIDIA proprietary (see the package's licence)"),
        ("nvidia_cudnn_cu12", "NVIDIA cuDNN Software License Agreement"),
        ("libnccl.so.2", None),  # BSD-3-Clause
        ("libamdhip64.so.7", None),
        ("libgfortran.so.5", None),
        ("numpy", None),
    ],
)
def test_proprietary(name, terms):
    found = proprietary(name)
    assert (found.terms if found else None) == terms
    if found:
        assert found.license_ref.startswith("LicenseRef-")
