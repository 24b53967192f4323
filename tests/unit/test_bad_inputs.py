"""The bad-input catalog: each bad input ends in one error line that names it, a non-zero exit, and an
index and download cache exactly as they were (a good package is built first, so there is something to keep)."""

from __future__ import annotations

import hashlib
import io
import os
import secrets
import shutil
import subprocess
import tarfile
from collections.abc import Callable
from dataclasses import dataclass

import pytest
from fakepypi import FakeProject

from wheelwright.errors import EXIT_BAD_INPUT, EXIT_BUILD_FAILED, EXIT_TOOLCHAIN


def _tar(root: str, members: dict[str, bytes | tuple[str, str]]) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
        for path, content in members.items():
            info = tarfile.TarInfo(path if path.startswith(("/", "..")) else f"{root}/{path}")
            if isinstance(content, tuple):
                info.type, info.linkname = {"sym": tarfile.SYMTYPE, "hard": tarfile.LNKTYPE}[content[0]], content[1]
                tar.addfile(info)
            else:
                info.size = len(content)
                tar.addfile(info, io.BytesIO(content))
    return buffer.getvalue()


GOOD_TREE = {"pyproject.toml": b'[build-system]\nrequires = []\nbuild-backend = "x"\n', "PKG-INFO": b"Metadata-Version: 2.1\nName: evil\nVersion: 1.0\n"}


@dataclass
class Case:
    id: str
    setup: Callable  # (workspace, fake_pypi) -> None
    args: tuple[str, ...]
    expect: str  # must appear in the one error line
    code: int = EXIT_BUILD_FAILED  # errors.py's class codes, documented in the README
    variant: str = "cpu"
    needs_root: bool = False  # mounts a small filesystem
    usage: bool = False  # argparse refuses it before wheelwright runs (SystemExit 2)


def _serve(*projects):
    return lambda ws, pypi: pypi.add(*projects)


def _write(path, text):
    return lambda ws, pypi: ws.write(path, text)


def _file(name, filename, data):
    return lambda ws, pypi: pypi.add_file(name, filename, data)


def _patch(ws, pypi):
    pypi.add(FakeProject("lib"))
    ws.add_patch("lib", "0001-bad.patch", "--- a/payload.txt\n+++ b/payload.txt\n@@ -1 +1 @@\n-NOPE\n+X\n")


def _bad_hash(ws, pypi):
    pypi.bad_hash.add("tampered")
    pypi.add(FakeProject("tampered"))


def _full_disk(ws, pypi):
    """The index on a 256 KiB tmpfs holding what it held; the next wheel (1 MiB of random text) cannot fit."""
    simple = ws.output / "simple"
    saved = simple.with_name("simple.saved")
    simple.rename(saved)
    simple.mkdir()
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=256k", "tmpfs", str(simple)], check=True)
    shutil.copytree(saved, simple, dirs_exist_ok=True)
    shutil.rmtree(saved)
    pypi.add(FakeProject("big", payload=f"DATA = {secrets.token_hex(1 << 19)!r}\n"))


def _gpu_recipe(ws, pypi):
    pypi.add(FakeProject("gpu"))
    ws.write("recipes/gpu.py", "from wheelwright import Recipe\nrecipe = Recipe('gpu')\n\n@recipe.env('rocm')\ndef env(ctx):\n    return {}\n")


def _other_sdist(ws, pypi):
    filename, data = FakeProject("other").sdist()
    ws.write(f"pkgs/{filename}", "")
    (ws.root / "pkgs" / filename).write_bytes(data)


def _dynamic_tree(ws, pypi):
    ws.write("src/dyn/pyproject.toml", '[project]\nname = "dyn"\ndynamic = ["version"]\n[build-system]\nrequires = []\nbuild-backend = "x"\n')


ZEROS = "0" * 64

CASES = [
    Case("requirements-file-missing", lambda ws, pypi: None, ("-r", "{root}/nope.txt"), "-r {root}/nope.txt: no such file", code=EXIT_BAD_INPUT),
    Case("nested-requirements-missing", _write("reqs.txt", "ok\n-r more.txt\n"), ("-r", "{root}/reqs.txt"), "reqs.txt:2: '-r more.txt': included file", code=EXIT_BAD_INPUT),
    Case("editable-in-requirements", _write("reqs.txt", "ok\n-e ./src/foo\n"), ("-r", "{root}/reqs.txt"), "reqs.txt:2: -e in a requirements file", code=EXIT_BAD_INPUT),
    Case("index-option-in-requirements", _write("reqs.txt", "--extra-index-url https://x.invalid/simple\nok\n"), ("-r", "{root}/reqs.txt"),
         "reqs.txt:1: --extra-index-url in a requirements file is not supported", code=EXIT_BAD_INPUT),
    Case("https-direct-reference-without-hash", lambda ws, pypi: None, ("ok @ https://x.invalid/ok-1.0.tar.gz",), "must pin its content with #sha256=", code=EXIT_BAD_INPUT),
    Case("http-direct-reference", lambda ws, pypi: None, (f"ok @ http://x.invalid/ok-1.0.tar.gz#sha256={ZEROS}",), "only https:// and file://", code=EXIT_BAD_INPUT),
    Case("vcs-direct-reference", lambda ws, pypi: None, ("ok @ git+https://x.invalid/ok.git",), "version-control URLs are not built", code=EXIT_BAD_INPUT),
    Case("wheel-direct-reference", lambda ws, pypi: None, (f"ok @ https://x.invalid/ok-1.0-py3-none-any.whl#sha256={ZEROS}",), "is a wheel", code=EXIT_BAD_INPUT),
    Case("direct-reference-download-fails", lambda ws, pypi: None, (f"ok @ https://x.invalid/ok-1.0.tar.gz#sha256={ZEROS}",), "ok-1.0.tar.gz: download from"),
    Case("direct-reference-wrong-name", _other_sdist, ("ok @ file://{root}/pkgs/other-1.0.tar.gz",), "the source is other 1.0, not ok", code=EXIT_BAD_INPUT),
    Case("local-path-missing", lambda ws, pypi: None, ("./no/such/pkg",), "looks like a path", code=EXIT_BAD_INPUT),
    Case("local-tree-dynamic-version", _dynamic_tree, ("{root}/src/dyn",), "its name and version are not static", code=EXIT_BAD_INPUT),
    Case("requirement-include-in-constraints", _write("constraints/cpu.txt", "-c common.txt\n-r more.txt\n"), ("ok",),
         "cpu.txt:2: '-r more.txt': pip reads the lines of a -r file inside a constraints file as requirements", code=EXIT_BAD_INPUT),
    Case("constraint-hash-mismatch", _write("constraints/cpu.txt", f"-c common.txt\nok==1.0 --hash=sha256:{ZEROS}\n"), ("ok",),
         "cpu.txt:2: 'ok==1.0' pins hashes, and none is ok-1.0.tar.gz's sha256", code=EXIT_BAD_INPUT),
    Case("malformed-constraint", _write("constraints/cpu.txt", "-c common.txt\nfoo ==== 1\n"), ("ok",), "cpu.txt:2: malformed constraint", code=EXIT_BAD_INPUT),
    Case("conflicting-pins", _write("constraints/cpu.txt", "-c common.txt\nok==1.0\nok==2.0\n"), ("ok",), "constraint cpu.txt:2 ok==1.0; cpu.txt:3 ok==2.0", code=EXIT_BAD_INPUT),
    Case("unknown-package", lambda ws, pypi: None, ("no-such-pkg",), "no-such-pkg: no such package", code=EXIT_BAD_INPUT),
    Case("missing-version", lambda ws, pypi: None, ("ok==9.9",), "the top level requires ok==9.9", code=EXIT_BAD_INPUT),
    Case("yanked-only", _serve(FakeProject("gone", yanked=True)), ("gone",), "every release of gone is yanked (1.0)", code=EXIT_BAD_INPUT),
    Case("no-sdist", lambda ws, pypi: pypi.add_wheel("wheelonly", "1.0"), ("wheelonly",), "no sdist for any version", code=EXIT_BAD_INPUT),
    Case("hash-mismatch", _bad_hash, ("tampered",), "tampered-1.0.tar.gz: sha256 mismatch"),
    Case("path-traversal", _file("evil", "evil-1.0.tar.gz", _tar("evil-1.0", {**GOOD_TREE, "../../outside.txt": b"x"})), ("evil",), "evil-1.0.tar.gz: cannot unpack"),
    Case("symlink-escape", _file("evil", "evil-1.0.tar.gz", _tar("evil-1.0", {**GOOD_TREE, "link": ("sym", "/etc/passwd")})), ("evil",), "evil-1.0.tar.gz: cannot unpack"),
    Case("hardlink-escape", _file("evil", "evil-1.0.tar.gz", _tar("evil-1.0", {**GOOD_TREE, "link": ("hard", "../../../etc/passwd")})), ("evil",), "evil-1.0.tar.gz: cannot unpack"),
    Case("too-many-files", _file("many", "many-1.0.tar.gz", _tar("many-1.0", {**GOOD_TREE, **{f"f{i}.py": b"" for i in range(300)}})),
         ("--max-unpack-files", "200", "many"), "many-1.0.tar.gz: cannot unpack: 302 members, over the limit of 200"),
    Case("absurd-size", _file("bomb", "bomb-1.0.tar.gz", _tar("bomb-1.0", {**GOOD_TREE, "zeros.bin": bytes(64 << 20)})),
         ("--max-unpack-size", "16M", "bomb"), f"bomb-1.0.tar.gz: cannot unpack: {(64 << 20) + sum(map(len, GOOD_TREE.values()))} bytes uncompressed, over the limit of 16777216"),
    Case("truncated-archive", _file("evil", "evil-1.0.tar.gz", _tar("evil-1.0", GOOD_TREE)[:40]), ("evil",), "evil-1.0.tar.gz: cannot unpack"),
    Case("patch-fails", _patch, ("lib",), "patch 0001-bad.patch does not apply"),
    Case("backend-raises", _serve(FakeProject("broken", fail="build")), ("broken",), "broken==1.0: build_wheel failed"),
    Case("backend-no-wheel", _serve(FakeProject("broken", fail="nowheel")), ("broken",), "backend returned no wheel"),
    Case("recipe-raises", lambda ws, pypi: (pypi.add(FakeProject("rec")),
           ws.write("recipes/rec.py", "from wheelwright import Recipe\nrecipe = Recipe('rec')\n\n@recipe.env()\ndef env(ctx):\n    raise RuntimeError('boom')\n")),
         ("rec",), "recipes/rec.py env: recipe raised RuntimeError: boom", code=EXIT_BAD_INPUT),
    Case("recipe-broken-import", lambda ws, pypi: (pypi.add(FakeProject("rec")), ws.write("recipes/rec.py", "import nonexistent_module\n")), ("rec",), "recipe failed to import", code=EXIT_BAD_INPUT),
    Case("unknown-variant", lambda ws, pypi: None, ("ok",), "unknown variant 'quantum'", variant="quantum", code=EXIT_BAD_INPUT),
    Case("unknown-accelerator-version", lambda ws, pypi: None, ("--accelerator-version", "9.9", "ok"), "has no accelerator version '9.9'", variant="rocm", code=EXIT_BAD_INPUT),
    Case("missing-toolchain", _gpu_recipe, ("gpu",), "variant rocm-7.1: hipcc", variant="rocm", code=EXIT_TOOLCHAIN),
    Case("build-cycle", _serve(FakeProject("chicken", build_requires=["egg"]), FakeProject("egg", build_requires=["chicken"])), ("chicken",), "cycle cannot bootstrap"),
    Case("malformed-requirement", lambda ws, pypi: None, ("ok[",), "requirement 'ok[' is malformed", code=EXIT_BAD_INPUT),
    Case("offline-cache-miss", _serve(FakeProject("newpkg")), ("--offline", "newpkg"), "newpkg: its index page is not in the local cache"),
    Case("disk-full-on-publish", _full_disk, ("big",), "big-1.0-py3-none-any.whl: cannot publish to", needs_root=True),
    Case("bad-jobs", lambda ws, pypi: None, ("--jobs", "zero", "ok"), "--jobs 'zero': not a whole number", code=EXIT_BAD_INPUT, usage=True),
]


def _state(workspace) -> dict[str, str]:
    roots = [workspace.output / "simple", workspace.cache / "sdists"]
    return {str(p): hashlib.sha256(p.read_bytes()).hexdigest() for root in roots if root.exists() for p in sorted(root.rglob("*")) if p.is_file()}


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_bad_input_is_one_line_nonzero_and_changes_nothing(workspace, fake_pypi, capsys, monkeypatch, tmp_path, case):
    monkeypatch.setenv("PATH", f"{tmp_path}:/usr/local/bin:/usr/bin:/bin")  # no hipcc of ROCm 7.1 here, whatever is installed
    if case.needs_root and os.geteuid() != 0:
        pytest.skip("mounting a small filesystem needs root")
    fake_pypi.add(FakeProject("ok"))
    assert workspace.build(capsys, "ok").code == 0
    before = _state(workspace)
    case.setup(workspace, fake_pypi)
    try:
        _check(workspace, capsys, case, before)
    finally:
        if os.path.ismount(workspace.output / "simple"):
            subprocess.run(["umount", str(workspace.output / "simple")], check=True)


def _check(workspace, capsys, case, before) -> None:
    args = tuple(a.replace("{root}", str(workspace.root)) for a in case.args)
    case = Case(case.id, case.setup, args, case.expect.replace("{root}", str(workspace.root)), case.code, case.variant, case.needs_root, case.usage)
    if case.usage:
        with pytest.raises(SystemExit) as exit_info:
            workspace.build(capsys, *case.args, variant=case.variant)
        assert exit_info.value.code == 2
        err = capsys.readouterr().err
        assert case.expect in err.strip().splitlines()[-1]
    else:
        run = workspace.build(capsys, *case.args, variant=case.variant)
        assert run.code == case.code, run.err
        assert run.error and "\n" not in run.error and case.expect in run.error, run.err
    after = _state(workspace)
    assert {k: v for k, v in after.items() if k in before} == before  # nothing that was there changed
    added = {k: v for k, v in after.items() if k not in before}
    assert not [k for k in added if "/simple/" in k]  # nothing reached the index
    for path, digest in added.items():  # only complete, verified downloads may join the cache (a good sdist stays good)
        assert path.split("/")[-2] == digest, path
    if case.id in ("path-traversal", "symlink-escape", "hardlink-escape", "truncated-archive", "hash-mismatch"):
        assert not added  # a broken or hostile archive is not kept
    assert not list((workspace.output / "simple").rglob("*.tmp"))
