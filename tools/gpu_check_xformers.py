#!/usr/bin/env python3
"""Run our xformers wheel on a real GPU: memory_efficient_attention against plain PyTorch, and a kernel of our own
xformers/_C.so (the 2:4 sparsifier) against its definition.

Run on the GPU machine, whose python3 has torch 2.11.0+cu130:

    python3 tools/gpu_check_xformers.py --find-links build/gpu-proof/simple/xformers

xformers 0.0.35's attention dispatches to kernels torch ships (its setup.py no longer compiles its own FMHA when
torch has them), so the attention call proves the wheel works with this torch; `sparseNM_dense` runs code compiled
into our `_C.so`, so it proves our sm_90 kernels load and compute. Exit 0 only if both match.
"""

from __future__ import annotations

import argparse
import math
import subprocess
import sys
from pathlib import Path

from gpu_install import install_from_index, list_elf


def attention(torch, xops) -> bool:
    """One memory_efficient_attention call (B=2, M=1024, H=8, K=64, fp16) against softmax(QKᵀ/√K)V in fp32."""
    generator = torch.Generator(device="cuda").manual_seed(0)
    q, k, v = (torch.randn(2, 1024, 8, 64, device="cuda", dtype=torch.float16, generator=generator) for _ in range(3))
    out = xops.memory_efficient_attention(q, k, v)
    qf, kf, vf = (t.float().transpose(1, 2) for t in (q, k, v))  # B, H, M, K
    reference = (torch.softmax(qf @ kf.transpose(-1, -2) / math.sqrt(64), dim=-1) @ vf).transpose(1, 2)
    error = float((out.float() - reference).abs().max())
    ok = error < 2e-3
    try:
        from xformers.ops.fmha.dispatch import _dispatch_fw
        from xformers.ops.fmha.common import Inputs

        chosen = _dispatch_fw(Inputs(query=q, key=k, value=v), False).NAME
    except Exception as exc:  # the dispatcher is private: say so rather than fail the proof on it
        chosen = f"(dispatcher not readable: {exc.__class__.__name__})"
    print(f"memory_efficient_attention fp16 2x1024x8x64 via {chosen}: max|diff| vs PyTorch {error:.2e}  {'ok' if ok else 'MISMATCH'}")
    return ok


def sparsify(torch) -> bool:
    """torch.ops.xformers.sparseNM_dense(x, 'largest_abs', 2, 4), compiled into our _C.so: in every group of four
    along a row it keeps the two largest |x| and zeroes the rest."""
    x = torch.randn(256, 256, device="cuda", dtype=torch.bfloat16, generator=torch.Generator(device="cuda").manual_seed(1))
    out = torch.ops.xformers.sparseNM_dense(x, "largest_abs", 2, 4).cpu()
    groups, kept = x.cpu().reshape(256, 64, 4), out.reshape(256, 64, 4)
    mask = kept != 0
    two_each = bool((mask.sum(-1) == 2).all())
    same_values = bool((kept[mask] == groups[mask]).all())
    largest = bool((groups.abs().masked_fill(~mask, float("inf")).amin(-1) >= groups.abs().masked_fill(mask, -1.0).amax(-1)).all())
    ok = two_each and same_values and largest
    print(f"sparseNM_dense 2:4 largest_abs bf16 256x256: two kept per group {two_each}, values unchanged {same_values}, "
          f"the largest kept {largest}  {'ok' if ok else 'MISMATCH'}")
    return ok


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--find-links", type=Path, required=True, help="the directory of our index holding the xformers wheel")
    args = parser.parse_args()
    install_from_index(args.find_links, "xformers==0.0.35")
    import torch
    import xformers
    import xformers.ops as xops

    package = Path(xformers.__file__).parent
    print(f"torch {torch.__version__}; xformers {xformers.__version__} from {package}; device {torch.cuda.get_device_name()}; "
          f"_C.so loaded: {xformers._has_cpp_library}")
    subprocess.run([sys.executable, "-m", "xformers.info"], check=False)
    results = [attention(torch, xops), sparsify(torch)]
    list_elf(package / "_C.so")
    if not all(results):
        print("error: a result differs from its reference")
        return 1
    print("ok: our xformers wheel computes attention on the GPU, and its own sm_90 kernels run")
    return 0


if __name__ == "__main__":
    sys.exit(main())
