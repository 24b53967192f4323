"""A recipe's extra sources (the trees vLLM's CMake would clone mid-build): fetched before the build at the pinned
commit or sha256, unpacked beside the source, handed to the jailed build through the variables the recipe names,
shown in the plan, and refused when the pin does not hold."""

from __future__ import annotations

import hashlib
import io
import json
import subprocess
import tarfile

import pytest
from fakepypi import FakeProject

from wheelwright.errors import OfflineMiss, SourceError
from wheelwright.recipes import ExtraSource
from wheelwright.stages.extrasources import fetch_extra, provide_extra_sources


def _git_tree(path, files: dict[str, str]) -> str:
    """A git repository holding ``files``, with a submodule-free history of one commit; its commit id."""
    path.mkdir(parents=True)
    for name, text in files.items():
        (path / name).parent.mkdir(parents=True, exist_ok=True)
        (path / name).write_text(text)
    git = lambda *args: subprocess.run(["git", "-C", str(path), *args], check=True, capture_output=True, text=True).stdout.strip()
    git("init", "-q")
    git("add", "-A")
    git("-c", "user.name=t", "-c", "user.email=t@t", "commit", "-q", "-m", "release")
    git("tag", "v1.0")
    return git("rev-parse", "HEAD")


def _archive(path, top: str, files: dict[str, str]) -> str:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
        for name, text in files.items():
            info = tarfile.TarInfo(f"{top}/{name}")
            info.size = len(text.encode())
            tar.addfile(info, io.BytesIO(text.encode()))
    path.write_bytes(buffer.getvalue())
    return hashlib.sha256(buffer.getvalue()).hexdigest()


def _recipe(extra: str) -> str:
    return ("from wheelwright import Recipe\nfrom wheelwright.recipes import ExtraSource\nrecipe = Recipe('withextra')\n\n"
            f"@recipe.extra_sources()\ndef extra_sources(ctx):\n    return [{extra}]\n")


def test_an_extra_source_reaches_the_jailed_build_at_its_pinned_commit(workspace, fake_pypi, capsys, tmp_path):
    commit = _git_tree(tmp_path / "third", {"include/third.h": "#define THIRD 42\n"})
    fake_pypi.add(FakeProject("withextra", embed={"THIRD_SRC_DIR": "include/third.h"}))
    workspace.write("recipes/withextra.py", _recipe(f"ExtraSource(name='third', url={(tmp_path / 'third').as_uri()!r}, commit={commit!r}, "
                                                    "env=('THIRD_SRC_DIR',))"))
    plan = workspace.plan(capsys, "withextra")
    assert plan.code == 0, plan.err
    assert f"extra source: third: {(tmp_path / 'third').as_uri()} @ {commit[:12]} -> THIRD_SRC_DIR" in plan.out
    run = workspace.build(capsys, "withextra")
    assert run.code == 0, run.err
    (wheel,) = (workspace.output / "simple" / "withextra").glob("*.whl")
    import zipfile

    assert zipfile.ZipFile(wheel).read("withextra/embedded/THIRD_SRC_DIR.txt") == b"#define THIRD 42\n"  # read inside the network jail
    assert f"# extra source third: {(tmp_path / 'third').as_uri()} @ {commit[:12]}" in (workspace.output / "logs" / "withextra-1.0.log").read_text()
    graph = json.loads((workspace.output / "graph.json").read_text())
    node = next(n for n in graph["nodes"] if n["name"] == "withextra")
    assert node["recipe"]["extra_sources"][0]["commit"] == commit  # the graph records what the build used
    published = (workspace.output / "sbom" / f"{wheel.name}.cdx.json").read_text()
    from cyclonedx.schema import SchemaVersion
    from cyclonedx.validation.json import JsonStrictValidator

    assert JsonStrictValidator(SchemaVersion.V1_6).validate_str(published) is None
    sbom = json.loads(published)
    ancestors = sbom["metadata"]["component"]["pedigree"]["ancestors"]
    extra = next(a for a in ancestors if {"name": "wheelwright:role", "value": "extra-source"} in a["properties"])
    assert extra["name"] == "third" and extra["version"] == commit and commit in extra["purl"]  # traceable to the exact tree
    assert workspace.build(capsys, "withextra").code == 0 and workspace.statuses()["withextra==1.0"] == "cached"


def test_a_commit_the_remote_does_not_have_is_refused_before_the_build(workspace, fake_pypi, capsys, tmp_path):
    _git_tree(tmp_path / "third", {"README": "x\n"})
    fake_pypi.add(FakeProject("withextra"))
    workspace.write("recipes/withextra.py", _recipe(f"ExtraSource(name='third', url={(tmp_path / 'third').as_uri()!r}, commit={'1' * 40!r}, "
                                                    "env=('THIRD_SRC_DIR',))"))
    run = workspace.build(capsys, "withextra")
    assert run.code == 1 and "extra source third: git fetch of" in run.error, run.error
    assert not (workspace.output / "simple" / "withextra").exists()


def test_a_tag_is_checked_against_the_commit_pinned_beside_it(tmp_path):
    commit = _git_tree(tmp_path / "third", {"a.txt": "a\n"})
    url = (tmp_path / "third").as_uri()
    archive, identity = fetch_extra(ExtraSource(name="third", url=url, ref="v1.0", commit=commit), tmp_path / "cache")
    assert archive.is_file() and identity == commit
    with pytest.raises(SourceError, match=f"gave commit {commit}, not the pinned {'2' * 40}"):
        fetch_extra(ExtraSource(name="moved", url=url, ref="v1.0", commit="2" * 40), tmp_path / "cache")
    unpinned = ExtraSource(name="tagged", url=url, ref="v1.0")  # a tag alone: recorded as the commit it resolved to
    assert fetch_extra(unpinned, tmp_path / "cache")[1] == commit
    assert fetch_extra(unpinned, tmp_path / "cache", offline=True)[1] == commit  # and taken from the cache offline


def test_archives_are_verified_cached_and_merged(tmp_path):
    runtime = tmp_path / "runtime.tar.gz"
    images = tmp_path / "images.tar.gz"
    runtime_sha = _archive(runtime, "aotriton", {"lib/libaotriton_v2.so": "elf\n", "include/aotriton/config.h": "h\n"})
    images_sha = _archive(images, "aotriton", {"lib/aotriton.images/amd-gfx942/__signature__": "sig\n"})
    extras = [ExtraSource(name="aotriton", url=runtime.as_uri(), sha256=runtime_sha, env=("AOTRITON_INSTALLED_PREFIX",)),
              ExtraSource(name="aotriton-gfx942", url=images.as_uri(), sha256=images_sha, into="aotriton")]
    log = io.StringIO()
    provided = provide_extra_sources(extras, cache_dir=tmp_path / "cache", work=tmp_path / "work", log=log)
    prefix = tmp_path / "work" / "extra" / "aotriton" / "aotriton"
    assert provided.env == {"AOTRITON_INSTALLED_PREFIX": str(prefix)}
    assert [(f.name, f.sha256) for f in provided.facts] == [("aotriton", runtime_sha), ("aotriton-gfx942", images_sha)]
    assert (prefix / "lib" / "libaotriton_v2.so").is_file() and (prefix / "lib" / "aotriton.images" / "amd-gfx942" / "__signature__").is_file()
    runtime.unlink()  # offline, from the cache alone
    assert provide_extra_sources(extras, cache_dir=tmp_path / "cache", work=tmp_path / "again", log=log, offline=True).env \
        == {"AOTRITON_INSTALLED_PREFIX": str(tmp_path / "again" / "extra" / "aotriton" / "aotriton")}
    tampered = tmp_path / "tampered.tar.gz"
    _archive(tampered, "x", {"evil": "1\n"})
    with pytest.raises(SourceError, match="sha256 mismatch"):
        fetch_extra(ExtraSource(name="x", url=tampered.as_uri(), sha256="0" * 64), tmp_path / "cache")
    with pytest.raises(OfflineMiss, match="not in the source cache"):
        fetch_extra(ExtraSource(name="y", url=tampered.as_uri(), sha256="1" * 64), tmp_path / "cache", offline=True)


@pytest.mark.parametrize("fields, message", [
    ({"commit": "abc"}, "not a full 40-digit git commit"),
    ({}, "give a git commit= (or ref=), or an archive's sha256="),
    ({"commit": "a" * 40, "sha256": "b" * 64}, "not both or neither"),
    ({"name": "../escape", "commit": "a" * 40}, "letters, digits"),
])
def test_an_extra_source_must_be_pinned_one_way(fields, message):
    with pytest.raises(ValueError, match=message.replace("(", r"\(").replace(")", r"\)")):
        ExtraSource(**{"name": "x", "url": "https://example.invalid/x.git", **fields})
