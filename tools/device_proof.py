"""Build the test GPU project (tests/gpuproject.py) through the real pipeline for the cuda variant twice:
with sm_80,sm_90,sm_100 and with sm_100 only, into build/device/. Then run both on a CUDA machine:

    for w in build/device/*.whl; do d=$(mktemp -d)
      python3 -c "import zipfile,sys; zipfile.ZipFile(sys.argv[1]).extract(\"gpukern/_kernels.so\", sys.argv[2])" "$w" "$d"
      cuobjdump --list-elf "$d/gpukern/_kernels.so"
      python3 -c "import ctypes,sys; print(ctypes.CDLL(sys.argv[1]).gpukern_selftest())" "$d/gpukern/_kernels.so"
    done

On an H200 (sm_90), 2026-11-29: the full wheel printed 1 (the kernel ran and doubled 4096 floats), the
sm_100-only wheel -3 (no kernel image for this GPU): the failure `verify` refuses at build time.
"""
import shutil, subprocess, sys
from pathlib import Path
sys.path.insert(0, "/work/main/tests")
from fakepypi import FakePyPI
from gpuproject import recipe, sdist
from helpers import copy_project

server = FakePyPI()
server.add_file("gpukern", *sdist())
for label, archs in (("full", '["sm_80", "sm_90", "sm_100"]'), ("sm100only", '["sm_100"]')):
    root = copy_project(Path(f"/tmp/devproj-{label}"))
    text = (root / "variants.toml").read_text()
    text = text.replace('archs = ["sm_75", "sm_80", "sm_86", "sm_89", "sm_90", "sm_100", "sm_110", "sm_120"]', f"archs = {archs}")
    (root / "variants.toml").write_text(text)
    (root / "recipes" / "gpukern.py").write_text(recipe(with_env=True))
    out = Path(f"/tmp/devout-{label}")
    shutil.rmtree(out, ignore_errors=True)
    run = subprocess.run([sys.executable, "-m", "wheelwright", "--project", str(root), "build", "--variant", "cuda",
                          "--index-url", server.url, "--output-dir", str(out), "gpukern"], capture_output=True, text=True)
    print(label, run.returncode, run.stderr.strip().splitlines()[-1])
    wheel = next(out.glob("simple/gpukern/*.whl"))
    shutil.copy(wheel, f"/work/main/build/device/{label}-{wheel.name}")
server.close()
