"""Where the payload reader was wrong on real wheels (cupy, bitsandbytes, xformers, nvidia-curand, amd-mori),
each case built here with nvcc or clang: PTX only in ``__nv_relfatbin``, static libraries, AMDGPU code
objects for targets the mach table lacked, and ``wheelwright inspect`` outside a project."""

from __future__ import annotations

import json
import struct
from collections import Counter

import pytest

import payload_fixtures as pf
from helpers import REPO
from wheelwright.config.variants import PayloadKind, Variant, load_variants, select_variant
from wheelwright.stages.elfscan import AMDGPU_MACH
from wheelwright.stages.payload import inspect_archive, inspect_elf, inspect_wheel, render
from wheelwright.stages.verify import verify_wheel

pytestmark = pytest.mark.xdist_group("payload")  # one worker builds the binaries once


@pytest.fixture(scope="session")
def builds(tmp_path_factory) -> pf.Builds:
    return pf.Builds(tmp_path_factory.getbasetemp() / "payload-bins")


def _images(module) -> Counter:
    return Counter((i.kind, i.arch, i.section) for i in module.cuda)


def _cuda(archs: tuple[str, ...], ptx: bool) -> Variant:
    return Variant(name="cuda", version="13.0", description="", gpu_payload=PayloadKind.CUDA, archs=archs,
                   ptx_forward_compatible=ptx)


# --- PTX and SASS only in __nv_relfatbin ----------------------------------------------------------


def test_rdc_object_code_is_relocatable_not_loadable(builds):
    """nvcc -rdc=true -c writes __nv_relfatbin only (no .nv_fatbin): none of it is code a GPU can load."""
    module = inspect_elf(builds.cuda_rdc_object())
    assert module.error == ""
    assert _images(module) == Counter({("sass", "sm_80", "__nv_relfatbin"): 1, ("ptx", "compute_90", "__nv_relfatbin"): 1})
    assert (module.sass, module.ptx, module.archs) == (set(), set(), ())
    assert module.relocatable == {"sm_80", "compute_90"} and not module.loadable and module.kind == "cuda"
    assert any(n.startswith("__nv_relfatbin only") and n.endswith(": sm_80 compute_90") for n in module.notes)
    assert "no SASS" not in "; ".join(module.notes)
    assert render(module).splitlines()[2].split()[:3] == ["cuda_rdc_object.o", "cuda", "rdc:sm_80"]


def test_device_linked_library_keeps_its_nv_fatbin_counted(builds):
    """A .so linked from -rdc objects: .nv_fatbin (device-linked sm_80 SASS) counts, the PTX that only
    __nv_relfatbin holds does not."""
    module = inspect_elf(builds.cuda_rdc_linked())
    assert module.error == "" and module.loadable
    assert _images(module) == Counter({("sass", "sm_80", ".nv_fatbin"): 1, ("sass", "sm_80", "__nv_relfatbin"): 1,
                                       ("ptx", "compute_90", "__nv_relfatbin"): 1})
    assert module.sass == {"sm_80"} and module.ptx == set() and module.archs == ("sm_80",)
    assert module.relocatable == {"sm_80", "compute_90"}
    assert any(n.startswith("__nv_relfatbin only") and n.endswith(": compute_90") for n in module.notes)
    assert "sm_80 rdc:compute_90" in render(module)
    assert module.to_dict()["relocatable"] == ["sm_80", "compute_90"]


def test_relocatable_ptx_does_not_satisfy_ptx_forward_compatible(builds, tmp_path):
    variant = _cuda(("sm_80", "sm_90"), ptx=True)
    rdc = pf.make_wheel(tmp_path / "rdc-1.0-cp311-cp311-linux_x86_64.whl", {"pkg/_k.so": builds.cuda_rdc_linked()})
    verdict = verify_wheel(rdc, variant)
    assert not verdict.ok
    ((check),) = verdict.checks
    assert (check.module, check.present, check.missing) == ("pkg/_k.so", ("sm_80",), ("sm_90",))
    # the same gencode without -rdc puts the PTX in .nv_fatbin: the driver JITs it for sm_90
    whole = pf.make_wheel(tmp_path / "whole-1.0-cp311-cp311-linux_x86_64.whl", {"pkg/_k.so": builds.cuda_ptx_loadable()})
    assert inspect_elf(builds.cuda_ptx_loadable()).ptx == {"compute_90"}
    assert verify_wheel(whole, variant).ok
    assert not verify_wheel(whole, _cuda(("sm_80", "sm_90"), ptx=False)).ok


# --- static libraries -----------------------------------------------------------------------------


def test_static_library_members_are_inspected(builds):
    members = inspect_archive(builds.cuda_static_library())
    by_name = {m.name: m for m in members}
    assert list(by_name) == ["libkernels.a(relocatable_kernels.o)", "libkernels.a(whole.o)", "libkernels.a(cpu.o)"]
    assert all(m.error == "" and not m.loadable for m in members)
    rdc, whole, cpu = members
    assert rdc.relocatable == {"sm_80", "compute_90"} and rdc.sass == set()  # GNU long name (//) resolved
    assert whole.sass == {"sm_90"} and whole.relocatable == set()
    assert cpu.kind == "none" and cpu.archs == ()
    assert inspect_archive(builds.cuda_static_library().read_bytes(), "libkernels.a") == members
    assert "inspect_archive" in inspect_elf(builds.cuda_static_library()).error


def test_bsd_archive_and_hip_objects(builds):
    """BSD ar (#1/N names, __.SYMDEF) as macOS tools write it, with HIP and CUDA objects from real archives."""
    hip = inspect_archive(builds.hip_static_library("gfx1103"))
    assert [(m.name, m.kind, m.hip_targets, m.loadable) for m in hip] == [
        ("libhipkern.a(hipkern.o)", "hip", {"gfx1103"}, False)]
    objects = [(m.name.split("(")[1].rstrip(")"), m) for m in inspect_archive(builds.cuda_static_library())]
    gnu = builds.cuda_static_library().read_bytes()
    blobs = [(name, _member_bytes(gnu, name)) for name, _ in objects]
    bsd = inspect_archive(pf.bsd_archive(blobs), "libmac.a")
    assert [m.name for m in bsd] == [f"libmac.a({name})" for name, _ in objects]
    assert [m.cuda for m in bsd] == [m.cuda for _, m in objects]


def _member_bytes(archive: bytes, name: str) -> bytes:
    from wheelwright.stages.payload import _ar_members

    members, damage = _ar_members(archive)
    assert damage == ""
    ((start, stop),) = [(a, b) for member, a, b in members if member == name]
    return archive[start:stop]


def test_damaged_and_thin_archives_are_errors_not_crashes(builds):
    data = builds.cuda_static_library().read_bytes()
    cut = inspect_archive(data[:len(data) - 100], "cut.a")
    assert cut[-1].name == "cut.a" and "runs past the end" in cut[-1].error
    assert [m.name for m in cut[:-1]] == ["cut.a(relocatable_kernels.o)", "cut.a(whole.o)"]
    bad = bytearray(data)
    bad[8 + 58:8 + 60] = b"xx"
    assert "bad member header" in inspect_archive(bytes(bad), "bad.a")[0].error
    assert "thin static library" in inspect_archive(b"!<thin>\n", "thin.a")[0].error
    assert inspect_archive(b"not ar", "x.a")[0].error.startswith("not a static library")


def test_wheel_reports_static_libraries_and_verify_leaves_them_out(builds, tmp_path):
    """Inspect lists each ELF member as lib.a(member.o); verify checks the loadable modules only."""
    wheel = pf.make_wheel(tmp_path / "pkg-1.0-cp311-cp311-linux_x86_64.whl", {
        "pkg/_k.so": builds.cuda_ptx_loadable(),
        "pkg/lib/libkernels.a": builds.cuda_static_library(),
        "pkg/lib/libhipkern.a": builds.hip_static_library("gfx1103"),
    })
    payload = inspect_wheel(wheel)
    names = [m.name for m in payload.modules]
    assert names == ["pkg/_k.so", "pkg/lib/libhipkern.a(hipkern.o)", "pkg/lib/libkernels.a(cpu.o)",
                     "pkg/lib/libkernels.a(relocatable_kernels.o)", "pkg/lib/libkernels.a(whole.o)"]
    assert payload.kind == "cuda+hip" and len(payload.gpu_modules) == 4
    assert payload.sass == {"sm_80"} and payload.hip_targets == set()  # what the wheel can run: the .so only
    text = render(payload)
    assert "pkg/lib/libkernels.a(whole.o)" in text and "rdc:sm_80 rdc:compute_90" in text
    variant = _cuda(("sm_80", "sm_90"), ptx=True)
    verdict = verify_wheel(wheel, variant)
    assert verdict.ok and [c.module for c in verdict.checks] == ["pkg/_k.so"]
    declared = verify_wheel(wheel, variant, ["pkg/lib/libkernels.a*"])  # an archive member is never a module to check
    assert [(c.module, c.missing) for c in declared.checks if not c.ok] == [("pkg/lib/libkernels.a*", ("sm_80", "sm_90"))]


# --- AMDGPU code objects: every EF_AMDGPU_MACH value ----------------------------------------------


def _flags_offset(data: bytes) -> int:
    return 48 if data[4] == 2 else 36  # e_flags in an ELF64 / ELF32 header


def test_every_mach_value_clang_can_write_is_named_as_clang_names_it(builds):
    """Each table entry that clang compiles: its code object's e_flags mach is that value, read back as its name."""
    compiled, rejected = [], []
    for mach, name in AMDGPU_MACH.items():
        try:
            path = builds.amdgpu_code_object(name, linked=False)
        except RuntimeError:
            rejected.append(name)
            continue
        data = path.read_bytes()
        (flags,) = struct.unpack_from("<I", data, _flags_offset(data))
        assert flags & 0xFF == mach, (name, hex(flags))
        module = inspect_elf(data, name)
        assert module.hip_processors == {name} and not module.loadable, (name, module.archs)
        compiled.append(name)
    assert {"gfx1103", "gfx1010", "gfx942", "gfx90a", "gfx1201", "gfx9-generic", "cedar"} <= set(compiled)
    print(f"\nclang compiled {len(compiled)} of {len(AMDGPU_MACH)} targets; too new for it: {' '.join(rejected)}")


def test_table_covers_every_llvm_mach_value():
    """LLVM's EF_AMDGPU_MACH values (0x01-0x10 r600, 0x20-0x63 amdgcn) minus those it reserves."""
    reserved = {0x27, 0x4D, 0x56, 0x60, 0x61}
    assert set(AMDGPU_MACH) == (set(range(0x01, 0x11)) | set(range(0x20, 0x64))) - reserved
    assert len(set(AMDGPU_MACH.values())) == len(AMDGPU_MACH)
    assert (AMDGPU_MACH[0x4F], AMDGPU_MACH[0x44], AMDGPU_MACH[0x33]) == ("gfx950", "gfx1103", "gfx1010")


@pytest.mark.parametrize("target", ["gfx1103", "gfx1010", "gfx950"])
def test_linked_code_objects_in_a_wheel(builds, tmp_path, target):
    """ET_DYN .hsaco files (amd-mori ships these) for gfx1103 and gfx1010 from clang; gfx950 from clang where
    it knows it, else (clang 19) a real gfx942 code object with its e_flags mach set to 0x4f."""
    try:
        data = builds.amdgpu_code_object(target).read_bytes()
    except RuntimeError:
        assert target == "gfx950", f"clang cannot compile {target}"
        data = bytearray(builds.amdgpu_code_object("gfx942").read_bytes())
        at = _flags_offset(data)
        (flags,) = struct.unpack_from("<I", data, at)
        struct.pack_into("<I", data, at, (flags & ~0xFF) | 0x4F)
        data = bytes(data)
    wheel = pf.make_wheel(tmp_path / "mori-1.0-cp311-cp311-linux_x86_64.whl", {f"mori/kernels/k_{target}.hsaco": data})
    (module,) = inspect_wheel(wheel).modules
    assert module.loadable and module.hip_processors == {target} and "mach" not in render(module)
    rocm = select_variant(load_variants(REPO / "variants.toml"), "rocm", "7.1")
    assert target != "gfx950" or target in rocm.archs
    if target in rocm.archs:
        assert verify_wheel(wheel, rocm, {f"mori/kernels/k_{target}.hsaco": [target]}).ok


def test_feature_bits_and_unknown_mach(builds):
    """sramecc/xnack settings still follow the name; a value LLVM has not assigned stays visible as such."""
    data = bytearray(builds.amdgpu_code_object("gfx942", linked=False).read_bytes())
    at = _flags_offset(data)
    for flags, target in ((0x04F | 0xC00 | 0x200, "gfx950:sramecc+:xnack-"), (0x056, "gfx?(mach 0x56)")):
        struct.pack_into("<I", data, at, flags)
        assert inspect_elf(bytes(data), "x").hip_targets == {target}


# --- wheelwright inspect outside a project --------------------------------------------------------


def test_inspect_needs_no_project(builds, tmp_path, monkeypatch, capsys):
    from wheelwright.cli import main

    wheel = pf.make_wheel(tmp_path / "pkg-1.0-cp311-cp311-linux_x86_64.whl", {"pkg/_k.so": builds.cuda_rdc_linked()})
    empty = tmp_path / "not-a-project"
    empty.mkdir()
    assert main(["--project", str(empty), "inspect", str(wheel)]) == 0
    out = capsys.readouterr().out
    assert out.startswith(wheel.name) and "sm_80 rdc:compute_90" in out
    monkeypatch.chdir(empty)  # the default --project is "."
    assert main(["inspect", "--json", str(wheel)]) == 0
    (module,) = json.loads(capsys.readouterr().out)["modules"]
    assert (module["archs"], module["relocatable"], module["loadable"]) == (["sm_80"], ["sm_80", "compute_90"], True)
    assert main(["inspect", str(empty / "missing.whl")]) == 1
    assert "no such wheel" in capsys.readouterr().err
    assert main(["variants"]) == 2  # commands that read the project still ask for one
    assert "not a Wheelwright project" in capsys.readouterr().err
