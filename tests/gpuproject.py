"""A small GPU project, made in the test: an sdist whose in-tree backend compiles a real kernel with
nvcc or hipcc when the build environment asks for it, and otherwise, like the xFormers build in the
article, quietly builds a CPU-only module and "succeeds"."""

from __future__ import annotations

from fakepypi import sdist_bytes

BACKEND = r'''
import base64, hashlib, os, pathlib, subprocess, zipfile

NAME, VERSION = "gpukern", "1.0"


def get_requires_for_build_wheel(config_settings=None):
    return []


def build_wheel(wheel_directory, config_settings=None, metadata_directory=None):
    backend = os.environ.get("GPUKERN_BACKEND", "")
    archs = [a for a in os.environ.get("GPUKERN_ARCHS", "").split(";") if a]
    out = pathlib.Path("build") / "gpukern" / "_kernels.so"
    out.parent.mkdir(parents=True, exist_ok=True)
    if backend == "cuda":  # compile, then link, as setuptools and torch's cpp_extension do
        gencode = [f"-gencode=arch=compute_{a[3:]},code={a}" for a in archs]
        subprocess.run(["nvcc", "-c", "-Xcompiler", "-fPIC", *gencode, "kernel.cu", "-o", "build/kernel.o"], check=True)
        command = ["nvcc", "-shared", *gencode, "build/kernel.o", "-o", str(out)]
    elif backend == "hip":
        command = ["hipcc", "-shared", "-fPIC", *[f"--offload-arch={a}" for a in archs], "-x", "hip", "kernel.cu", "-o", str(out)]
    else:
        print("GPUKERN_BACKEND not set: building the CPU fallback only")
        command = ["gcc", "-shared", "-fPIC", "cpu.c", "-o", str(out)]
    print("$", " ".join(command), flush=True)
    subprocess.run(command, check=True)
    info = f"{NAME}-{VERSION}.dist-info"
    files = {
        "gpukern/__init__.py": b"",
        "gpukern/_kernels.so": out.read_bytes(),
        f"{info}/METADATA": f"Metadata-Version: 2.1\nName: {NAME}\nVersion: {VERSION}\n".encode(),
        f"{info}/WHEEL": b"Wheel-Version: 1.0\nGenerator: gpukern\nRoot-Is-Purelib: false\nTag: cp311-cp311-linux_x86_64\n",
    }
    record = ""
    for path, data in files.items():
        digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
        record += f"{path},sha256={digest},{len(data)}\n"
    files[f"{info}/RECORD"] = (record + f"{info}/RECORD,,\n").encode()
    filename = f"{NAME}-{VERSION}-cp311-cp311-linux_x86_64.whl"
    with zipfile.ZipFile(os.path.join(wheel_directory, filename), "w", zipfile.ZIP_DEFLATED) as zf:
        for path, data in files.items():
            info_ = zipfile.ZipInfo(path, (1980, 1, 1, 0, 0, 0))
            info_.external_attr = 0o755 << 16
            zf.writestr(info_, data)
    return filename
'''

KERNEL = r'''
#if defined(__HIP_PLATFORM_AMD__) || defined(__HIPCC__)
#include <hip/hip_runtime.h>
#define cudaMalloc hipMalloc
#define cudaMemcpy hipMemcpy
#define cudaMemcpyHostToDevice hipMemcpyHostToDevice
#define cudaMemcpyDeviceToHost hipMemcpyDeviceToHost
#define cudaGetLastError hipGetLastError
#define cudaDeviceSynchronize hipDeviceSynchronize
#define cudaFree hipFree
#define cudaSuccess hipSuccess
#endif
__global__ void scale(float *x, float a, int n) {
    int i = blockIdx.x * blockDim.x + threadIdx.x;
    if (i < n) x[i] *= a;
}
extern "C" int gpukern_version(void) { return 1; }

/* 1: the kernel ran and doubled every element; < 0: which step failed (-3: no kernel image for this GPU). */
extern "C" int gpukern_selftest(void) {
    const int n = 4096;
    static float host[4096];
    for (int i = 0; i < n; i++) host[i] = (float)i;
    float *device = 0;
    if (cudaMalloc((void **)&device, n * sizeof(float)) != cudaSuccess) return -2;
    cudaMemcpy(device, host, n * sizeof(float), cudaMemcpyHostToDevice);
    scale<<<(n + 255) / 256, 256>>>(device, 2.0f, n);
    if (cudaGetLastError() != cudaSuccess || cudaDeviceSynchronize() != cudaSuccess) return -3;
    cudaMemcpy(host, device, n * sizeof(float), cudaMemcpyDeviceToHost);
    cudaFree(device);
    for (int i = 0; i < n; i++) if (host[i] != 2.0f * i) return 0;
    return 1;
}
'''

RECIPE = '''
from wheelwright import Recipe

recipe = Recipe("gpukern")
{env}

@recipe.kernels("cuda", "rocm")
def kernels(ctx):
    return ["gpukern/_kernels*.so"]
'''

RECIPE_ENV = '''
@recipe.env("cuda")
def env_cuda(ctx):
    return {"GPUKERN_BACKEND": "cuda", "GPUKERN_ARCHS": ";".join(ctx.variant.archs)}


@recipe.env("rocm")
def env_rocm(ctx):
    return {"GPUKERN_BACKEND": "hip", "GPUKERN_ARCHS": ";".join(ctx.variant.archs)}
'''


def sdist() -> tuple[str, bytes]:
    members = {
        "pyproject.toml": '[build-system]\nrequires = []\nbuild-backend = "gpubackend"\nbackend-path = ["_backend"]\n',
        "_backend/gpubackend.py": BACKEND,
        "kernel.cu": KERNEL,
        "cpu.c": "int gpukern_version(void) { return 1; }\nint gpukern_selftest(void) { return -1; }\n",
        "PKG-INFO": "Metadata-Version: 2.1\nName: gpukern\nVersion: 1.0\n",
    }
    return "gpukern-1.0.tar.gz", sdist_bytes("gpukern-1.0", members)


def recipe(with_env: bool) -> str:
    """The recipe; without its env hooks it is exactly the article's missing environment variable."""
    return RECIPE.format(env=RECIPE_ENV if with_env else "")
