"""Unpacking trusts nothing an archive says about where its files go or how big they are."""

from __future__ import annotations

import zipfile

import pytest

from wheelwright.errors import SourceError
from wheelwright.remote.sources import UnpackLimits, unpack_sdist


def _zip(path, members):
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in members.items():
            zf.writestr(name, data)
    return path


def test_a_zip_bomb_is_refused_from_its_directory_before_anything_is_written(tmp_path):
    archive = _zip(tmp_path / "bomb-1.0.zip", {"bomb-1.0/PKG-INFO": b"x", "bomb-1.0/zeros": bytes(32 << 20)})
    assert archive.stat().st_size < 100_000  # 32 MiB of zeros, compressed
    with pytest.raises(SourceError, match=r"bomb-1.0.zip: cannot unpack: 33554433 bytes uncompressed, over the limit of 1048576"):
        unpack_sdist(archive, tmp_path / "out", UnpackLimits(max_bytes=1 << 20))
    assert not (tmp_path / "out").exists()


def test_a_zip_of_too_many_members_is_refused(tmp_path):
    archive = _zip(tmp_path / "many-1.0.zip", {f"many-1.0/f{i}": b"" for i in range(50)})
    with pytest.raises(SourceError, match="50 members, over the limit of 10"):
        unpack_sdist(archive, tmp_path / "out", UnpackLimits(max_files=10))


def test_zip_slip_is_refused(tmp_path):
    archive = _zip(tmp_path / "slip-1.0.zip", {"slip-1.0/PKG-INFO": b"x", "slip-1.0/../../escaped": b"x"})
    with pytest.raises(SourceError, match="escapes the unpack directory"):
        unpack_sdist(archive, tmp_path / "out")
    assert not (tmp_path / "escaped").exists()


def test_an_ordinary_zip_unpacks_within_the_limits(tmp_path):
    archive = _zip(tmp_path / "fine-1.0.zip", {"fine-1.0/PKG-INFO": b"Name: fine\n", "fine-1.0/src/a.py": b"A = 1\n"})
    root = unpack_sdist(archive, tmp_path / "out", UnpackLimits(max_files=2, max_bytes=100))
    assert (root / "src" / "a.py").read_text() == "A = 1\n"
