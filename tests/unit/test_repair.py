"""auditwheel repair: tiny gcc-built libraries and extensions in hand-written wheels, repaired for real."""

from __future__ import annotations

import base64
import hashlib
import io
import os
import shutil
import subprocess
import sys
import sysconfig
import zipfile
from pathlib import Path

import pytest

from wheelwright.errors import BuildError
from wheelwright.stages.repair import (
    AuditwheelRepairer,
    GraftedLibrary,
    PassThrough,
    RepairResult,
    best_manylinux_tag,
    check_never_grafted,
    matching_pattern,
)
from wheelwright.config.variants import load_variants, select_variant

REPO = Path(__file__).resolve().parents[2]
INCLUDE = Path(sysconfig.get_paths()["include"])
EXT_SUFFIX = sysconfig.get_config_var("EXT_SUFFIX")
PY_TAG = f"cp{sys.version_info.major}{sys.version_info.minor}"
ARCH = os.uname().machine

needs_gcc = pytest.mark.skipif(
    shutil.which("gcc") is None or not (INCLUDE / "Python.h").is_file() or sys.platform != "linux",
    reason="needs gcc and Python.h on Linux",
)


# -- building blocks ---------------------------------------------------------------------------------


def gcc_library(directory: Path, soname: str, body: str, *, links: tuple[Path, ...] = ()) -> Path:
    """A shared library named (and with DT_SONAME) ``soname``."""
    directory.mkdir(parents=True, exist_ok=True)
    source = directory / f"{soname}.c"
    source.write_text(body)
    out = directory / soname
    subprocess.run(["gcc", "-shared", "-fPIC", f"-Wl,-soname,{soname}", "-o", str(out), str(source),
                    "-Wl,--no-as-needed", *_link_args(links)], check=True)
    source.unlink()
    return out


def gcc_extension(directory: Path, name: str, declarations: str, expression: str, *,
                  links: tuple[Path, ...] = (), rpath: str | None = None) -> Path:
    """A CPython extension module ``name`` whose ``value()`` returns the C string ``expression``."""
    directory.mkdir(parents=True, exist_ok=True)
    source = directory.parent / f"{name}-src.c"
    source.write_text(f"""
#include <Python.h>
{declarations}
static PyObject *value(PyObject *self, PyObject *args) {{ return PyUnicode_FromString({expression}); }}
static PyMethodDef methods[] = {{{{"value", value, METH_NOARGS, ""}}, {{0}}}};
static struct PyModuleDef module = {{PyModuleDef_HEAD_INIT, "{name}", 0, -1, methods}};
PyMODINIT_FUNC PyInit_{name}(void) {{ return PyModule_Create(&module); }}
""")
    out = directory / f"{name}{EXT_SUFFIX}"
    extra = [f"-Wl,-rpath,{rpath}"] if rpath else []
    subprocess.run(["gcc", "-shared", "-fPIC", f"-I{INCLUDE}", "-o", str(out), str(source), "-Wl,--no-as-needed",
                    *_link_args(links), *extra], check=True)
    source.unlink()
    return out


def _link_args(links: tuple[Path, ...]) -> list[str]:
    return [arg for lib in links for arg in (f"-L{lib.parent}", f"-l:{lib.name}")]


def make_wheel(directory: Path, files: dict[str, bytes | Path], *, name: str = "pkg", version: str = "1.0",
               tag: str | None = None, purelib: bool = False) -> Path:
    """A wheel with proper WHEEL, METADATA and RECORD, written by hand."""
    tag = tag or f"{PY_TAG}-{PY_TAG}-linux_{ARCH}"
    dist_info = f"{name}-{version}.dist-info"
    contents = {path: (data.read_bytes() if isinstance(data, Path) else data) for path, data in files.items()}
    contents[f"{dist_info}/METADATA"] = f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n".encode()
    contents[f"{dist_info}/WHEEL"] = (f"Wheel-Version: 1.0\nGenerator: wheelwright-tests\n"
                                      f"Root-Is-Purelib: {'true' if purelib else 'false'}\nTag: {tag}\n").encode()
    record = []
    for path, data in contents.items():
        digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
        record.append(f"{path},sha256={digest},{len(data)}")
    record.append(f"{dist_info}/RECORD,,")
    contents[f"{dist_info}/RECORD"] = ("\n".join(record) + "\n").encode()
    directory.mkdir(parents=True, exist_ok=True)
    wheel = directory / f"{name}-{version}-{tag}.whl"
    with zipfile.ZipFile(wheel, "w", zipfile.ZIP_DEFLATED) as zf:
        for path, data in contents.items():
            info = zipfile.ZipInfo(path, date_time=(2020, 1, 1, 0, 0, 0))
            info.external_attr = (0o755 if data[:4] == b"\x7fELF" else 0o644) << 16
            zf.writestr(info, data, zipfile.ZIP_DEFLATED)
    return wheel


def members(wheel: Path) -> list[str]:
    with zipfile.ZipFile(wheel) as zf:
        return zf.namelist()


def libs_members(wheel: Path) -> list[str]:
    return [m for m in members(wheel) if m.split("/")[0].endswith(".libs") and not m.endswith("/")]


def import_value(wheel: Path, tmp: Path, module: str = "pkg._ext") -> str:
    """Unpack the wheel (keeping modes) and call the extension, in a fresh interpreter without LD paths."""
    target = tmp / f"site-{wheel.stem[:20]}"
    with zipfile.ZipFile(wheel) as zf:
        for info in zf.infolist():
            zf.extract(info, target)
            os.chmod(target / info.filename, (info.external_attr >> 16) or 0o644)
    env = {k: v for k, v in os.environ.items() if k not in ("LD_LIBRARY_PATH", "PYTHONPATH")}
    run = subprocess.run([sys.executable, "-c", f"import {module} as m; print(m.value())"], cwd=target, env=env,
                         capture_output=True, text=True)
    assert run.returncode == 0, run.stderr
    return run.stdout.strip()


def raw_auditwheel(wheel: Path, out: Path, *extra: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-P", "-m", "auditwheel", "repair", "-w", str(out), *extra, str(wheel)],
                          capture_output=True, text=True, cwd=out.parent,
                          env={**os.environ, "PATH": sysconfig.get_path("scripts") + os.pathsep + os.environ["PATH"]})


def system_library(*candidates: str) -> Path:
    """A library the manylinux policies do not allow as external (zlib is allowed: auditwheel never grafts it)."""
    for directory in (Path("/lib") / f"{ARCH}-linux-gnu", Path("/usr/lib") / f"{ARCH}-linux-gnu", Path("/usr/lib64"),
                      Path("/lib64")):
        for name in candidates:
            if (directory / name).exists():
                return directory / name
    pytest.skip(f"none of {candidates} on this machine")


# -- the protocol --------------------------------------------------------------------------------------


def test_pass_through_returns_the_built_wheel(tmp_path):
    wheel = tmp_path / "x-1.0-py3-none-any.whl"
    assert PassThrough().repair(wheel, tmp_path / "out") == RepairResult(wheel, None, ())


def test_variant_repairer_takes_its_never_graft_list_and_label():
    rocm = select_variant(load_variants(REPO / "variants.toml"), "rocm")
    repairer = AuditwheelRepairer.for_variant(rocm)
    assert repairer.policy == rocm.label == "rocm-7.1"
    assert "libamdhip64.so*" in repairer.never_graft and "libtorch*.so*" in repairer.never_graft


# -- pure parts ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("soname, expected", [
    ("libamdhip64.so.6", "libamdhip64.so*"),
    ("libamdhip64.so.6.4.43482", "libamdhip64.so*"),
    ("libamdhip64.so", "libamdhip64.so*"),
    ("librocm_smi64.so.7", "librocm*"),
    ("libtorch_cpu.so", "libtorch*.so*"),
    ("libc10_hip.so", "libc10*.so*"),
    ("libAMDHIP64.so.6", None),  # case-sensitive, as sonames are
    ("libamdhip.so.6", None),
    ("libz.so.1", None),
])
def test_versioned_sonames_match_never_graft_patterns(soname, expected):
    patterns = select_variant(load_variants(REPO / "variants.toml"), "rocm").never_graft
    assert matching_pattern(soname, patterns) == expected


def test_an_unversioned_exclude_misses_the_versioned_soname():
    assert matching_pattern("librocblas.so.5", ["librocblas.so"]) is None  # the ~890 MB ROCm mistake


@pytest.mark.parametrize("glibc, expected", [
    ((2, 36), f"manylinux_2_36_{ARCH}"),
    ((2, 17), f"manylinux_2_17_{ARCH}"),
    ((2, 33), f"manylinux_2_31_{ARCH}"),  # auditwheel has no 2_32/2_33 policy: the next one down
])
def test_best_manylinux_tag_is_the_highest_policy_not_above_glibc(glibc, expected):
    if ARCH != "x86_64":
        pytest.skip("policy table checked for x86_64")
    assert best_manylinux_tag(ARCH, glibc) == expected


def test_best_manylinux_tag_for_this_machine():
    libc = os.confstr("CS_GNU_LIBC_VERSION") or ""
    if not libc.startswith("glibc "):
        pytest.skip("not glibc")
    major, minor = libc.split()[1].split(".")[:2]
    tag = best_manylinux_tag()
    assert tag is not None and tag.endswith(f"_{ARCH}")
    found = tuple(int(n) for n in tag.split("_")[1:3])
    assert found <= (int(major), int(minor))
    assert AuditwheelRepairer().plat == tag
    assert best_manylinux_tag(ARCH, (2, 4)) is None  # older than every policy


def _fake_repaired(tmp_path: Path, libs: dict[str, bytes]) -> Path:
    return make_wheel(tmp_path, {"pkg/__init__.py": b"", **libs}, tag=f"{PY_TAG}-{PY_TAG}-manylinux_2_17_{ARCH}")


def test_check_never_grafted_names_wheel_and_library(tmp_path):
    repaired = _fake_repaired(tmp_path, {"pkg.libs/libamdhip64-1a2b3c4d.so.6.4.43482": b"\x7fELF"})
    with pytest.raises(BuildError) as caught:
        check_never_grafted(repaired, ("libamdhip64.so*",), policy="rocm-7.1", label="pkg-1.0-cp311-linux.whl")
    assert str(caught.value) == ("pkg-1.0-cp311-linux.whl: would graft libamdhip64.so.6.4.43482, "
                                 "which the rocm-7.1 policy never grafts")


def test_check_never_grafted_uses_the_recorded_soname(tmp_path):
    # the grafted file's name does not match, the soname it was needed as does
    repaired = _fake_repaired(tmp_path, {"pkg.libs/libhip-1a2b3c4d.so.6": b"\x7fELF"})
    grafted = (GraftedLibrary("libamdhip64.so.6", Path("/opt/rocm/lib/libhip.so.6"), "0" * 64, "pkg.libs/libhip-1a2b3c4d.so.6"),)
    check_never_grafted(repaired, ("libamdhip64.so*",), policy="rocm")
    with pytest.raises(BuildError, match=r"would graft libamdhip64\.so\.6, which the rocm policy never grafts"):
        check_never_grafted(repaired, ("libamdhip64.so*",), policy="rocm", grafted=grafted)


def test_check_never_grafted_passes_allowed_and_preexisting_libraries(tmp_path):
    repaired = _fake_repaired(tmp_path, {"pkg.libs/liblzma-1a2b3c4d.so.5.4.1": b"\x7fELF",
                                         "pkg.libs/libamdhip64.so.6": b"\x7fELF",
                                         "pkg/libamdhip64.so.6": b"\x7fELF"})  # shipped by the package, not grafted
    check_never_grafted(repaired, ("libamdhip64.so*",), preexisting={"pkg.libs/libamdhip64.so.6"})
    check_never_grafted(repaired, ())
    with pytest.raises(BuildError):
        check_never_grafted(repaired, ("libamdhip64.so*",))


# -- wheels that need no repair ----------------------------------------------------------------------------


def test_pure_wheel_passes_through_byte_identical(tmp_path):
    wheel = make_wheel(tmp_path / "dist", {"pure/__init__.py": b"x = 1\n"}, name="pure", tag="py3-none-any", purelib=True)
    before = wheel.read_bytes()
    log = io.StringIO()
    result = AuditwheelRepairer(("libamdhip64.so*",)).repair(wheel, tmp_path / "out", log=log)
    assert result == RepairResult(wheel, None, ())
    assert wheel.read_bytes() == before
    assert not (tmp_path / "out").exists() or not any((tmp_path / "out").iterdir())
    assert "pure Python" in log.getvalue()


def test_platform_wheel_without_binaries_passes_through(tmp_path):
    wheel = make_wheel(tmp_path / "dist", {"pkg/__init__.py": b""})
    result = AuditwheelRepairer().repair(wheel, tmp_path / "out")
    assert result == RepairResult(wheel, None, ())
    assert not any((tmp_path / "out").iterdir())


# -- repairs ------------------------------------------------------------------------------------------------


@pytest.fixture
def lzma_library() -> Path:
    return system_library("liblzma.so.5", "libbz2.so.1.0")


def _lzma_call(lib: Path) -> tuple[str, str]:
    if lib.name.startswith("liblzma"):
        return "const char *lzma_version_string(void);", "lzma_version_string()"
    return "const char *BZ2_bzlibVersion(void);", "BZ2_bzlibVersion()"


@needs_gcc
def test_system_library_is_grafted_and_recorded(tmp_path, lzma_library):
    build = tmp_path / "build"
    declarations, expression = _lzma_call(lzma_library)
    ext = gcc_extension(build / "pkg", "_ext", declarations, expression, links=(lzma_library,))
    wheel = make_wheel(tmp_path / "dist", {"pkg/__init__.py": b"", f"pkg/{ext.name}": ext})
    before = wheel.read_bytes()
    log = io.StringIO()
    result = AuditwheelRepairer(select_variant(load_variants(REPO / "variants.toml"), "rocm").never_graft,
                                policy="rocm-7.1").repair(wheel, tmp_path / "out", log=log)

    assert wheel.read_bytes() == before and result.wheel.parent == tmp_path / "out"
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == [result.wheel.name]  # no scratch left behind
    assert result.platform_tag and result.platform_tag in result.wheel.name
    assert all(t.startswith("manylinux") and t.endswith(f"_{ARCH}") for t in result.platform_tags)
    assert AuditwheelRepairer().plat in result.platform_tags  # the tag we asked for
    (grafted,) = result.grafted
    assert grafted.soname == lzma_library.name
    assert grafted.source.resolve() == lzma_library.resolve()
    assert grafted.name.startswith("pkg.libs/") and grafted.name in members(result.wheel)
    stem = lzma_library.name.split(".")[0]
    assert grafted.name.split("/")[1].startswith(stem + "-")  # hashed name: liblzma-1a2b3c4d.so.5.x
    with zipfile.ZipFile(result.wheel) as zf:
        assert hashlib.sha256(zf.read(grafted.name)).hexdigest() == grafted.sha256
    assert grafted.sha256 != hashlib.sha256(lzma_library.read_bytes()).hexdigest()  # patched: new soname
    assert import_value(result.wheel, tmp_path)  # the extension finds the grafted copy
    assert f"Grafting: {grafted.source}" in log.getvalue()


@needs_gcc
def test_the_same_wheel_repairs_to_the_same_bytes(tmp_path, lzma_library):
    declarations, expression = _lzma_call(lzma_library)
    ext = gcc_extension(tmp_path / "build" / "pkg", "_ext", declarations, expression, links=(lzma_library,))
    wheel = make_wheel(tmp_path / "dist", {"pkg/__init__.py": b"", f"pkg/{ext.name}": ext})
    repairer = AuditwheelRepairer(source_date_epoch=315532800)
    first = repairer.repair(wheel, tmp_path / "one")
    second = repairer.repair(wheel, tmp_path / "two")
    assert first.wheel.name == second.wheel.name
    assert first.wheel.read_bytes() == second.wheel.read_bytes()
    with zipfile.ZipFile(first.wheel) as zf:
        assert {info.date_time for info in zf.infolist()} == {(1980, 1, 1, 0, 0, 0)}


@needs_gcc
def test_zlib_is_allowed_external_and_never_grafted(tmp_path):
    libz = system_library("libz.so.1")
    ext = gcc_extension(tmp_path / "build" / "pkg", "_ext", "const char *zlibVersion(void);", "zlibVersion()", links=(libz,))
    wheel = make_wheel(tmp_path / "dist", {"pkg/__init__.py": b"", f"pkg/{ext.name}": ext})
    result = AuditwheelRepairer().repair(wheel, tmp_path / "out")
    assert result.grafted == () and libs_members(result.wheel) == []
    assert result.platform_tag and "manylinux" in result.platform_tag


def _own_library_wheel(tmp_path: Path, layout: str) -> tuple[Path, Path]:
    """An extension linking the package's own libown.so, in three layouts that trip raw auditwheel differently."""
    build = tmp_path / "build"
    own = gcc_library(build / "lib", "libown.so", 'const char *own_answer(void) { return "42"; }\n')
    decl, expr = "const char *own_answer(void);", "own_answer()"
    if layout == "origin":  # beside the extension, RUNPATH $ORIGIN: what setuptools/scikit-build usually do
        ext = gcc_extension(build / "pkg", "_ext", decl, expr, links=(own,), rpath="$ORIGIN")
        files = {"pkg/libown.so": own, f"pkg/{ext.name}": ext}
    else:  # pkg/lib/, RUNPATH pointing at the build tree (raw auditwheel grafts a 2nd copy, or fails once it is gone)
        ext = gcc_extension(build / "pkg", "_ext", decl, expr, links=(own,), rpath=str(own.parent))
        files = {"pkg/lib/libown.so": own, f"pkg/{ext.name}": ext}
    wheel = make_wheel(tmp_path / "dist", {"pkg/__init__.py": b"", **files})
    if layout == "build-tree-gone":
        shutil.rmtree(build)
    return wheel, build


@needs_gcc
def test_own_library_beside_the_extension_is_kept_not_grafted(tmp_path):
    wheel, _ = _own_library_wheel(tmp_path, "origin")
    result = AuditwheelRepairer(("libamdhip64.so*",)).repair(wheel, tmp_path / "out")
    assert result.grafted == () and libs_members(result.wheel) == []
    assert [m for m in members(result.wheel) if "libown" in m] == ["pkg/libown.so"]
    assert import_value(result.wheel, tmp_path) == "42"


@needs_gcc
@pytest.mark.parametrize("layout, raw_outcome", [
    ("build-tree", "grafts a second copy"),
    ("build-tree-gone", "cannot locate it"),
])
def test_own_library_is_not_grafted_again(tmp_path, layout, raw_outcome):
    wheel, _ = _own_library_wheel(tmp_path, layout)
    raw = raw_auditwheel(wheel, tmp_path / "raw")
    if raw_outcome == "grafts a second copy":  # what auditwheel alone does, so this test can fail
        assert raw.returncode == 0, raw.stderr
        assert any("libown" in m for m in libs_members(next((tmp_path / "raw").glob("*.whl"))))
    else:
        assert raw.returncode != 0 and 'required library "libown.so" could not be located' in raw.stderr

    log = io.StringIO()
    result = AuditwheelRepairer(("libamdhip64.so*",)).repair(wheel, tmp_path / "out", log=log)
    assert result.grafted == () and libs_members(result.wheel) == []
    assert [m for m in members(result.wheel) if "libown" in m] == ["pkg/lib/libown.so"]
    assert result.external == ()  # the wheel's own library is not an outside dependency
    assert "needs libown.so, which the wheel ships in pkg/lib" in log.getvalue()  # its RPATH misses it: noted


@pytest.fixture
def fake_hip(tmp_path) -> Path:
    """A stand-in ``libamdhip64.so.6`` (soname and all), found through LD paths like /opt/rocm/lib is."""
    return gcc_library(tmp_path / "rocm" / "lib", "libamdhip64.so.6", 'const char *hipVersion(void) { return "6.4"; }\n')


def _hip_wheel(tmp_path: Path, hip: Path) -> Path:
    ext = gcc_extension(tmp_path / "build" / "pkg", "_ext", "const char *hipVersion(void);", "hipVersion()", links=(hip,))
    return make_wheel(tmp_path / "dist", {"pkg/__init__.py": b"", f"pkg/{ext.name}": ext})


@needs_gcc
def test_rocm_policy_leaves_libamdhip64_external(tmp_path, fake_hip):
    wheel = _hip_wheel(tmp_path, fake_hip)
    repairer = AuditwheelRepairer.for_variant(select_variant(load_variants(REPO / "variants.toml"), "rocm"),
                                              library_path=[fake_hip.parent])
    result = repairer.repair(wheel, tmp_path / "out")
    assert result.grafted == ()
    assert not any("amdhip" in m for m in libs_members(result.wheel))
    assert result.external == ("libamdhip64.so.6",)
    assert result.platform_tag and "manylinux" in result.platform_tag
    check_never_grafted(result.wheel, repairer.never_graft, policy=repairer.policy)


@needs_gcc
def test_without_the_policy_auditwheel_would_graft_it_and_the_check_catches_that(tmp_path, fake_hip):
    wheel = _hip_wheel(tmp_path, fake_hip)
    result = AuditwheelRepairer((), library_path=[fake_hip.parent]).repair(wheel, tmp_path / "out")
    (grafted,) = result.grafted
    assert grafted.soname == "libamdhip64.so.6" and grafted.source == fake_hip
    assert grafted.name.startswith("pkg.libs/libamdhip64-")
    with pytest.raises(BuildError, match=rf"^{wheel.name}: would graft libamdhip64\.so\.6, which the rocm policy never grafts$"):
        check_never_grafted(result.wheel, ("libamdhip64.so*",), policy="rocm", grafted=result.grafted, label=wheel.name)


@needs_gcc
def test_forbidden_library_fails_when_needed_directly(tmp_path, fake_hip):
    wheel = _hip_wheel(tmp_path, fake_hip)
    repairer = AuditwheelRepairer((), forbid=("libamdhip64.so*",), policy="cpu", library_path=[fake_hip.parent])
    with pytest.raises(BuildError, match=rf"^{wheel.name}: needs libamdhip64\.so\.6, which the cpu policy forbids"):
        repairer.repair(wheel, tmp_path / "out")
    assert [p for p in (tmp_path / "out").iterdir()] == []


@needs_gcc
def test_forbidden_library_fails_when_a_grafted_library_needs_it(tmp_path, fake_hip):
    mid = gcc_library(tmp_path / "vendor", "libmid.so.1",
                      'const char *hipVersion(void);\nconst char *mid(void) { return hipVersion(); }\n', links=(fake_hip,))
    ext = gcc_extension(tmp_path / "build" / "pkg", "_ext", "const char *mid(void);", "mid()", links=(mid,))
    wheel = make_wheel(tmp_path / "dist", {"pkg/__init__.py": b"", f"pkg/{ext.name}": ext})
    repairer = AuditwheelRepairer((), forbid=("libamdhip64.so*",), policy="cpu", library_path=[mid.parent, fake_hip.parent])
    with pytest.raises(BuildError, match=r"needs libamdhip64\.so\.6 \(through the grafted libmid\.so\.1\), which the cpu policy forbids"):
        repairer.repair(wheel, tmp_path / "out")
    # never_graft alone grafts libmid and leaves its libamdhip64 need outside
    result = AuditwheelRepairer(("libamdhip64.so*",), library_path=[mid.parent, fake_hip.parent]).repair(wheel, tmp_path / "out2")
    assert [g.soname for g in result.grafted] == ["libmid.so.1"]
    assert result.external == ("libamdhip64.so.6",)


# -- failures ------------------------------------------------------------------------------------------------


@needs_gcc
def test_too_new_glibc_symbols_become_a_one_line_error(tmp_path):
    ext = gcc_extension(tmp_path / "build" / "pkg", "_ext", "#include <stdlib.h>\n#include <stdio.h>\n"
                        "static char buf[32];\n", '(snprintf(buf, sizeof buf, "%u", arc4random()), buf)')
    wheel = make_wheel(tmp_path / "dist", {"pkg/__init__.py": b"", f"pkg/{ext.name}": ext})
    log_path = tmp_path / "repair.log"
    with open(log_path, "w") as log, pytest.raises(BuildError) as caught:
        AuditwheelRepairer(plat=f"manylinux_2_17_{ARCH}").repair(wheel, tmp_path / "out", log=log)
    message = str(caught.value)
    assert "\n" not in message and message.startswith(f"{wheel.name}: auditwheel repair failed: ")
    assert "too-recent versioned symbols" in message and str(tmp_path) not in message
    assert caught.value.log_path == str(log_path)
    text = log_path.read_text()
    assert "auditwheel" in text and "too-recent versioned symbols" in text and "GLIBC_2.36" in text
    assert list((tmp_path / "out").iterdir()) == []


@needs_gcc
def test_unlocatable_library_becomes_a_one_line_error(tmp_path):
    gone = gcc_library(tmp_path / "gone", "libgone.so.1", 'const char *gone(void) { return "x"; }\n')
    ext = gcc_extension(tmp_path / "build" / "pkg", "_ext", "const char *gone(void);", "gone()", links=(gone,))
    wheel = make_wheel(tmp_path / "dist", {"pkg/__init__.py": b"", f"pkg/{ext.name}": ext})
    shutil.rmtree(gone.parent)
    log = io.StringIO()
    with pytest.raises(BuildError) as caught:
        AuditwheelRepairer().repair(wheel, tmp_path / "out", log=log)
    assert str(caught.value) == (f'{wheel.name}: auditwheel repair failed: Cannot repair wheel, because required '
                                 'library "libgone.so.1" could not be located')
    assert "Traceback" in log.getvalue()


@needs_gcc
def test_the_cpu_variant_refuses_a_planted_wheel_that_links_a_gpu_runtime(tmp_path, fake_hip):
    from helpers import REPO

    from wheelwright.config.variants import load_variants, select_variant

    cpu = select_variant(load_variants(REPO / "variants.toml"), "cpu")
    wheel = _hip_wheel(tmp_path, fake_hip)
    repairer = AuditwheelRepairer.for_variant(cpu, library_path=[fake_hip.parent])
    with pytest.raises(BuildError, match=rf"^{wheel.name}: needs libamdhip64\.so\.6, which the cpu policy forbids"):
        repairer.repair(wheel, tmp_path / "out")
    rocm = select_variant(load_variants(REPO / "variants.toml"), "rocm")
    result = AuditwheelRepairer.for_variant(rocm, library_path=[fake_hip.parent]).repair(wheel, tmp_path / "rocm")
    assert result.grafted == () and "libamdhip64.so.6" in result.external  # rocm: needed, never copied in
