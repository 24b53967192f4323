"""Real GPU binaries for the payload inspector's tests: built here with nvcc, hipcc, clang and gcc.

Each build is keyed by its command and source, so a session builds it once (``Builds`` over a session
tmp dir). Tools that are missing make the test that needs them skip, saying which package brings them.
Also: cuobjdump from PyPI (the reference the parser is checked against) and pinned PyPI files.
"""

from __future__ import annotations

import glob
import hashlib
import json
import os
import re
import shutil
import stat
import struct
import subprocess
import sys
import urllib.request
import zipfile
import zlib
from collections import Counter
from pathlib import Path

import pytest

from helpers import SHARED_CACHE

CUDA_SOURCE = """\
__global__ void add(float *a, const float *b, int n) {
  int i = blockIdx.x * blockDim.x + threadIdx.x;
  if (i < n) a[i] += b[i];
}
extern "C" void launch_add(float *a, const float *b, int n) { add<<<(n + 255) / 256, 256>>>(a, b, n); }
"""

HIP_SOURCE = """\
#include <hip/hip_runtime.h>
__global__ void KERNEL(float *a, const float *b, int n) {
  int i = blockIdx.x * blockDim.x + threadIdx.x;
  if (i < n) a[i] += b[i];
}
extern "C" void launch_KERNEL(float *a, const float *b, int n) {
  hipLaunchKernelGGL(KERNEL, dim3((n + 255) / 256), dim3(256), 0, 0, a, b, n);
}
"""

# For a bare clang (no ROCm headers, no device libraries): declares the one function the HIP
# front end insists on, so a kernel compiles and links into a .so with a real .hip_fatbin.
HIP_BARE_SOURCE = """\
struct dim3 { unsigned x, y, z; };
extern "C" int hipLaunchKernel(const void *, dim3, dim3, void **, unsigned long, void *);
__attribute__((global)) void KERNEL(float *a, const float *b, int n) {
  int i = __builtin_amdgcn_workitem_id_x();
  if (i < n) a[i] += b[i];
}
"""

# OpenCL C any AMDGPU target compiles without device libraries, r600-era ones included (their backend
# cannot select a global store, so the kernel does nothing).
AMDGPU_SOURCE = "__kernel void k(void) { }\n"

CPU_SOURCE = "int answer(void) { return 42; }\n"
MAIN_SOURCE = "int main(void) { return 0; }\n"

CUOBJDUMP_VERSION = "13.5.37"  # any CUDA 13 cuobjdump reads nvcc 13.0 output; 13.2 is PyPI's oldest


def clean_pip_env() -> dict[str, str]:
    """pip as a stranger runs it: no config file, no PIP_* settings of this machine."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PIP_")}
    env["PIP_CONFIG_FILE"] = os.devnull
    env["PIP_DISABLE_PIP_VERSION_CHECK"] = "1"
    return env


def bare_hip_clang() -> str | None:
    """A clang >= 18 that can compile HIP and compress bundles (Debian: clang-19 clang-tools-19 lld-19)."""
    for version in range(25, 17, -1):
        clang = shutil.which(f"clang++-{version}")
        if clang and Path(f"/usr/lib/llvm-{version}/bin/clang-offload-bundler").exists() and (
                shutil.which(f"ld.lld-{version}") or Path(f"/usr/lib/llvm-{version}/bin/ld.lld").exists()):
            return clang
    return None


def bare_clang() -> str | None:
    """The C/OpenCL driver beside bare_hip_clang's clang++ (clang-19 for clang++-19)."""
    clangxx = bare_hip_clang()
    clang = clangxx and shutil.which(Path(clangxx).name.replace("clang++", "clang"))
    return clang or None


class Builds:
    """Compiles test binaries into ``root``, once per distinct command and source."""

    def __init__(self, root: Path) -> None:
        self.root = root
        root.mkdir(parents=True, exist_ok=True)

    def _build(self, name: str, sources: dict[str, str], command: list[str], output: str,
               env: dict[str, str] | None = None) -> Path:
        key = hashlib.sha256(json.dumps([sources, command, output]).encode()).hexdigest()[:16]
        folder = self.root / f"{name}-{key}"
        result = folder / output
        if result.exists():
            return result
        work = self.root / f".{name}-{key}.tmp{os.getpid()}"
        shutil.rmtree(work, ignore_errors=True)
        work.mkdir()
        for filename, text in sources.items():
            (work / filename).write_text(text)
        run = subprocess.run(command, cwd=work, capture_output=True, text=True, timeout=600,
                             env={**os.environ, **(env or {})})
        if run.returncode != 0:
            raise RuntimeError(f"{' '.join(command)} failed:\n{run.stdout[-3000:]}{run.stderr[-3000:]}")
        try:
            work.rename(folder)
        except OSError:  # another worker built it first
            shutil.rmtree(work, ignore_errors=True)
        return result

    # CUDA -----------------------------------------------------------------------------------------

    def nvcc(self, name: str, *options: str, shared: bool = True) -> Path:
        if not shutil.which("nvcc"):
            pytest.skip("nvcc is not on PATH (CUDA toolkit)")
        output = f"{name}.so" if shared else f"{name}.o"
        mode = ["-shared", "-Xcompiler", "-fPIC"] if shared else ["-c", "-Xcompiler", "-fPIC"]
        return self._build(name, {"k.cu": CUDA_SOURCE}, ["nvcc", *mode, "--threads", "2", *options,
                                                          "-o", output, "k.cu"], output)

    def cuda_multi(self) -> Path:
        """SASS for sm_80, sm_90, sm_100 and PTX for compute_90; nvcc's defaults otherwise (static cudart)."""
        return self.nvcc("cuda_multi", "-gencode", "arch=compute_80,code=sm_80", "-gencode",
                         "arch=compute_90,code=sm_90", "-gencode", "arch=compute_100,code=sm_100",
                         "-gencode", "arch=compute_90,code=compute_90")

    def cuda_compressed(self) -> Path:
        """Every image zstd-compressed (-compress-all), arch- and family-specific targets, shared cudart."""
        return self.nvcc("cuda_compressed", "-cudart", "shared", "-Xfatbin", "-compress-all",
                         "-gencode", "arch=compute_80,code=sm_80", "-gencode", "arch=compute_90a,code=sm_90a",
                         "-gencode", "arch=compute_100f,code=compute_100f")

    def cuda_lz4_rdc(self) -> Path:
        """An -rdc object: __nv_relfatbin, LZ4 (-compress-mode=speed) SASS for sm_80 and LTO-IR for 90."""
        return self.nvcc("cuda_lz4_rdc", "-rdc=true", "-Xfatbin", "-compress-all", "-compress-mode=speed",
                         "-gencode", "arch=compute_80,code=sm_80", "-gencode", "arch=compute_90,code=lto_90",
                         shared=False)

    # SASS for sm_80 and PTX for compute_90: where the PTX ends up decides what sm_90 can run
    SM80_PTX90 = ("-gencode", "arch=compute_80,code=sm_80", "-gencode", "arch=compute_90,code=compute_90")

    def cuda_ptx_loadable(self) -> Path:
        """Whole-program (no -rdc) .so: sm_80 SASS and compute_90 PTX, both in .nv_fatbin."""
        return self.nvcc("cuda_ptx_loadable", *self.SM80_PTX90)

    def cuda_rdc_object(self) -> Path:
        """An -rdc object: sm_80 SASS and compute_90 PTX, both in __nv_relfatbin only."""
        return self.nvcc("cuda_rdc_object", "-rdc=true", *self.SM80_PTX90, shared=False)

    def cuda_rdc_linked(self) -> Path:
        """A .so linked from an -rdc object: nvcc device-links it into a .nv_fatbin holding sm_80 SASS only
        (nvlink links SASS; the PTX is not carried over), and the object's __nv_relfatbin (sm_80 SASS,
        compute_90 PTX) stays in the library beside it."""
        if not shutil.which("nvcc"):
            pytest.skip("nvcc is not on PATH (CUDA toolkit)")
        gencode = " ".join(self.SM80_PTX90)
        script = (f"set -e\nnvcc -rdc=true -c -Xcompiler -fPIC --threads 2 {gencode} -o k.o k.cu\n"
                  f"nvcc -shared {gencode} -o rdc_linked.so k.o\n")  # the same archs, as CMake passes them
        return self._build("cuda_rdc_linked", {"k.cu": CUDA_SOURCE}, ["sh", "-c", script], "rdc_linked.so")

    def cuda_static_library(self) -> Path:
        """``ar rcs libkernels.a`` (GNU format: symbol table, long-name table) of an -rdc object whose name is
        past ar's 15 characters, a whole-program object (its .nv_fatbin) and a CPU object."""
        for tool, package in (("nvcc", "CUDA toolkit"), ("ar", "binutils"), ("gcc", "gcc")):
            if not shutil.which(tool):
                pytest.skip(f"{tool} is not on PATH ({package})")
        gencode = " ".join(self.SM80_PTX90)
        script = (f"set -e\nnvcc -rdc=true -c -Xcompiler -fPIC --threads 2 {gencode} -o relocatable_kernels.o k.cu\n"
                  "nvcc -c -Xcompiler -fPIC -gencode arch=compute_90,code=sm_90 -o whole.o k.cu\n"
                  "gcc -c -fPIC -o cpu.o cpu.c\nar rcs libkernels.a relocatable_kernels.o whole.o cpu.o\n")
        return self._build("cuda_static", {"k.cu": CUDA_SOURCE, "cpu.c": CPU_SOURCE}, ["sh", "-c", script],
                           "libkernels.a")

    def hip_static_library(self, target: str = "gfx1103") -> Path:
        """``ar rcs libhipkern.a`` of one HIP object (clang -x hip -c: a .hip_fatbin bundle for ``target``)."""
        clang = bare_hip_clang()
        if clang is None or not shutil.which("ar"):
            pytest.skip("no clang >= 18 with clang-offload-bundler, or no ar (Debian: clang-19 clang-tools-19 lld-19 binutils)")
        source = HIP_BARE_SOURCE.replace("KERNEL", "kernel0")
        script = (f"set -e\n{clang} -x hip -nogpulib -nogpuinc --offload-arch={target} -fPIC -c -o hipkern.o k.hip\n"
                  "ar rcs libhipkern.a hipkern.o\n")
        return self._build(f"hip_static_{target}", {"k.hip": source}, ["sh", "-c", script], "libhipkern.a")

    def amdgpu_code_object(self, target: str, linked: bool = True) -> Path:
        """A standalone AMDGPU code object for ``target`` from bare clang: linked by ld.lld into an ET_DYN
        ``.hsaco`` (what hipModuleLoad takes, what wheels ship), or ``-c`` for an ET_REL object. r600-era
        targets take the r600 triple, generic ones code object v6. RuntimeError if clang rejects ``target``."""
        clang = bare_clang()
        if clang is None:
            pytest.skip("no clang >= 18 with ld.lld (Debian: clang-19 clang-tools-19 lld-19)")
        triple = "amdgcn-amd-amdhsa" if target.startswith("gfx") else "r600"
        extra = ["-mcode-object-version=6"] if "generic" in target else []
        output = f"k-{target}.hsaco" if linked else f"k-{target}.o"
        command = [clang, "-target", triple, f"-mcpu={target}", "-nogpulib", *extra, *([] if linked else ["-c"]),
                   "-x", "cl", "-o", output, "k.cl"]
        return self._build(f"amdgpu_{target}", {"k.cl": AMDGPU_SOURCE}, command, output)

    def cubin(self) -> Path:
        if not shutil.which("nvcc"):
            pytest.skip("nvcc is not on PATH (CUDA toolkit)")
        return self._build("cubin", {"k.cu": CUDA_SOURCE}, ["nvcc", "-cubin", "-arch=sm_90", "-o", "k.cubin",
                                                            "k.cu"], "k.cubin")

    # HIP ------------------------------------------------------------------------------------------

    def hipcc(self, name: str, targets: list[str], units: int = 1) -> Path:
        """A .so from Debian's hipcc (ROCm 5.2, clang 15: gfx942 is too new for it)."""
        if not shutil.which("hipcc"):
            pytest.skip("hipcc is not installed (Debian: apt-get install hipcc)")
        sources = {f"k{i}.hip": HIP_SOURCE.replace("KERNEL", f"kernel{i}") for i in range(units)}
        command = ["hipcc", *(f"--offload-arch={t}" for t in targets), "-shared", "-fPIC", "-o", f"{name}.so",
                   *sources]
        return self._build(name, sources, command, f"{name}.so", env={"HIP_PLATFORM": "amd"})

    def clang_hip(self, name: str, targets: list[str], units: int = 1, compress: bool = False) -> Path:
        clang = bare_hip_clang()
        if clang is None:
            pytest.skip("no clang >= 18 with clang-offload-bundler (Debian: clang-19 clang-tools-19 lld-19)")
        sources = {f"k{i}.hip": HIP_BARE_SOURCE.replace("KERNEL", f"kernel{i}") for i in range(units)}
        command = [clang, "-x", "hip", "-nogpulib", "-nogpuinc", *(f"--offload-arch={t}" for t in targets),
                   *(["--offload-compress"] if compress else []), "-shared", "-fPIC", "-o", f"{name}.so", *sources]
        return self._build(name, sources, command, f"{name}.so")

    # CPU ------------------------------------------------------------------------------------------

    def gcc_shared(self, name: str = "cpu", links: tuple[str, ...] = ()) -> Path:
        """A plain C library; ``links`` are sonames it needs (stub libraries are made for them)."""
        if not shutil.which("gcc"):
            pytest.skip("gcc is not installed")
        sources = {"cpu.c": CPU_SOURCE}
        script = ["set -e"]
        for index, soname in enumerate(links):
            script.append(f"gcc -shared -fPIC -Wl,-soname,{soname} -o stub{index}.so cpu.c")
        libs = " ".join(f"stub{i}.so" for i in range(len(links)))
        script.append(f"gcc -shared -fPIC -o {name}.so cpu.c -Wl,--no-as-needed {libs}")
        return self._build(name, sources, ["sh", "-c", "\n".join(script)], f"{name}.so")

    def gcc_executable(self) -> Path:
        if not shutil.which("gcc"):
            pytest.skip("gcc is not installed")
        return self._build("tool", {"main.c": MAIN_SOURCE}, ["gcc", "-o", "tool", "main.c"], "tool")

    def with_section(self, name: str, base: Path, section: str, content: bytes) -> Path:
        """``base`` with one more section holding ``content`` (objcopy --add-section)."""
        if not shutil.which("objcopy"):
            pytest.skip("objcopy is not installed (binutils)")
        blob = hashlib.sha256(content).hexdigest()[:16]
        folder = self.root / f"{name}-{blob}-{base.stat().st_size}"
        result = folder / f"{name}.so"
        if not result.exists():
            folder.mkdir(parents=True, exist_ok=True)
            (folder / "section.bin").write_bytes(content)
            subprocess.run(["objcopy", "--add-section", f"{section}={folder / 'section.bin'}", str(base),
                            str(result)], check=True, capture_output=True)
        return result


# --- offload bundles by hand ----------------------------------------------------------------------


def section_bytes(path: Path, name: str) -> bytes:
    from elftools.elf.elffile import ELFFile

    with open(path, "rb") as handle:
        return ELFFile(handle).get_section_by_name(name).data()


def first_bundle(section: bytes) -> bytes:
    """The first plain bundle of a .hip_fatbin section, cut to its real length."""
    (count,) = struct.unpack_from("<Q", section, 24)
    at, end = 32, 32
    for _ in range(count):
        offset, size, id_length = struct.unpack_from("<QQQ", section, at)
        at += 24 + id_length
        end = max(end, at, offset + size)
    return section[:end]


def bundle_entries(bundle: bytes) -> list[tuple[str, bytes]]:
    (count,) = struct.unpack_from("<Q", bundle, 24)
    at, entries = 32, []
    for _ in range(count):
        offset, size, id_length = struct.unpack_from("<QQQ", bundle, at)
        entries.append((bundle[at + 24:at + 24 + id_length].decode(), bundle[offset:offset + size]))
        at += 24 + id_length
    return entries


def ccob(bundle: bytes, version: int = 2, method: int = 0, hash_value: int | None = None) -> bytes:
    """A compressed offload bundle in clang's CCOB layout (clang-offload-bundler -compress).

    Built by hand because Debian's hipcc (clang 15) predates compression, and the clang 19 that has it
    always picks zstd: this covers zlib and the v1/v3 headers on a real bundle.
    """
    if method == 0:
        payload = zlib.compress(bundle, 9)
    else:
        import zstandard

        payload = zstandard.ZstdCompressor().compress(bundle)
    digest = int.from_bytes(hashlib.md5(bundle).digest()[:8], "little") if hash_value is None else hash_value
    if version == 1:
        header = struct.pack("<4sHHIQ", b"CCOB", 1, method, len(bundle), digest)
    elif version == 2:
        header = struct.pack("<4sHHIIQ", b"CCOB", 2, method, 24 + len(payload), len(bundle), digest)
    else:
        header = struct.pack("<4sHHQQQ", b"CCOB", 3, method, 32 + len(payload), len(bundle), digest)
    return header + payload


def pad(blob: bytes, alignment: int = 4096) -> bytes:
    return blob + b"\0" * (-len(blob) % alignment)


def bsd_archive(members: list[tuple[str, bytes]]) -> bytes:
    """A BSD-format ar archive (what macOS and llvm-ar --format=bsd write), made by hand since GNU ar
    writes only its own: every name as ``#1/N`` followed by the name, padded, and a ``__.SYMDEF SORTED``
    symbol table first."""

    def member(name: str, data: bytes) -> bytes:
        encoded = name.encode() + b"\0" * (-len(name) % 8)
        body = encoded + data
        header = f"#1/{len(encoded):<13}{0:<12}{0:<6}{0:<6}{644:<8}{len(body):<10}`\n".encode()
        assert len(header) == 60
        return header + body + b"\n" * (len(body) & 1)

    return b"!<arch>\n" + member("__.SYMDEF SORTED", b"\0" * 8) + b"".join(member(n, d) for n, d in members)


def make_wheel(path: Path, members: dict[str, bytes | Path]) -> Path:
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, content in members.items():
            archive.writestr(name, content.read_bytes() if isinstance(content, Path) else content)
    return path


# --- reference tool and downloads -----------------------------------------------------------------


def cuobjdump() -> Path:
    """NVIDIA's cuobjdump from its PyPI wheel, unpacked once into the shared cache (needs the network)."""
    home = SHARED_CACHE / "tools" / f"cuobjdump-{CUOBJDUMP_VERSION}"
    tool = home / "cuobjdump"
    if tool.exists():
        return tool
    download = home.with_name(home.name + ".download")
    shutil.rmtree(download, ignore_errors=True)
    subprocess.run([sys.executable, "-m", "pip", "download", "--no-deps", "--no-cache-dir", "--isolated",
                    "--only-binary", ":all:", "-d", str(download), f"nvidia-cuda-cuobjdump=={CUOBJDUMP_VERSION}"],
                   check=True, capture_output=True, env=clean_pip_env(), timeout=600)
    (wheel,) = glob.glob(str(download / "*.whl"))
    with zipfile.ZipFile(wheel) as archive:
        (member,) = [n for n in archive.namelist() if n.endswith("/bin/cuobjdump")]
        home.mkdir(parents=True, exist_ok=True)
        staged = home / "cuobjdump.part"
        staged.write_bytes(archive.read(member))
    staged.chmod(staged.stat().st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)
    staged.rename(tool)
    shutil.rmtree(download, ignore_errors=True)
    return tool


def cuobjdump_images(tool: Path, path: Path) -> Counter[tuple[str, str]]:
    """cuobjdump --list-elf --list-ptx as (kind, arch) pairs in the inspector's naming (PTX sm_90 -> compute_90)."""
    run = subprocess.run([str(tool), "--list-elf", "--list-ptx", str(path)], capture_output=True, text=True,
                         timeout=300)
    images: Counter[tuple[str, str]] = Counter()
    for line in run.stdout.splitlines():
        if match := re.match(r"ELF file\s+\d+: .*\.(sm_\w+)\.cubin$", line):
            images["sass", match.group(1)] += 1
        elif match := re.match(r"PTX file\s+\d+: .*\.sm_(\w+)\.ptx$", line):
            images["ptx", f"compute_{match.group(1)}"] += 1
    assert images or run.returncode == 0, run.stderr
    return images


def cuobjdump_members(tool: Path, archive: Path) -> dict[str, Counter[tuple[str, str]]]:
    """cuobjdump --list-elf --list-ptx of a static library, per member: {member name: (kind, arch) counts}."""
    run = subprocess.run([str(tool), "--list-elf", "--list-ptx", str(archive)], capture_output=True, text=True,
                         timeout=300)
    members: dict[str, Counter[tuple[str, str]]] = {}
    current: Counter[tuple[str, str]] = Counter()
    for line in run.stdout.splitlines():
        if match := re.match(r"member .*:([^:]+):$", line):
            current = members.setdefault(match.group(1), Counter())
        elif match := re.match(r"ELF file\s+\d+: .*\.(sm_\w+)\.cubin$", line):
            current["sass", match.group(1)] += 1
        elif match := re.match(r"PTX file\s+\d+: .*\.sm_(\w+)\.ptx$", line):
            current["ptx", f"compute_{match.group(1)}"] += 1
    assert members, run.stdout + run.stderr
    return members


def pypi_file(project: str, filename: str, sha256: str) -> Path:
    """One file of a PyPI project, found through the simple JSON API, checked, cached in the shared cache."""
    target = SHARED_CACHE / "fixtures" / filename
    if target.exists() and hashlib.sha256(target.read_bytes()).hexdigest() == sha256:
        return target
    request = urllib.request.Request(f"https://pypi.org/simple/{project}/",
                                     headers={"Accept": "application/vnd.pypi.simple.v1+json"})
    with urllib.request.urlopen(request, timeout=120) as response:
        files = json.load(response)["files"]
    (entry,) = [f for f in files if f["filename"] == filename]
    assert entry["hashes"]["sha256"] == sha256, f"PyPI lists another sha256 for {filename}"
    with urllib.request.urlopen(entry["url"], timeout=600) as response:
        content = response.read()
    assert hashlib.sha256(content).hexdigest() == sha256, f"{filename}: sha256 mismatch"
    target.parent.mkdir(parents=True, exist_ok=True)
    staged = target.with_name(target.name + f".part{os.getpid()}")
    staged.write_bytes(content)
    staged.replace(target)
    return target
