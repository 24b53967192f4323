"""Grafted system libraries are named by the package that installed them: dpkg's owner, version and architecture,
and the licence of the package's DEP-5 copyright file (the `Files: *` paragraph, in SPDX terms)."""

from __future__ import annotations

import shutil
import zipfile
from pathlib import Path

import pytest

from wheelwright.stages.licenses import supplier_from_wheel
from wheelwright.stages.syspackages import _copyright_license, _spdx, system_package

LIBYAML = Path("/usr/lib/x86_64-linux-gnu/libyaml-0.so.2")


@pytest.mark.skipif(shutil.which("dpkg") is None or not LIBYAML.exists(), reason="needs dpkg and libyaml (.ci/run installs libyaml-dev)")
def test_a_library_of_a_debian_package_is_traced_to_it_through_its_symlink_and_merged_usr():
    for path in (LIBYAML, Path("/lib/x86_64-linux-gnu/libyaml-0.so.2")):  # auditwheel reports either spelling
        package = system_package(str(path))
        assert package is not None and package.name == "libyaml-0-2" and package.architecture == "amd64"
        assert package.license == "MIT" and "/usr/share/doc/libyaml-0-2/copyright" in package.license_origin  # DEP-5 "Expat"
        assert package.purl.startswith("pkg:deb/") and package.purl.endswith(f"/libyaml-0-2@{package.version}?arch=amd64")
    assert system_package("/nonexistent/libnothing.so.1") is None


def test_the_copyright_file_is_read_as_dep5_or_not_at_all(tmp_path):
    dep5 = tmp_path / "copyright"
    dep5.write_text("Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/\nUpstream-Name: x\n\n"
                    "Files: debian/*\nLicense: GPL-2+\n\nFiles: *\nCopyright: 2020 Someone\nLicense: BSD-3-clause\n text\n")
    assert _copyright_license(dep5) == ("BSD-3-Clause", f"{dep5} (Files: *)")
    free_form = tmp_path / "old"
    free_form.write_text("This package was debianized by someone.\nIt is licensed under the GPL.\n")
    assert _copyright_license(free_form)[0] is None and "not machine-readable" in _copyright_license(free_form)[1]
    assert _spdx("GPL-2+ or Artistic") == "GPL-2.0-or-later OR LicenseRef-Artistic"
    assert _spdx("Expat") == "MIT"


def test_the_supplier_is_who_the_metadata_names(tmp_path):
    def wheel(fields: str) -> Path:
        path = tmp_path / f"w{len(list(tmp_path.iterdir()))}-1.0-py3-none-any.whl"
        with zipfile.ZipFile(path, "w") as zf:
            zf.writestr("w-1.0.dist-info/METADATA", f"Metadata-Version: 2.1\nName: w\nVersion: 1.0\n{fields}")
        return path
    assert supplier_from_wheel(wheel("Author: Kirill Simonov\n")) == "Kirill Simonov"
    assert supplier_from_wheel(wheel('Author-email: "Armin Ronacher" <armin@example.org>, Pallets <p@example.org>\n')) == "Armin Ronacher, Pallets"
    assert supplier_from_wheel(wheel("Maintainer-email: team@example.org\n")) == "team@example.org"
    assert supplier_from_wheel(wheel("Author: UNKNOWN\n")) is None
