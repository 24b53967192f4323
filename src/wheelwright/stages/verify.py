"""Refuse a GPU wheel that does not carry its kernels: every GPU-carrying module, and every module a
recipe declares, must hold code for every arch the variant lists (SASS per sm_*, PTX only where the
variant accepts forward compatibility; a code object per gfx* target). This is the check that would
have stopped the xFormers wheel that shipped without HIP kernels.

Only code a GPU can be handed counts: PTX or SASS that exists only in ``__nv_relfatbin`` (-rdc device code,
input to nvlink) never satisfies an arch, not even under ``ptx_forward_compatible``. And only loadable
modules are checked: a static library's members (``lib.a(member.o)``) and other relocatable objects are
reported by ``wheelwright inspect`` but not held to the arch list, nor matched by declared patterns, since
whatever links them is the module that must carry the kernels (and is checked where it is in the wheel)."""

from __future__ import annotations

import fnmatch
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from wheelwright.stages.payload import ModulePayload, inspect_wheel
from wheelwright.config.variants import PayloadKind, Variant

_KIND = {PayloadKind.CUDA: "CUDA", PayloadKind.HIP: "HIP"}


@dataclass(frozen=True)
class ModuleCheck:
    module: str
    present: tuple[str, ...]
    required: tuple[str, ...]
    missing: tuple[str, ...]

    @property
    def ok(self) -> bool:
        return not self.missing


@dataclass(frozen=True)
class Verdict:
    wheel: str
    variant: str
    checks: tuple[ModuleCheck, ...]

    @property
    def ok(self) -> bool:
        return all(c.ok for c in self.checks)

    def message(self, kind: PayloadKind | str) -> str:
        """One line a person understands: which wheel, which module, which archs are missing.
        ``kind``: the variant's payload kind (its variants.toml string is accepted too)."""
        label = next((text for k, text in _KIND.items() if kind in (k, k.value)), "GPU")
        parts = []
        for check in (c for c in self.checks if not c.ok):
            carries = f"carries code for {','.join(check.present)}" if check.present else f"carries no {label} code"
            parts.append(f"{check.module} {carries}; missing {','.join(check.missing)}")
        return (f"{self.wheel}: GPU kernels missing for variant {self.variant}: {'; '.join(parts)} "
                f"(the build succeeded but skipped kernel compilation; check the recipe's env for {self.variant})")

    def summary(self) -> tuple[str, ...]:
        return tuple(f"{c.module}: {','.join(c.present) or '-'}" for c in self.checks)


def required_archs(variant: Variant) -> tuple[str, ...]:
    return tuple(variant.archs) if variant.gpu_payload.requires_kernels else ()


def verify_wheel(wheel: Path, variant: Variant, declared: Mapping[str, Sequence[str]] | Sequence[str] = ()) -> Verdict:
    """Check ``wheel`` against ``variant``. ``declared``: module patterns that must carry code, each for
    every arch of the variant or (mapping) for a subset of it (flash-attn has no sm_75 kernels; "*" = any module)."""
    kind = variant.gpu_payload
    every = required_archs(variant)
    if not kind.requires_kernels or not every:
        return Verdict(wheel.name, variant.label, ())
    patterns: dict[str, Sequence[str]] = dict(declared) if isinstance(declared, Mapping) else {p: () for p in declared}
    modules = inspect_wheel(wheel).loadable_modules  # static-library members and .o files are not checked
    checks: list[ModuleCheck] = []
    for pattern, subset in patterns.items():
        if pattern != "*" and not any(fnmatch.fnmatch(m.name, pattern) for m in modules):
            required = _required(every, subset)
            checks.append(ModuleCheck(pattern, (), required, required))
    for module in modules:
        matching = [p for p in patterns if fnmatch.fnmatch(module.name, p)]
        if kind.value in module.kind.split("+") or matching:
            subset = next((patterns[p] for p in matching if p != "*"), ()) or next((patterns[p] for p in matching), ())
            required = _required(every, subset)
            present = _present(module, kind)
            missing = tuple(a for a in required if not _covered(a, module, kind, variant.ptx_forward_compatible))
            checks.append(ModuleCheck(module.name, present, required, missing))
    if "*" in patterns and not any(kind.value in m.kind.split("+") for m in modules):
        required = _required(every, patterns["*"])  # "every GPU module": a wheel with none is the article's bug, not a pass
        checks.append(ModuleCheck("* (any module)", (), required, required))
    return Verdict(wheel.name, variant.label, tuple(checks))


def _required(every: tuple[str, ...], subset: Sequence[str]) -> tuple[str, ...]:
    """The variant's archs, narrowed to a recipe's subset when it declares one. A subset may ask for an arch-specific
    form of a variant arch ("sm_90a" where the variant lists sm_90: FlashAttention-3's wgmma kernels are traps in plain
    sm_90 code), and then that form is what the module must carry."""
    if not subset:
        return every
    return tuple(a for a in subset if a in every or a.removeprefix("sm_").rstrip("af") in {e.removeprefix("sm_") for e in every})


def _present(module: ModulePayload, kind: PayloadKind) -> tuple[str, ...]:
    if kind is PayloadKind.CUDA:
        return tuple(sorted(module.sass | module.ptx))
    return tuple(sorted(module.hip_processors))


def _covered(arch: str, module: ModulePayload, kind: PayloadKind, ptx_ok: bool) -> bool:
    if kind is PayloadKind.HIP:
        return arch in module.hip_processors
    if arch in module.sass or f"{arch}a" in module.sass or f"{arch}f" in module.sass:
        return True
    if _same_major_older_sass(arch, module.sass):
        return True  # SASS runs on later minor versions of its major (sm_80 code on sm_86/sm_89)
    if not ptx_ok:
        return False  # PTX needs a JIT at load time; only variants that accept it may rely on it
    wanted = int(arch.removeprefix("sm_").rstrip("af") or 0)  # module.ptx is loadable PTX: never __nv_relfatbin's
    return any(int(p.removeprefix("compute_").rstrip("af") or 0) <= wanted for p in module.ptx)


def _same_major_older_sass(arch: str, sass: frozenset[str]) -> bool:
    wanted = arch.removeprefix("sm_")
    if not wanted.isdigit():
        return False
    for present in sass:
        have = present.removeprefix("sm_")
        if have.isdigit() and have[:-1] == wanted[:-1] and int(have[-1]) <= int(wanted[-1]):
            return True
    return False


def verify_index(simple: Path, variant: Variant, declared_for: Mapping[str, Mapping[str, Sequence[str]] | Sequence[str]]) -> list[Verdict]:
    """Re-check every wheel already in a variant's index (``nox -s verify-<variant>``)."""
    from packaging.utils import canonicalize_name, parse_wheel_filename

    verdicts = []
    for wheel in sorted(simple.glob("*/*.whl")):
        name = canonicalize_name(parse_wheel_filename(wheel.name)[0])
        verdicts.append(verify_wheel(wheel, variant, declared_for.get(name, ())))
    return verdicts


def render(verdicts: Sequence[Verdict]) -> str:
    rows = [("wheel", "module", "archs present", "archs required", "ok")]
    for verdict in verdicts:
        for check in verdict.checks:
            rows.append((verdict.wheel, check.module, ",".join(check.present) or "-", ",".join(check.required), "ok" if check.ok else "MISSING " + ",".join(check.missing)))
    widths = [max(len(r[i]) for r in rows) for i in range(5)]
    lines = ["  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip() for row in rows]
    checked = sum(1 for v in verdicts if v.checks)
    lines.append(f"{len(verdicts)} wheels, {checked} carry or must carry GPU code, {sum(1 for v in verdicts if not v.ok)} refused")
    return "\n".join(lines)
