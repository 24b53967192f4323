"""Member modes do not depend on the builder's umask: every rewrite of a wheel (SBOM embedding, Requires-Dist) writes
0644 / 0755, keeping the file type; the same members under umask 0022 and 0002 give the same bytes."""

from __future__ import annotations

import zipfile

from wheelwright.stages.wheelembed import embed_sbom
from wheelwright.stages.zipcopy import normalized_attr


def _wheel(path, mode: int):
    with zipfile.ZipFile(path, "w") as zf:
        for name, text, executable in (("pkg/__init__.py", "x = 1\n", False), ("pkg/tool", "#!/bin/sh\n", True),
                                       ("pkg-1.0.dist-info/METADATA", "Metadata-Version: 2.1\nName: pkg\nVersion: 1.0\n", False),
                                       ("pkg-1.0.dist-info/RECORD", "", False)):
            info = zipfile.ZipInfo(name, (1980, 1, 1, 0, 0, 0))
            info.create_system = 3
            info.external_attr = (0o100000 | (mode | 0o111 if executable else mode)) << 16
            zf.writestr(info, text)
    return path


def test_umask_does_not_reach_the_published_bytes(tmp_path):
    strict = embed_sbom(_wheel(tmp_path / "a.whl", 0o644), b"{}", tmp_path / "a-out.whl")
    group = embed_sbom(_wheel(tmp_path / "b.whl", 0o664), b"{}", tmp_path / "b-out.whl")  # umask 0002
    assert strict.read_bytes() == group.read_bytes()
    modes = {i.filename: i.external_attr >> 16 for i in zipfile.ZipFile(group).infolist()}
    assert modes["pkg/__init__.py"] == 0o100644 and modes["pkg/tool"] == 0o100755


def test_file_types_and_dos_bits_are_kept():
    assert normalized_attr((0o040775 << 16) | 0x10) == (0o040755 << 16) | 0x10  # a directory, with its DOS directory bit
    assert normalized_attr(0o120777 << 16) == 0o120777 << 16  # symlinks untouched
    assert normalized_attr(0) == 0  # no Unix mode recorded: nothing to normalise


def test_auditwheels_sbom_is_folded_into_ours(tmp_path):
    """auditwheel's CycloneDX 1.4 file names the grafted library's package and nothing more; ours says that too (with
    hash, licence and origin), so it leaves the wheel together with its RECORD line: one SBOM per wheel."""
    wheel = tmp_path / "pkg-1.0-cp311-cp311-linux_x86_64.whl"
    with zipfile.ZipFile(wheel, "w") as zf:
        zf.writestr("pkg/__init__.py", "")
        zf.writestr("pkg-1.0.dist-info/METADATA", "Metadata-Version: 2.1\nName: pkg\nVersion: 1.0\n")
        zf.writestr("pkg-1.0.dist-info/sboms/auditwheel.cdx.json", '{"bomFormat": "CycloneDX", "specVersion": "1.4"}')
        zf.writestr("pkg-1.0.dist-info/RECORD", "pkg/__init__.py,,\npkg-1.0.dist-info/sboms/auditwheel.cdx.json,sha256=x,47\n"
                                               "pkg-1.0.dist-info/RECORD,,\n")
    out = embed_sbom(wheel, b"{}", tmp_path / "out.whl")
    with zipfile.ZipFile(out) as zf:
        names = zf.namelist()
        record = zf.read("pkg-1.0.dist-info/RECORD").decode()
    assert "pkg-1.0.dist-info/sboms/auditwheel.cdx.json" not in names and "auditwheel.cdx.json" not in record
    assert "pkg-1.0.dist-info/sboms/wheelwright.cdx.json" in names and "sboms/wheelwright.cdx.json,sha256=" in record
