"""`links` and `ships`: a module must link each library its recipe wants (a cuDNN CMake silently dropped fails the
build), and a declared file must be in the wheel; read from real ELF files compiled here, grafted names included."""

from __future__ import annotations

import shutil
import subprocess
import zipfile

import pytest

from wheelwright.stages.linkage import missing_links, missing_members, ungrafted

pytestmark = pytest.mark.skipif(shutil.which("gcc") is None, reason="needs gcc to compile the test's shared objects")


def _shared_object(tmp_path, name: str, *libraries: str):
    source = tmp_path / f"{name}.c"
    source.write_text("int answer(void) { return 42; }\n")
    target = tmp_path / f"{name}.so"
    subprocess.run(["gcc", "-shared", "-fPIC", "-Wl,--no-as-needed", str(source), "-o", str(target), *(f"-l{lib}" for lib in libraries)],
                   check=True, capture_output=True)
    return target


def _wheel(tmp_path, members: dict[str, bytes]):
    wheel = tmp_path / "pkg-1.0-cp311-cp311-linux_x86_64.whl"
    with zipfile.ZipFile(wheel, "w") as zf:
        for name, data in members.items():
            zf.writestr(name, data)
    return wheel


def test_a_module_that_does_not_link_a_wanted_library_is_named(tmp_path):
    linked = _shared_object(tmp_path, "linked", "m")
    bare = _shared_object(tmp_path, "bare")
    wheel = _wheel(tmp_path, {"pkg/_linked.so": linked.read_bytes(), "pkg/_bare.so": bare.read_bytes(), "pkg/__init__.py": b""})
    assert missing_links(wheel, {"pkg/_linked.so": ["libm.so*"]}) == []
    problems = missing_links(wheel, {"pkg/_*.so": ["libm.so*"], "pkg/_gone*.so": ["libm.so*"], "pkg/__init__.py": ["libm.so*"]})
    assert "pkg/_bare.so does not link libm.so* (it links libc.so.6)" in problems
    assert "no member matches pkg/_gone*.so (declared to link libm.so*)" in problems
    assert "pkg/__init__.py is not an ELF shared object (declared to link libm.so*)" in problems
    assert len(problems) == 3


def test_a_grafted_library_counts_under_its_original_name_and_declared_files_must_exist(tmp_path):
    assert ungrafted("libyaml-0-5f2d8a1b.so.2.0.9") == "libyaml-0.so.2.0.9"
    assert ungrafted("libpng16-1a2b3c4d.so.16.37.0") == "libpng16.so.16.37.0"
    assert ungrafted("libpng16.60f56faa.so.16") == "libpng16.so.16"  # PyTorch's own wheels (torchvision 0.26.0's image.so)
    assert ungrafted("libcudnn.so.9") == "libcudnn.so.9"
    wheel = _wheel(tmp_path, {"triton/backends/nvidia/bin/ptxas": b"\x7fELF", "triton/__init__.py": b""})
    assert missing_members(wheel, ["triton/backends/nvidia/bin/ptxas"]) == []
    assert missing_members(wheel, ["triton/backends/nvidia/bin/nvdisasm"]) == ["no member matches triton/backends/nvidia/bin/nvdisasm"]
