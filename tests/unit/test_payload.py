"""The payload inspector on real binaries: nvcc, hipcc, clang and gcc outputs built in the session.

Expected archs are exactly what the compilers were asked for. Tools that are missing skip the tests
that need them, naming the Debian package (hipcc; clang-19 clang-tools-19 lld-19).
"""

from __future__ import annotations

import struct
import zipfile
from pathlib import Path

import pytest

import payload_fixtures as pf
from wheelwright.stages import offload, payload
from wheelwright.stages.payload import ModulePayload, WheelPayload, inspect_elf, inspect_wheel, render

pytestmark = pytest.mark.xdist_group("payload")  # one worker builds the binaries once

HIPCC_TARGETS = ["gfx90a", "gfx908:xnack-", "gfx1030"]  # clang 15 knows no gfx942
CLANG_TARGETS = ["gfx90a", "gfx942", "gfx1201"]


@pytest.fixture(scope="session")
def builds(tmp_path_factory) -> pf.Builds:
    return pf.Builds(tmp_path_factory.getbasetemp() / "payload-bins")


def _hip_so(builds: pf.Builds) -> Path:
    """Two translation units, so two bundles in .hip_fatbin."""
    return builds.hipcc("hip_two_units", HIPCC_TARGETS, units=2)


def _real_bundle(builds: pf.Builds) -> bytes:
    """The first plain bundle hipcc wrote, header and code objects, without the padding after it."""
    return pf.first_bundle(pf.section_bytes(_hip_so(builds), ".hip_fatbin"))


def _ok(module: ModulePayload) -> ModulePayload:
    assert module.error == "", module.error
    return module


# --- CUDA -----------------------------------------------------------------------------------------


def test_cuda_sass_and_ptx_archs_are_exactly_those_compiled(builds):
    module = _ok(inspect_elf(builds.cuda_multi()))
    assert module.kind == "cuda"
    assert module.sass == {"sm_80", "sm_90", "sm_100"}
    assert module.ptx == {"compute_90"}
    assert module.archs == ("sm_80", "sm_90", "sm_100", "compute_90")
    assert module.hip == () and module.runtimes == ()  # nvcc links cudart statically by default
    assert "cudart linked statically" in "; ".join(module.notes)
    # nvcc 13 compresses PTX with zstd unless told otherwise; SASS stays plain
    assert {(i.kind, i.compression) for i in module.cuda} == {("sass", ""), ("ptx", "zstd")}
    assert all(i.section == ".nv_fatbin" for i in module.cuda)


def test_compressed_fatbin_entries_still_name_their_archs(builds):
    module = _ok(inspect_elf(builds.cuda_compressed()))
    assert module.sass == {"sm_80", "sm_90a"}
    assert module.ptx == {"compute_100f"}
    assert all(i.compressed and i.compression == "zstd" for i in module.cuda)
    assert [r.soname for r in module.runtimes if r.family == "cuda"] == ["libcudart.so.13"]
    assert "cudart linked statically" not in "; ".join(module.notes)


def test_lz4_relocatable_fatbin_and_lto_ir(builds):
    module = _ok(inspect_elf(builds.cuda_lz4_rdc()))
    assert {(i.kind, i.arch, i.compression, i.section) for i in module.cuda} == {
        ("sass", "sm_80", "lz4", "__nv_relfatbin"), ("lto", "lto_90", "lz4", "__nv_relfatbin")}
    # all of it is -rdc code for nvlink: reported as relocatable, none of it loadable
    assert module.relocatable == {"sm_80", "lto_90"} and module.lto == set() and module.sass == set()
    assert not module.loadable


def test_standalone_cubin(builds):
    module = _ok(inspect_elf(builds.cubin()))
    assert module.archs == ("sm_90",)


def test_bytes_and_path_give_the_same_answer(builds):
    path = builds.cuda_multi()
    assert inspect_elf(path.read_bytes(), path.name) == inspect_elf(path)


def test_standalone_fatbin_bytes(builds):
    section = pf.section_bytes(builds.cuda_multi(), ".nv_fatbin")
    module = _ok(inspect_elf(section, "k.fatbin"))
    assert module.sass == {"sm_80", "sm_90", "sm_100"} and module.ptx == {"compute_90"}


def test_damaged_fatbin_is_a_note_not_a_crash(builds):
    path = builds.cuda_multi()
    data = bytearray(path.read_bytes())
    start = data.find(payload.FATBIN_MAGIC_BYTES)
    entry = start + 16
    struct.pack_into("<Q", data, entry + 8, 1 << 40)  # first entry claims a terabyte
    module = _ok(inspect_elf(bytes(data), "damaged.so"))
    assert any("malformed fatbin entry" in note for note in module.notes)


# --- HIP ------------------------------------------------------------------------------------------


def test_hipcc_targets_from_every_bundle(builds):
    module = _ok(inspect_elf(_hip_so(builds)))
    assert module.kind == "hip"
    assert module.hip_targets == set(HIPCC_TARGETS)
    assert len(module.hip) == 2  # one bundle per translation unit, 4096-aligned
    assert all(len(b.code_objects) == 3 and not b.compressed for b in module.hip)
    assert {o.bundle_id.split("--")[0] for b in module.hip for o in b.code_objects} == {"hipv4-amdgcn-amd-amdhsa"}
    assert [r.family for r in module.runtimes] == ["hip"]
    assert module.runtimes[0].soname.startswith("libamdhip64.so")


def test_code_objects_decode_to_their_bundle_target(builds):
    """Each bundled code object, read on its own from its ELF e_flags, names the target its bundle id does."""
    section = pf.section_bytes(_hip_so(builds), ".hip_fatbin")
    entries = [(i, co) for i, co in pf.bundle_entries(pf.first_bundle(section)) if co]
    assert len(entries) == 3
    for bundle_id, code_object in entries:
        module = _ok(inspect_elf(code_object, bundle_id))
        assert module.archs == (bundle_id.split("--")[1],)


def _clang_compressed(builds: pf.Builds) -> Path:
    return builds.clang_hip("hip_compressed", CLANG_TARGETS, units=2, compress=True)


def test_clang_compressed_bundles_without_zstandard(builds, monkeypatch):
    """clang 19 --offload-compress writes CCOB v2 with zstd; without zstandard the bundles are flagged, not lost."""
    path = _clang_compressed(builds)
    section = pf.section_bytes(path, ".hip_fatbin")
    assert section[:4] == b"CCOB"
    version, method, total = struct.unpack_from("<HHI", section, 4)
    assert (version, method) == (2, 1)
    assert section[total:4096] == b"\0" * (4096 - total)  # the next bundle starts at the next 4 KiB
    monkeypatch.setattr(offload, "_zstd", None)
    module = _ok(inspect_elf(path))
    assert module.kind == "hip" and module.unreadable_bundles == 2 and module.hip_targets == set()
    assert [(b.compressed, b.compression) for b in module.hip] == [(True, "zstd")] * 2
    assert any("install zstandard" in note for note in module.notes)
    assert "? ?" in render(module)


def test_clang_compressed_bundles_with_zstandard(builds):
    path = _clang_compressed(builds)
    pytest.importorskip("zstandard", reason="zstandard is not installed: zstd bundles cannot be read")
    module = _ok(inspect_elf(path))
    assert module.hip_targets == set(CLANG_TARGETS) and module.unreadable_bundles == 0
    assert [(b.compressed, b.compression) for b in module.hip] == [(True, "zstd")] * 2


@pytest.mark.parametrize("version", [1, 2, 3])
def test_zlib_ccob_made_from_a_real_bundle(builds, version):
    """Compressed bundles in every header version, back to back with a plain one, inside a real ELF."""
    plain = _real_bundle(builds)
    compressed = pf.ccob(plain, version=version, method=0)
    section = pf.pad(plain) + pf.pad(compressed) + compressed
    path = builds.with_section(f"ccob_v{version}", builds.gcc_shared(), ".hip_fatbin", section)
    module = _ok(inspect_elf(path))
    assert [(b.compressed, b.compression) for b in module.hip] == [(False, ""), (True, "zlib"), (True, "zlib")]
    assert all({o.target for o in b.code_objects} == set(HIPCC_TARGETS) for b in module.hip)
    assert [b.offset for b in module.hip] == [0, len(pf.pad(plain)), len(pf.pad(plain)) + len(pf.pad(compressed))]


def test_ccob_with_a_wrong_hash_or_unknown_codec(builds):
    plain = _real_bundle(builds)
    bad_hash = _ok(inspect_elf(pf.ccob(plain, hash_value=1234), "bad-hash"))
    assert bad_hash.hip[0].error and "hash mismatch" in bad_hash.hip[0].error and bad_hash.kind == "hip"
    blob = bytearray(pf.ccob(plain))
    struct.pack_into("<H", blob, 6, 7)
    unknown = _ok(inspect_elf(bytes(blob), "method-7"))
    assert "unknown compression" in unknown.hip[0].error
    truncated = _ok(inspect_elf(pf.ccob(plain)[:100], "cut"))
    assert "runs past the end" in truncated.hip[0].error


def test_truncated_plain_bundle(builds):
    plain = _real_bundle(builds)
    module = _ok(inspect_elf(plain[:len(plain) // 2], "half"))
    assert module.hip[0].error.startswith("malformed offload bundle")


# --- runtimes, CPU code, bad input ----------------------------------------------------------------


def test_cpu_library_carries_nothing(builds):
    module = _ok(inspect_elf(builds.gcc_shared()))
    assert (module.kind, module.archs, module.runtimes, module.notes) == ("none", (), (), ())
    assert "libc.so.6" in module.needed


def test_runtime_links_are_flagged_and_a_kernel_less_hip_module_is_called_out(builds):
    sonames = ("libamdhip64.so.6", "libsynapse.so", "libhl_thunk.so", "libtpu.so", "libsenlib.so.1", "libflex_rt.so")
    module = _ok(inspect_elf(builds.gcc_shared("vendor", links=sonames)))
    assert [(r.family, r.soname) for r in module.runtimes] == [
        ("hip", "libamdhip64.so.6"), ("gaudi", "libsynapse.so"), ("gaudi", "libhl_thunk.so"), ("tpu", "libtpu.so"),
        ("spyre", "libsenlib.so.1"), ("spyre", "libflex_rt.so")]
    assert module.kind == "none"
    assert "links libamdhip64.so.6 but carries no HIP code objects" in module.notes  # the xFormers failure
    custom = inspect_elf(builds.gcc_shared("vendor", links=sonames), runtimes={"acme": ("libtpu*",)})
    assert [(r.family, r.soname) for r in custom.runtimes] == [("acme", "libtpu.so")]


def test_bad_input_is_an_error_field(builds, tmp_path):
    text = tmp_path / "notes.txt"
    text.write_text("hello")
    assert inspect_elf(text).error == "not an ELF file"
    empty = tmp_path / "empty.so"
    empty.write_bytes(b"")
    assert inspect_elf(empty).error == "empty file"
    assert inspect_elf(tmp_path / "missing.so").error.startswith("cannot read")
    whole = builds.cuda_multi().read_bytes()
    for cut in (16, 64, len(whole) // 2):
        assert inspect_elf(whole[:cut], "cut.so").error.startswith("unreadable ELF"), cut
    assert inspect_elf(b"\x7fELF" + b"\xff" * 200, "junk.so").error


# --- wheels and rendering -------------------------------------------------------------------------


def _wheel(builds, tmp_path) -> Path:
    return pf.make_wheel(tmp_path / "demo-1.0-cp311-cp311-linux_x86_64.whl", {
        "demo/_cuda.cpython-311-x86_64-linux-gnu.so": builds.cuda_multi(),
        "demo/_hip.so": _hip_so(builds),
        "demo/_cpu.so": builds.gcc_shared(),
        "demo/libs/libcudart_shared.so.1.2": builds.cuda_compressed(),
        "demo/bin/tool": builds.gcc_executable(),
        "demo/kernels/add.cubin": builds.cubin(),
        "demo/libstub.so": b"/* GNU ld script */ INPUT(libc.so.6)\n",
        "demo/broken.so": b"\x7fELF" + b"\0" * 10,
        "demo/__init__.py": b"",
        "demo-1.0.dist-info/RECORD": b"",
    })


def test_inspect_wheel_reads_every_elf_member(builds, tmp_path):
    wheel = inspect_wheel(_wheel(builds, tmp_path))
    assert wheel.error == ""
    kinds = {m.name: (m.kind if not m.error else "error") for m in wheel.modules}
    assert kinds == {
        "demo/_cpu.so": "none", "demo/_cuda.cpython-311-x86_64-linux-gnu.so": "cuda", "demo/_hip.so": "hip",
        "demo/bin/tool": "none", "demo/broken.so": "error", "demo/kernels/add.cubin": "cuda",
        "demo/libs/libcudart_shared.so.1.2": "cuda"}
    assert [m.name for m in wheel.modules] == sorted(kinds)
    assert wheel.kind == "cuda+hip"
    assert wheel.sass == {"sm_80", "sm_90", "sm_90a", "sm_100"}
    assert wheel.ptx == {"compute_90", "compute_100f"}
    assert wheel.hip_targets == set(HIPCC_TARGETS)
    assert wheel.hip_processors == {"gfx90a", "gfx908", "gfx1030"}
    assert len(wheel.gpu_modules) == 4
    by_name = {m.name: m for m in wheel.modules}
    assert by_name["demo/_cuda.cpython-311-x86_64-linux-gnu.so"] == inspect_elf(builds.cuda_multi(), by_name[
        "demo/_cuda.cpython-311-x86_64-linux-gnu.so"].name)
    assert wheel.to_dict()["modules"][0]["name"] == "demo/_cpu.so"


def test_inspect_wheel_under_a_tiny_memory_budget(builds, tmp_path, monkeypatch):
    """Members bigger than the budget are read one at a time instead of waiting for ever."""
    expected = inspect_wheel(_wheel(builds, tmp_path), workers=1)
    monkeypatch.setattr(payload, "_MEMORY_BUDGET", 1024)
    assert inspect_wheel(_wheel(builds, tmp_path), workers=4) == expected


def test_inspect_wheel_on_a_bad_file(tmp_path):
    bad = tmp_path / "bad-1.0-py3-none-any.whl"
    bad.write_bytes(b"not a zip")
    result = inspect_wheel(bad)
    assert isinstance(result, WheelPayload) and result.error.startswith("cannot read wheel")
    assert "cannot read wheel" in render(result)
    stored = tmp_path / "stored-1.0-py3-none-any.whl"
    with zipfile.ZipFile(stored, "w", zipfile.ZIP_STORED) as archive:
        archive.writestr("a.py", "")
    assert inspect_wheel(stored).modules == ()


def test_render_is_a_table(builds, tmp_path):
    text = render(inspect_wheel(_wheel(builds, tmp_path)))
    lines = text.splitlines()
    assert lines[0].startswith("demo-1.0-cp311-cp311-linux_x86_64.whl: 7 ELF module(s), 4 with device code")
    assert lines[1].split() == ["module", "kind", "archs", "runtimes", "notes"]
    cuda = next(line for line in lines if line.startswith("demo/_cuda"))
    assert "sm_80 sm_90 sm_100 compute_90" in cuda
    hip = next(line for line in lines if line.startswith("demo/_hip.so"))
    assert "gfx90a gfx908:xnack- gfx1030" in hip and "libamdhip64.so.5" in hip
    assert next(line for line in lines if line.startswith("demo/broken.so")).split()[1] == "error"
    assert render(inspect_elf(builds.gcc_shared())).splitlines()[2].split()[:4] == ["cpu.so", "none", "-", "-"]
