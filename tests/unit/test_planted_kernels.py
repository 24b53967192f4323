"""The planted failure: the same small GPU project built twice per variant, once right and once with the
environment variable that switches kernel compilation on left out. The second build "succeeds", and
verify refuses it before anything is published."""

from __future__ import annotations

import json
import shutil

import pytest
from gpuproject import recipe, sdist

from wheelwright.stages.payload import inspect_wheel

ARCHS = {"cuda": '["sm_80", "sm_90", "sm_100"]', "rocm": '["gfx90a", "gfx908"]'}  # what this machine's compilers emit
TOOL = {"cuda": "nvcc", "rocm": "hipcc"}


def _narrow_archs(workspace, variant: str) -> None:
    """Keep the real variant, but only archs this machine's nvcc 13 / Debian hipcc can compile in seconds."""
    path = workspace.root / "variants.toml"
    lines = path.read_text().splitlines()
    section = None
    for i, line in enumerate(lines):
        if line.startswith("[variant."):
            section = line
        if line.startswith("archs =") and section and section.startswith(f"[variant.{variant}.versions."):
            lines[i] = f"archs = {ARCHS[variant]}"
    # Debian's hipcc (ROCm 5.2) lives under /usr, not the /opt/rocm 7.1 of a real ROCm builder image:
    # the toolchain gate still runs, it just accepts the version this machine has
    text = "\n".join(lines).replace('ROCM_PATH = "/opt/rocm"', 'ROCM_PATH = "/usr"').replace('requires = "=={version}.*"', 'requires = ""')
    path.write_text(text + "\n")


@pytest.mark.parametrize("variant", ["cuda", "rocm"])
def test_a_build_that_skipped_its_kernels_is_refused(workspace, fake_pypi, capsys, variant):
    if shutil.which(TOOL[variant]) is None:
        pytest.skip(f"{TOOL[variant]} is not installed (.ci/run installs it)")
    fake_pypi.add_file("gpukern", *sdist())
    _narrow_archs(workspace, variant)
    output = workspace.root / "build"
    label = {"cuda": "cuda-13.0", "rocm": "rocm-7.1"}[variant]

    workspace.write("recipes/gpukern.py", recipe(with_env=True))
    good = workspace.build(capsys, "gpukern", variant=variant)
    assert good.code == 0, good.err
    (wheel,) = (output / label / "simple" / "gpukern").glob("*.whl")
    payload = inspect_wheel(wheel)
    wanted = set(json.loads(ARCHS[variant]))
    assert (payload.sass if variant == "cuda" else payload.hip_processors) == wanted
    nodes = json.loads((output / label / "report.json").read_text())["nodes"]
    assert nodes["gpukern==1.0"]["gpu_payload"] == [f"gpukern/_kernels.so: {','.join(sorted(wanted))}"]

    from wheelwright.cli import main

    assert main(["--project", str(workspace.root), "verify", "--variant", variant]) == 0
    table = capsys.readouterr().out
    assert table.splitlines()[0].split() == ["wheel", "module", "archs", "present", "archs", "required", "ok"]
    assert any(line.startswith(wheel.name) and "gpukern/_kernels.so" in line and line.rstrip().endswith(" ok") for line in table.splitlines())

    shutil.rmtree(output / label)
    workspace.write("recipes/gpukern.py", recipe(with_env=False))  # the article's missing environment variable
    bad = workspace.build(capsys, "gpukern", variant=variant)
    assert bad.code == 4
    kind = "CUDA" if variant == "cuda" else "HIP"
    assert bad.error.startswith("error: gpukern-1.0-cp311-cp311-") and f".whl: GPU kernels missing for variant {label}: " in bad.error
    assert f"gpukern/_kernels.so carries no {kind} code; missing {','.join(json.loads(ARCHS[variant]))}" in bad.error
    assert "building the CPU fallback only" in (output / label / "logs" / "gpukern-1.0.log").read_text()  # the log shows why
    assert not list((output / label / "simple").glob("gpukern/*.whl"))  # refused before publishing


def test_verify_honours_declared_arch_subsets_and_sass_compatibility(tmp_path):
    """sm_86 runs sm_80 SASS; a module declared for a subset (FlashAttention-3: sm_90) is held to that subset."""
    from gpuproject import KERNEL
    import subprocess
    import zipfile

    from helpers import REPO

    from wheelwright.config.variants import load_variants, select_variant
    from wheelwright.stages.verify import verify_wheel

    if shutil.which("nvcc") is None:
        pytest.skip("nvcc is not installed")
    (tmp_path / "k.cu").write_text(KERNEL)
    so = tmp_path / "k.so"
    subprocess.run(["nvcc", "-shared", "-Xcompiler", "-fPIC", "-gencode=arch=compute_80,code=sm_80", "-gencode=arch=compute_90,code=sm_90",
                    str(tmp_path / "k.cu"), "-o", str(so)], check=True)
    wheel = tmp_path / "pkg-1.0-cp311-cp311-linux_x86_64.whl"
    with zipfile.ZipFile(wheel, "w") as zf:
        zf.write(so, "pkg/_main.so")
        zf.write(so, "pkg/_fa3.so")
    cuda = select_variant(load_variants(REPO / "variants.toml"), "cuda", "12.9")  # sm_70 sm_75 sm_80 sm_89 sm_90 sm_100 sm_120
    verdict = verify_wheel(wheel, cuda, {"pkg/_main.so": ["sm_80", "sm_89", "sm_90"], "pkg/_fa3.so": ["sm_90"]})
    assert verdict.ok, verdict.message("cuda")  # sm_89 is covered by sm_80 SASS
    strict = verify_wheel(wheel, cuda, {"pkg/_main.so": []})
    missing = {c.module: c.missing for c in strict.checks}
    assert missing["pkg/_main.so"] == ("sm_70", "sm_75", "sm_100", "sm_120")  # the undeclared _fa3.so is held to all archs too
    assert missing["pkg/_fa3.so"] == ("sm_70", "sm_75", "sm_100", "sm_120")
    # FlashAttention-3 declared as sm_90a: plain sm_90 SASS (where its wgmma kernels are traps) is not enough
    hopper = verify_wheel(wheel, cuda, {"pkg/_main.so": ["sm_80"], "pkg/_fa3.so": ["sm_80", "sm_90a"]})
    assert {c.module: c.missing for c in hopper.checks}["pkg/_fa3.so"] == ("sm_90a",) and not hopper.ok
    subprocess.run(["nvcc", "-shared", "-Xcompiler", "-fPIC", "-gencode=arch=compute_80,code=sm_80", "-gencode=arch=compute_90a,code=sm_90a",
                    str(tmp_path / "k.cu"), "-o", str(so)], check=True)
    with zipfile.ZipFile(wheel, "w") as zf:
        zf.write(so, "pkg/_fa3.so")
    assert verify_wheel(wheel, cuda, {"pkg/_fa3.so": ["sm_80", "sm_90a"]}).ok


def test_archs_narrows_one_run_and_verify_holds_it_to_the_narrowed_list(workspace, fake_pypi, capsys):
    """--archs sm_90: a developer's fast loop (and the GPU proof) builds one arch, in an output directory of its own;
    report and SBOM record the narrowed list, verify checks against it, and an arch the variant lacks is refused."""
    if shutil.which("nvcc") is None:
        pytest.skip("nvcc is not installed (.ci/run installs it)")
    fake_pypi.add_file("gpukern", *sdist())
    _narrow_archs(workspace, "cuda")
    workspace.write("recipes/gpukern.py", recipe(with_env=True))
    run = workspace.build(capsys, "--archs", "sm_90", "gpukern", variant="cuda")
    assert run.code == 0, run.err
    output = workspace.root / "build" / "cuda-13.0-sm_90"
    report = json.loads((output / "report.json").read_text())
    assert report["archs"] == ["sm_90"]
    (wheel,) = (output / "simple" / "gpukern").glob("*.whl")
    payload = inspect_wheel(wheel)
    assert set(payload.sass) == {"sm_90"}
    sbom = json.loads(next((output / "sbom").glob("gpukern-*.whl.cdx.json")).read_text())
    assert {"name": "wheelwright:archs", "value": "sm_90"} in sbom["metadata"]["component"]["properties"]
    from wheelwright.cli import main

    assert main(["--project", str(workspace.root), "verify", "--variant", "cuda", "--archs", "sm_90"]) == 0
    assert main(["--project", str(workspace.root), "verify", "--variant", "cuda", "--output-dir", str(output)]) == 4  # the full list: sm_80 missing
    capsys.readouterr()
    run = workspace.build(capsys, "--archs", "sm_99", "gpukern", variant="cuda")
    assert run.code == 2 and "--archs 'sm_99': sm_99 not in cuda-13.0's arch list (sm_80, sm_90, sm_100)" in run.error


def test_a_star_pattern_refuses_a_wheel_with_no_device_code_at_all(tmp_path):
    """`{"*": [...]}` means every GPU module must carry the archs; a wheel with none (the silent CPU-only build)
    must fail, not pass for lack of anything to check. A CPU module built here with gcc stands in for it."""
    import subprocess
    import zipfile

    from helpers import REPO

    from wheelwright.config.variants import load_variants, select_variant
    from wheelwright.stages.verify import verify_wheel

    (tmp_path / "cpu.c").write_text("int answer(void) { return 42; }\n")
    so = tmp_path / "cpu.so"
    subprocess.run(["gcc", "-shared", "-fPIC", str(tmp_path / "cpu.c"), "-o", str(so)], check=True)
    wheel = tmp_path / "pkg-1.0-cp311-cp311-linux_x86_64.whl"
    with zipfile.ZipFile(wheel, "w") as zf:
        zf.write(so, "pkg/_ops.so")
    rocm = select_variant(load_variants(REPO / "variants.toml"), "rocm")
    verdict = verify_wheel(wheel, rocm, {"*": ["gfx942", "gfx950"]})
    assert not verdict.ok
    assert "* (any module) carries no HIP code; missing gfx942,gfx950" in verdict.message("hip")
    assert verify_wheel(wheel, rocm, ()).ok  # nothing declared, nothing GPU: a CPU wheel of a GPU variant stays fine
