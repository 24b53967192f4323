"""`wheelwright recipe check` on fake sdists: a setting the source reads is clean, one it never reads is a finding,
a tool's own setting counts only when the tool is a build requirement, and kernels globs meet a wheel we built."""

from __future__ import annotations

import io
import zipfile
from typing import NamedTuple

from fakepypi import sdist_bytes

from wheelwright.cli import main

SETUP_PY = 'import os\nfrom setuptools import setup\nif os.environ.get("FAKE_SWITCH") == "1":\n    pass\nsetup()\n'


class Run(NamedTuple):
    code: int
    out: str
    err: str


def _publish(fake_pypi, *, requires: list[str], version: str = "1.0") -> None:
    """An sdist of fakepkg whose setup.py reads FAKE_SWITCH and whose [build-system] requires ``requires``."""
    pyproject = f'[build-system]\nrequires = {requires!r}\nbuild-backend = "setuptools.build_meta"\n'.replace("'", '"')
    members = {"setup.py": SETUP_PY, "pyproject.toml": pyproject, "PKG-INFO": f"Metadata-Version: 2.1\nName: fakepkg\nVersion: {version}\n"}
    fake_pypi.add_file("fakepkg", f"fakepkg-{version}.tar.gz", sdist_bytes(f"fakepkg-{version}", members))


def _recipe(workspace, env: dict[str, str] | None = None, kernels: list[str] | None = None, build_requires: list[str] | None = None) -> None:
    hooks = [f"@recipe.env('cpu')\ndef env(ctx):\n    return {env!r}\n"] if env else []
    hooks += [f"@recipe.kernels('cpu')\ndef kernels(ctx):\n    return {kernels!r}\n"] if kernels else []
    hooks += [f"@recipe.build_requires('cpu')\ndef build_requires(ctx):\n    return {build_requires!r}\n"] if build_requires else []
    workspace.write("recipes/fakepkg.py", "from wheelwright import Recipe\n\nrecipe = Recipe('fakepkg', variants=('cpu',))\n\n\n" + "\n\n".join(hooks))


def _check(workspace, capsys, *args: str, pin: str | None = "1.0") -> Run:
    """The command on the workspace, with cpu.txt pinning fakepkg to ``pin`` (None: not at all)."""
    constraints = workspace.root / "constraints" / "cpu.txt"
    kept = [line for line in constraints.read_text().splitlines() if not line.startswith("fakepkg")]
    constraints.write_text("\n".join([*kept, *([f"fakepkg=={pin}"] if pin else [])]) + "\n")
    code = main(["--project", str(workspace.root), "recipe", "check", "--cache-dir", str(workspace.cache), "--index-url", str(workspace.index_url), *args])
    captured = capsys.readouterr()
    return Run(code, captured.out, captured.err)


def _wheel(workspace, *members: str) -> None:
    """Our own built wheel of fakepkg 1.0, as a build publishes it into build/<label>/simple/<name>/."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as zf:
        for member in (*members, "fakepkg/__init__.py", "fakepkg-1.0.dist-info/METADATA"):
            zf.writestr(member, "")
    path = workspace.root / "build" / "cpu" / "simple" / "fakepkg" / "fakepkg-1.0-cp311-cp311-linux_x86_64.whl"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(buffer.getvalue())


def test_an_env_var_the_setup_py_reads_is_clean(workspace, fake_pypi, capsys):
    _publish(fake_pypi, requires=["setuptools"])
    _recipe(workspace, env={"FAKE_SWITCH": "1"})
    run = _check(workspace, capsys)
    assert run.code == 0, run.out + run.err
    assert run.out.strip().splitlines() == ["1 recipes, 1 versions checked, 0 findings"]


def test_an_env_var_nobody_reads_is_a_finding(workspace, fake_pypi, capsys):
    _publish(fake_pypi, requires=["setuptools"])
    _recipe(workspace, env={"FAKE_SWITCH": "1", "FAKE_SWITCHED": "1", "FAKE": "1"})  # neither is FAKE_SWITCH as a whole word
    run = _check(workspace, capsys)
    assert run.code == 1
    lines = run.out.strip().splitlines()
    assert "recipes/fakepkg.py sets FAKE_SWITCHED for cpu, which fakepkg 1.0's source never reads (searched 2 build files)" in lines
    assert "recipes/fakepkg.py sets FAKE for cpu, which fakepkg 1.0's source never reads (searched 2 build files)" in lines
    assert lines[-1] == "1 recipes, 1 versions checked, 2 findings"


def test_a_tool_s_variable_counts_only_when_the_tool_is_a_build_requirement(workspace, fake_pypi, capsys):
    _publish(fake_pypi, requires=["setuptools", "torch"])
    _publish(fake_pypi, requires=["setuptools"], version="2.0")  # the same setup.py, built without torch
    _recipe(workspace, env={"TORCH_CUDA_ARCH_LIST": "9.0", "CFLAGS": "-O2"})  # torch reads the first; every compiler the second
    assert _check(workspace, capsys).code == 0

    run = _check(workspace, capsys, pin="2.0")
    assert run.code == 1
    assert ("recipes/fakepkg.py sets TORCH_CUDA_ARCH_LIST for cpu, which fakepkg 2.0's source never reads "
            "(searched 2 build files; torch would read it, but is not among its build requirements)") in run.out
    assert "CFLAGS" not in run.out

    _recipe(workspace, env={"TORCH_CUDA_ARCH_LIST": "9.0"}, build_requires=["torch>=2"])  # the recipe's own build_requires count too
    assert _check(workspace, capsys, pin="2.0").code == 0


def test_a_kernels_glob_is_held_to_the_modules_of_our_own_wheel(workspace, fake_pypi, capsys):
    _publish(fake_pypi, requires=["setuptools"])
    _wheel(workspace, "fakepkg/_C.so", "fakepkg.libs/libgomp.so.1")
    _recipe(workspace, kernels=["fakepkg/_C*.so", "*"])
    run = _check(workspace, capsys)
    assert run.code == 0, run.out

    _recipe(workspace, kernels=["fakepkg/_C.so", "fakepkg/flash/_C*.so"])
    run = _check(workspace, capsys)
    assert run.code == 1
    assert run.out.strip().splitlines() == [
        "recipes/fakepkg.py declares kernels in fakepkg/flash/_C*.so for cpu; no module of fakepkg-1.0-cp311-cp311-linux_x86_64.whl matches "
        "(its modules: fakepkg/_C.so, fakepkg.libs/libgomp.so.1)",
        "1 recipes, 1 versions checked, 1 findings",
    ]


def test_what_cannot_be_checked_is_said_and_is_no_finding(workspace, fake_pypi, capsys):
    _recipe(workspace, env={"FAKE_SWITCH": "1"}, kernels=["fakepkg/_C.so"])
    run = _check(workspace, capsys, pin=None)
    assert (run.code, run.out.strip().splitlines()) == (0, ["recipes/fakepkg.py: not checked: cpu pins no version of fakepkg",
                                                             "1 recipes, 0 versions checked, 0 findings"])
    _publish(fake_pypi, requires=["setuptools"])
    run = _check(workspace, capsys)
    assert run.code == 0
    assert run.out.strip().splitlines() == ["recipes/fakepkg.py: not checked: cpu: no wheel of fakepkg 1.0 to read its modules",
                                            "1 recipes, 1 versions checked, 0 findings"]


def test_an_unknown_package_or_variant_is_one_error_line_and_exit_2(workspace, capsys):
    _recipe(workspace, env={"FAKE_SWITCH": "1"})
    run = _check(workspace, capsys, "nosuchpkg", pin=None)
    assert run.code == 2 and run.out == ""
    assert run.err.splitlines() == [f"error: no recipe for nosuchpkg in {workspace.root / 'recipes'} (recipes: fakepkg)"]
    run = _check(workspace, capsys, "--variant", "cudaa", pin=None)
    assert run.code == 2
    assert run.err.startswith("error: unknown variant 'cudaa' (did you mean 'cuda'?); known variants: ") and len(run.err.splitlines()) == 1


def test_a_dropped_upstream_requirement_needs_a_reason(workspace, fake_pypi, capsys):
    """Upstream's wheel METADATA requires nvidia-cublas and helper; a drop_requires list (no reasons) is a finding for
    each upstream requirement it removes, a {pattern: reason} mapping is not."""
    _publish(fake_pypi, requires=["setuptools"])
    fake_pypi.add_wheel("fakepkg", "1.0", ["nvidia-cublas>=13", "helper"], tag="py3-none-any")
    drop = "@recipe.drop_requires('cpu')\ndef drop(ctx):\n    return {!r}\n"
    base = "from wheelwright import Recipe\n\nrecipe = Recipe('fakepkg', variants=('cpu',))\n\n\n"
    workspace.write("recipes/fakepkg.py", base + drop.format(["nvidia-*"]))
    run = _check(workspace, capsys, "fakepkg")
    assert run.code == 1
    assert "recipes/fakepkg.py drops 'nvidia-cublas>=13' (upstream fakepkg 1.0's METADATA) for cpu without a reason" in run.out
    assert "helper" not in run.out
    workspace.write("recipes/fakepkg.py", base + drop.format({"nvidia-*": "the CPU build links no CUDA library"}))
    assert _check(workspace, capsys, "fakepkg").code == 0
