"""The payload inspector against NVIDIA's own cuobjdump, and on a real CUDA wheel from PyPI.

cuobjdump comes from PyPI's nvidia-cuda-cuobjdump wheel and the wheel under test is pinned by sha256;
both are cached under the shared cache, so only the first run needs the network.
"""

from __future__ import annotations

import time
import zipfile
from collections import Counter

import pytest

import payload_fixtures as pf
from wheelwright.stages.payload import inspect_archive, inspect_elf, inspect_wheel, render

pytestmark = pytest.mark.xdist_group("payload")

# nvJPEG for CUDA 12: 5 MB, one library carrying LZ4-compressed SASS for sm_50..sm_121 and PTX.
NVJPEG = ("nvidia-nvjpeg-cu12", "nvidia_nvjpeg_cu12-12.4.0.76-py3-none-manylinux2014_x86_64.manylinux_2_17_x86_64.whl",
          "3888f10b32fbd58e80166c48e01073732d752fa5f167b7cb5b9615f1c6375a20")
NVJPEG_SASS = {"sm_50", "sm_52", "sm_60", "sm_61", "sm_70", "sm_75", "sm_80", "sm_86", "sm_89", "sm_90", "sm_100",
               "sm_101", "sm_103", "sm_120", "sm_121"}


@pytest.fixture(scope="session")
def builds(tmp_path_factory) -> pf.Builds:
    return pf.Builds(tmp_path_factory.getbasetemp() / "payload-bins")


@pytest.fixture(scope="session")
def cuobjdump():
    return pf.cuobjdump()


def _images(module) -> Counter:
    """Every SASS and PTX entry, as cuobjdump --list-elf --list-ptx lists them (it leaves LTO-IR out, and
    reads __nv_relfatbin only in an object: a linked library's is not what it loads)."""
    return Counter((i.kind, i.arch) for i in module.cuda
                   if i.kind in ("sass", "ptx") and (not i.relocatable or not module.loadable))


@pytest.mark.parametrize("build", ["cuda_multi", "cuda_compressed", "cuda_lz4_rdc", "cuda_rdc_object",
                                   "cuda_rdc_linked", "cuda_ptx_loadable"])
def test_parser_agrees_with_cuobjdump(builds, cuobjdump, build):
    path = getattr(builds, build)()
    module = inspect_elf(path)
    assert module.error == ""
    expected = pf.cuobjdump_images(cuobjdump, path)
    assert expected, "cuobjdump listed nothing"
    assert _images(module) == expected  # same entries, duplicates included (nvcc's device-link stub too)


def test_static_library_members_agree_with_cuobjdump(builds, cuobjdump):
    """cuobjdump lists each member of a static library; so does inspect_archive, as lib.a(member.o)."""
    path = builds.cuda_static_library()
    listed = {name: images for name, images in pf.cuobjdump_members(cuobjdump, path).items() if images}
    ours = {m.name.removeprefix(f"{path.name}(").removesuffix(")"): _images(m) for m in inspect_archive(path) if m.cuda}
    assert ours == listed and len(ours) == 2


def test_real_cuda_wheel_from_pypi(cuobjdump, tmp_path):
    wheel_path = pf.pypi_file(*NVJPEG)
    started = time.perf_counter()
    wheel = inspect_wheel(wheel_path)
    elapsed = time.perf_counter() - started
    print(f"\ninspect_wheel({wheel_path.name}, {wheel_path.stat().st_size / 1e6:.1f} MB): {elapsed * 1000:.0f} ms")
    print(render(wheel))
    assert wheel.error == "" and wheel.kind == "cuda"
    (module,) = wheel.gpu_modules
    assert module.name == "nvidia/nvjpeg/lib/libnvjpeg.so.12"
    assert module.sass == NVJPEG_SASS and module.ptx == {"compute_121"}
    assert {i.compression for i in module.cuda} == {"", "lz4"}  # CUDA 12 libraries ship LZ4 (flag 0x2000)
    with zipfile.ZipFile(wheel_path) as archive:
        library = tmp_path / "libnvjpeg.so.12"
        library.write_bytes(archive.read(module.name))
    assert _images(module) == pf.cuobjdump_images(cuobjdump, library)
    assert inspect_elf(library, module.name) == module  # mmap of a file == bytes from the zip
    assert elapsed < 10, f"inspecting a 5 MB wheel took {elapsed:.1f}s"
