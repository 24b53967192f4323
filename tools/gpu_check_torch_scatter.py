#!/usr/bin/env python3
"""Run our torch-scatter wheel on a real GPU: install it from our index, compute on CUDA, compare with the CPU.

Run on the GPU machine, whose python3 has torch 2.11.0+cu130 (no network there, so `--no-index --no-deps`):

    python3 tools/gpu_check_torch_scatter.py --find-links build/gpu-proof/simple/torch-scatter

It proves what verify and cuobjdump can only read: the kernels load and run on the device, and give the CPU's
answer. Exit 0 only if every comparison holds and the CUDA path really ran (a CPU-only build would raise
"Not compiled with CUDA support" on CUDA tensors).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

from gpu_install import install_from_index, list_elf

KERNEL_MODULES = ("_scatter_cuda.so", "_segment_csr_cuda.so", "_segment_coo_cuda.so")


def compare(torch, torch_scatter) -> list[str]:
    """Every reduction of scatter, segment_csr and segment_coo: CUDA against the CPU, and scatter against torch's own
    scatter_reduce as a third opinion. Returns the failures."""
    failures = []
    generator = torch.Generator().manual_seed(0)
    src = torch.randn(100_000, 64, generator=generator)
    index = torch.randint(0, 1_000, (100_000,), generator=generator)
    for reduce in ("sum", "mean", "min", "max", "mul"):
        values = src if reduce != "mul" else src.clamp(0.9, 1.1)  # a product of 100 normals overflows
        cpu = torch_scatter.scatter(values, index, dim=0, reduce=reduce, dim_size=1_000)
        gpu = torch_scatter.scatter(values.cuda(), index.cuda(), dim=0, reduce=reduce, dim_size=1_000).cpu()
        amax = {"sum": "sum", "mean": "mean", "min": "amin", "max": "amax", "mul": "prod"}[reduce]
        reference = torch.zeros(1_000, 64).scatter_reduce(0, index[:, None].expand_as(values), values, amax, include_self=False)
        ok = torch.allclose(cpu, gpu, rtol=1e-4, atol=1e-4) and torch.allclose(gpu, reference, rtol=1e-4, atol=1e-4)
        print(f"scatter reduce={reduce:<4} cuda vs cpu max|diff| {float((cpu - gpu).abs().max()):.2e}  vs torch.scatter_reduce "
              f"{float((gpu - reference).abs().max()):.2e}  {'ok' if ok else 'MISMATCH'}")
        failures += [] if ok else [f"scatter {reduce}"]
    order = index.sort().values
    indptr = torch.cat([torch.zeros(1, dtype=torch.long), torch.bincount(order, minlength=1_000).cumsum(0)])  # CSR row starts
    for reduce in ("sum", "mean", "min", "max"):
        cpu = torch_scatter.segment_csr(src, indptr, reduce=reduce)
        gpu = torch_scatter.segment_csr(src.cuda(), indptr.cuda(), reduce=reduce).cpu()
        coo_cpu = torch_scatter.segment_coo(src, order, reduce=reduce, dim_size=1_000)
        coo_gpu = torch_scatter.segment_coo(src.cuda(), order.cuda(), reduce=reduce, dim_size=1_000).cpu()
        ok = torch.allclose(cpu, gpu, rtol=1e-4, atol=1e-4) and torch.allclose(coo_cpu, coo_gpu, rtol=1e-4, atol=1e-4)
        print(f"segment_csr/segment_coo reduce={reduce:<4} cuda vs cpu max|diff| {float((cpu - gpu).abs().max()):.2e} / "
              f"{float((coo_cpu - coo_gpu).abs().max()):.2e}  {'ok' if ok else 'MISMATCH'}")
        failures += [] if ok else [f"segment {reduce}"]
    return failures


def timing(torch, torch_scatter) -> None:
    """Median of 20 runs each, after warm-up: the GPU kernel against the CPU one on the same data."""
    src, index = torch.randn(1_000_000, 64), torch.randint(0, 10_000, (1_000_000,))
    results = {}
    for device in ("cpu", "cuda"):
        s, i = src.to(device), index.to(device)
        samples = []
        for attempt in range(23):
            start = time.perf_counter()
            torch_scatter.scatter(s, i, dim=0, reduce="sum", dim_size=10_000)
            if device == "cuda":
                torch.cuda.synchronize()
            if attempt >= 3:
                samples.append(time.perf_counter() - start)
        results[device] = statistics.median(samples)
    print(f"scatter sum 1M x 64 -> 10k rows: cpu {results['cpu'] * 1e3:.2f} ms, cuda {results['cuda'] * 1e3:.3f} ms "
          f"(median of 20; cuda {results['cpu'] / results['cuda']:.0f}x faster)")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--find-links", type=Path, required=True, help="the directory of our index holding the torch-scatter wheel")
    parser.add_argument("--no-install", action="store_true", help="use the torch-scatter already installed")
    args = parser.parse_args()
    if not args.no_install:
        install_from_index(args.find_links, "torch-scatter==2.1.2")
    import torch
    import torch_scatter

    print(f"torch {torch.__version__} (CUDA {torch.version.cuda}); torch_scatter {torch_scatter.__version__} from {torch_scatter.__file__}")
    if not torch.cuda.is_available():
        print("error: no CUDA device visible")
        return 2
    print(f"device: {torch.cuda.get_device_name()} (compute capability {'.'.join(map(str, torch.cuda.get_device_capability()))})")
    package = Path(torch_scatter.__file__).parent
    loaded = sorted(Path(p).name for p in torch.ops.loaded_libraries if Path(p).parent == package)
    print(f"loaded from the wheel: {', '.join(loaded)}")
    failures = compare(torch, torch_scatter)
    timing(torch, torch_scatter)
    for module in KERNEL_MODULES:
        list_elf(package / module)
    missing = [m for m in KERNEL_MODULES if m not in loaded]
    if failures or missing:
        print(f"error: {', '.join(failures + [f'{m} not loaded' for m in missing])}")
        return 1
    print("ok: torch-scatter's CUDA kernels from our wheel ran on the GPU and match the CPU")
    return 0


if __name__ == "__main__":
    sys.exit(main())
