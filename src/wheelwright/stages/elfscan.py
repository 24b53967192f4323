"""One ELF file's device code and accelerator runtimes: which sections hold kernels, what it links, what it means.

Split out of payload.py: this walks an ELF file's sections and dynamic tags (with pyelftools) and hands the
device-code sections to offload.py to decode; payload.py adds the wheel-level API on top.
"""

from __future__ import annotations

import fnmatch
import io
import mmap
import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import IO, Any, cast

from elftools.elf.dynamic import DynamicSection, DynamicSegment, DynamicTag
from elftools.elf.elffile import ELFFile

from wheelwright.stages.offload import (
    BUNDLE_SECTION,
    FATBIN_SECTIONS,
    RELOCATABLE_FATBIN_SECTION,
    CudaImage,
    HipBundle,
    HipCodeObject,
    _parse_bundles,
    _parse_fatbins,
)

ELF_MAGIC = b"\x7fELF"

EM_CUDA, EM_AMDGPU = 190, 224
# Every EF_AMDGPU_MACH_* value of LLVM's llvm/include/llvm/BinaryFormat/ELF.h (main, 2025: the list its
# test/CodeGen/AMDGPU/elf-header-flags-mach.ll checks), named as clang's -mcpu spells the processor. 0x40 and
# 0x4B are gfx940/gfx941 of LLVM 17-19 (reserved since LLVM 20 dropped them); 0x27, 0x4D, 0x56 are reserved.
# Those clang 19 compiles were checked against its output (gfx950, gfx1153, gfx1250 and newer are too new for it).
AMDGPU_MACH = MappingProxyType({
    0x01: "r600", 0x02: "r630", 0x03: "rs880", 0x04: "rv670", 0x05: "rv710", 0x06: "rv730", 0x07: "rv770",
    0x08: "cedar", 0x09: "cypress", 0x0A: "juniper", 0x0B: "redwood", 0x0C: "sumo", 0x0D: "barts",
    0x0E: "caicos", 0x0F: "cayman", 0x10: "turks",
    0x20: "gfx600", 0x21: "gfx601", 0x22: "gfx700", 0x23: "gfx701", 0x24: "gfx702", 0x25: "gfx703",
    0x26: "gfx704", 0x28: "gfx801", 0x29: "gfx802", 0x2A: "gfx803", 0x2B: "gfx810", 0x2C: "gfx900",
    0x2D: "gfx902", 0x2E: "gfx904", 0x2F: "gfx906", 0x30: "gfx908", 0x31: "gfx909", 0x32: "gfx90c",
    0x33: "gfx1010", 0x34: "gfx1011", 0x35: "gfx1012", 0x36: "gfx1030", 0x37: "gfx1031", 0x38: "gfx1032",
    0x39: "gfx1033", 0x3A: "gfx602", 0x3B: "gfx705", 0x3C: "gfx805", 0x3D: "gfx1035", 0x3E: "gfx1034",
    0x3F: "gfx90a", 0x40: "gfx940", 0x41: "gfx1100", 0x42: "gfx1013", 0x43: "gfx1150", 0x44: "gfx1103",
    0x45: "gfx1036", 0x46: "gfx1101", 0x47: "gfx1102", 0x48: "gfx1200", 0x49: "gfx1250", 0x4A: "gfx1151",
    0x4B: "gfx941", 0x4C: "gfx942", 0x4E: "gfx1201", 0x4F: "gfx950", 0x50: "gfx1310", 0x51: "gfx9-generic",
    0x52: "gfx10-1-generic", 0x53: "gfx10-3-generic", 0x54: "gfx11-generic", 0x55: "gfx1152", 0x57: "gfx1154",
    0x58: "gfx1153", 0x59: "gfx12-generic", 0x5A: "gfx1251", 0x5B: "gfx12-5-generic", 0x5C: "gfx1172",
    0x5D: "gfx1170", 0x5E: "gfx1171", 0x5F: "gfx9-4-generic", 0x62: "gfx11-7-generic", 0x63: "gfx13-generic",
})
_AMDGPU_FEATURES = (("sramecc", 0xC00, {0x800: "-", 0xC00: "+"}), ("xnack", 0x300, {0x200: "-", 0x300: "+"}))

# Which runtime a module links says which accelerator it expects, even where it carries no kernels of
# its own (vendor stacks ship theirs as separate recipes). A table, so a new vendor is one line.
RUNTIME_LIBRARIES: Mapping[str, tuple[str, ...]] = MappingProxyType({
    "cuda": ("libcudart.so*", "libcuda.so*"),
    "hip": ("libamdhip64.so*", "libhsa-runtime64.so*"),
    "gaudi": ("libsynapse.so*", "libhl_*"),
    "tpu": ("libtpu.so*",),
    "spyre": ("libsenlib*", "libflex*"),
})


@dataclass(frozen=True)
class RuntimeLink:
    """A DT_NEEDED entry that names an accelerator runtime."""

    family: str  # a key of RUNTIME_LIBRARIES
    soname: str


@dataclass(frozen=True)
class ModulePayload:
    """What one ELF file carries. ``error`` is set (and the rest is empty) when it could not be read.

    ``loadable`` is False for a relocatable object (ET_REL: a ``.o``, or a member of a static library,
    named ``lib.a(member.o)``): its code reaches a GPU only once linked into another module, so it is
    reported but no check holds it to an arch list. ``sass``, ``ptx`` and ``lto`` are the images a runtime
    can load (``.nv_fatbin``); ``relocatable`` is the -rdc code of ``__nv_relfatbin``, kept apart.
    """

    name: str
    cuda: tuple[CudaImage, ...] = ()
    hip: tuple[HipBundle, ...] = ()
    needed: tuple[str, ...] = ()
    runtimes: tuple[RuntimeLink, ...] = ()
    notes: tuple[str, ...] = ()
    error: str = ""
    loadable: bool = True

    @property
    def kind(self) -> str:
        """cuda, hip, cuda+hip or none: which device code the file itself carries."""
        kinds = [k for k, present in (("cuda", self.cuda), ("hip", self.hip)) if present]
        return "+".join(kinds) or "none"

    @property
    def sass(self) -> frozenset[str]:
        return frozenset(i.arch for i in self.cuda if i.kind == "sass" and not i.relocatable)

    @property
    def ptx(self) -> frozenset[str]:
        return frozenset(i.arch for i in self.cuda if i.kind == "ptx" and not i.relocatable)

    @property
    def lto(self) -> frozenset[str]:
        return frozenset(i.arch for i in self.cuda if i.kind == "lto" and not i.relocatable)

    @property
    def relocatable(self) -> frozenset[str]:
        """Labels (sm_80, compute_90, lto_90) of the -rdc images in ``__nv_relfatbin``: for nvlink, never loaded."""
        return frozenset(i.arch for i in self.cuda if i.relocatable)

    @property
    def hip_targets(self) -> frozenset[str]:
        return frozenset(o.target for b in self.hip for o in b.code_objects)

    @property
    def hip_processors(self) -> frozenset[str]:
        """Targets without their feature settings (gfx942:xnack- -> gfx942), as variants.toml lists archs."""
        return frozenset(t.split(":", 1)[0] for t in self.hip_targets)

    @property
    def unreadable_bundles(self) -> int:
        """HIP bundles whose targets are unknown: a check must not mistake them for missing ones."""
        return sum(1 for b in self.hip if b.error)

    @property
    def archs(self) -> tuple[str, ...]:
        """Every loadable arch label, SASS then PTX then LTO then HIP, each in natural order (not ``relocatable``)."""
        return (*_sorted(self.sass), *_sorted(self.ptx), *_sorted(self.lto), *_sorted(self.hip_targets))

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name, "kind": self.kind, "archs": list(self.archs), "error": self.error,
            "loadable": self.loadable, "relocatable": _sorted(self.relocatable),
            "cuda": [vars(i) for i in self.cuda],
            "hip": [{**vars(b), "code_objects": [vars(o) for o in b.code_objects]} for b in self.hip],
            "needed": list(self.needed), "runtimes": [vars(r) for r in self.runtimes], "notes": list(self.notes),
        }


# --- one ELF file ---------------------------------------------------------------------------------


def _inspect_elf(buf: bytes | mmap.mmap, name: str, runtimes: Mapping[str, Iterable[str]]) -> ModulePayload:
    elf = ELFFile(cast("IO[bytes]", buf) if isinstance(buf, mmap.mmap) else io.BytesIO(buf))  # an mmap reads and seeks like a file
    device_code = elf.little_endian  # fatbins and bundles are little-endian; s390x modules carry none
    images: list[CudaImage] = []
    bundles: list[HipBundle] = []
    notes: list[str] = []
    needed: list[str] = []
    machine = elf.header["e_machine"]
    if machine in ("EM_CUDA", EM_CUDA):
        images.append(_standalone_cubin(elf, len(buf)))
    elif machine in ("EM_AMDGPU", EM_AMDGPU):
        target = _amdgpu_target(elf.header["e_flags"], elf.header["e_ident"]["EI_ABIVERSION"])
        bundles.append(HipBundle(0, (HipCodeObject(target, "code-object", len(buf)),)))
        notes.append("standalone AMDGPU code object")
    dynamic_seen = False
    for section in elf.iter_sections():
        kind = section["sh_type"]
        if isinstance(section, DynamicSection) and not dynamic_seen:
            dynamic_seen = True
            needed = [tag_string(tag, "needed") for tag in section.iter_tags("DT_NEEDED")]
            continue
        if not device_code or kind == "SHT_NOBITS" or section.name not in (*FATBIN_SECTIONS, BUNDLE_SECTION):
            continue
        start, size = section["sh_offset"], section["sh_size"]
        if start + size > len(buf):
            notes.append(f"{section.name} runs past the end of the file (truncated?)")
            size = max(0, len(buf) - start)
        if section.name == BUNDLE_SECTION:
            found, why = _parse_bundles(buf, start, start + size)
            bundles += found
        else:
            cubins, why = _parse_fatbins(buf, start, start + size, section.name)
            images += cubins
        notes += why
    if not dynamic_seen and elf.num_sections() == 0:
        for segment in elf.iter_segments():
            if isinstance(segment, DynamicSegment):
                needed = [tag_string(tag, "needed") for tag in segment.iter_tags("DT_NEEDED")]
                break
    links = tuple(_runtime_links(needed, runtimes))
    device = machine in ("EM_CUDA", EM_CUDA, "EM_AMDGPU", EM_AMDGPU)
    linked = elf.header["e_type"] in ("ET_DYN", "ET_EXEC") and not device
    loadable = elf.header["e_type"] != "ET_REL"
    notes += _cuda_notes(images, links if linked else None) + _bundle_notes(bundles)
    if not images and not bundles:
        notes += [f"links {link.soname} but carries no {_DEVICE_CODE[link.family]}"
                  for link in links if link.family in _DEVICE_CODE]
    elif not loadable:
        notes.append("relocatable object: its device code runs only once linked into a library")
    return ModulePayload(name, cuda=tuple(images), hip=tuple(bundles), needed=tuple(needed), runtimes=links,
                         notes=_dedupe(notes), loadable=loadable)


_DEVICE_CODE = {"cuda": "CUDA kernels", "hip": "HIP code objects"}


def tag_string(tag: DynamicTag, field: str) -> str:
    """The string pyelftools resolves for a DT_NEEDED, DT_SONAME, DT_RPATH or DT_RUNPATH tag (``field``:
    "needed", "soname", "rpath", "runpath"); it sets that attribute at run time, so no type declares it."""
    value: str = getattr(tag, field)
    return value


def _runtime_links(needed: Iterable[str], table: Mapping[str, Iterable[str]]) -> Iterator[RuntimeLink]:
    for soname in needed:
        for family, patterns in table.items():
            if any(fnmatch.fnmatchcase(soname, pattern) for pattern in patterns):
                yield RuntimeLink(family, soname)
                break


def _standalone_cubin(elf: ELFFile, size: int) -> CudaImage:
    """A bare .cubin: the arch is in e_flags (low byte before CUDA ELF ABI 8, the next byte from 8 on)."""
    flags = elf.header["e_flags"]
    abi = elf.header["e_ident"]["EI_ABIVERSION"]
    arch = (flags >> 8) & 0xFF if isinstance(abi, int) and abi >= 8 else flags & 0xFF
    return CudaImage("sass", f"sm_{arch}", size, section="<file>", flags=flags)


def _amdgpu_target(flags: int, abi: Any = 2) -> str:
    """Target id of a bare AMDGPU code object; feature bits are read for code object v4+ (ABI 2+) only."""
    mach = flags & 0xFF
    target = AMDGPU_MACH.get(mach, f"gfx?(mach {mach:#x})")
    for feature, mask, values in _AMDGPU_FEATURES if isinstance(abi, int) and abi >= 2 else ():
        if sign := values.get(flags & mask):
            target += f":{feature}{sign}"
    return target


# --- notes ---------------------------------------------------------------------------------------


def _cuda_notes(images: list[CudaImage], links: tuple[RuntimeLink, ...] | None) -> list[str]:
    if not images:
        return []
    notes = []
    if compressed := [i for i in images if i.compressed]:
        codecs = "/".join(sorted({i.compression for i in compressed}))
        notes.append(f"{len(compressed)} of {len(images)} CUDA images compressed ({codecs})")
    loadable = [i for i in images if not i.relocatable]
    if loadable and not any(i.kind == "sass" for i in loadable):
        notes.append("no SASS: PTX/LTO only, compiled by the driver at load time")
    if only := _sorted({i.arch for i in images if i.relocatable} - {i.arch for i in loadable}):
        notes.append(f"{RELOCATABLE_FATBIN_SECTION} only (relocatable device code for nvlink, never loaded by "
                     f"the CUDA runtime): {' '.join(only)}")
    if unknown := sorted({i.kind for i in images} - {"sass", "ptx", "lto"}):
        notes.append(f"unknown fatbin entry kinds: {', '.join(unknown)}")
    if debug := sum(i.debug for i in images):
        notes.append(f"{debug} debug (-G) images")
    if links is not None and not any(link.family == "cuda" for link in links):
        notes.append("no CUDA runtime in DT_NEEDED (cudart linked statically)")
    return notes


def _bundle_notes(bundles: list[HipBundle]) -> list[str]:
    notes = [b.error for b in bundles if b.error]
    if compressed := [b for b in bundles if b.compressed and not b.error]:
        codecs = "/".join(sorted({b.compression for b in compressed}))
        notes.append(f"{len(compressed)} of {len(bundles)} offload bundles compressed ({codecs})")
    for bundle in bundles:
        notes += [f"empty code object for {o.target}" for o in bundle.code_objects if o.size == 0]
        if not bundle.error and not bundle.code_objects:
            notes.append("offload bundle with no device code objects")
    return notes


def _dedupe(notes: list[str]) -> tuple[str, ...]:
    """Each note once, in first-seen order, with a count where it repeats (one per bundle adds up)."""
    counts: dict[str, int] = {}
    for note in notes:
        counts[note] = counts.get(note, 0) + 1
    return tuple(note if count == 1 else f"{note} (x{count})" for note, count in counts.items())


def _sorted(labels: Iterable[str]) -> list[str]:
    """Natural order (sm_90 before sm_100), SASS then PTX then LTO labels where they are mixed."""
    rank = {"sm": 0, "compute": 1, "lto": 2}
    return sorted(labels, key=lambda s: (rank.get(s.split("_", 1)[0], 3),
                                         [int(t) if t.isdigit() else t for t in re.split(r"(\d+)", s)]))
