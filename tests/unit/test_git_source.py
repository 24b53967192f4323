"""Packages PyPI has no usable sdist for come from the git tag their recipe declares: cloned, checked
against the pinned commit, packed deterministically, and traced to that commit in graph and SBOM."""

from __future__ import annotations

import json
import subprocess
import tarfile

from fakepypi import FakeProject


def _git_repo(tmp_path, project: FakeProject):
    """A real git repository holding the fake project's tree, tagged v<version>."""
    filename, data = project.sdist()
    repo = tmp_path / "upstream"
    (tmp_path / filename).write_bytes(data)
    with tarfile.open(tmp_path / filename) as tar:
        tar.extractall(tmp_path / "unpacked", filter="data")
    (tmp_path / "unpacked" / f"{project.name}-{project.version}").rename(repo)
    git = lambda *args: subprocess.run(["git", "-C", str(repo), *args], check=True, capture_output=True, text=True).stdout.strip()
    subprocess.run(["git", "init", "-q", str(repo)], check=True)
    git("add", "-A")
    git("-c", "user.name=t", "-c", "user.email=t@t", "commit", "-q", "-m", "release")
    git("tag", f"v{project.version}")
    return repo, git("rev-parse", "HEAD")


def _recipe(repo, commit: str | None) -> str:
    commits = f"commits={{'2.0': '{commit}'}}" if commit else ""
    return (f"from wheelwright import Recipe\nfrom wheelwright.recipes import GitSource\n"
            f"recipe = Recipe('gitpkg', source=GitSource(url='{repo.as_uri()}', tag='v{{version}}', {commits}))\n")


def test_a_git_sourced_package_builds_from_its_pinned_commit(workspace, fake_pypi, capsys, tmp_path):
    repo, commit = _git_repo(tmp_path, FakeProject("gitpkg", version="2.0", payload="FROM_GIT = True\n"))
    workspace.write("recipes/gitpkg.py", _recipe(repo, commit))
    workspace.write("constraints/cpu.txt", "-c common.txt\ngitpkg==2.0\n")
    run = workspace.build(capsys, "gitpkg")
    assert run.code == 0, run.err
    graph = json.loads((workspace.output / "graph.json").read_text())
    node = next(n for n in graph["nodes"] if n["name"] == "gitpkg")
    assert node["source"]["url"] == repo.as_uri() and node["source"]["git_commit"] == commit
    (wheel,) = (workspace.output / "simple" / "gitpkg").glob("*.whl")
    sbom = json.loads((workspace.output / "sbom" / f"{wheel.name}.cdx.json").read_text())
    ancestor = sbom["metadata"]["component"]["pedigree"]["ancestors"][0]
    assert commit in json.dumps(ancestor)
    assert workspace.build(capsys, "gitpkg").code == 0 and workspace.statuses()["gitpkg==2.0"] == "cached"


def test_a_moved_tag_is_refused(workspace, fake_pypi, capsys, tmp_path):
    repo, _ = _git_repo(tmp_path, FakeProject("gitpkg", version="2.0"))
    workspace.write("recipes/gitpkg.py", _recipe(repo, "0" * 40))
    workspace.write("constraints/cpu.txt", "-c common.txt\ngitpkg==2.0\n")
    run = workspace.build(capsys, "gitpkg")
    assert run.code == 1
    assert "tag v2.0 of" in run.error and f"but the recipe pins {'0' * 40}: the tag moved" in run.error


def test_a_git_source_needs_one_pinned_version(workspace, fake_pypi, capsys, tmp_path):
    repo, commit = _git_repo(tmp_path, FakeProject("gitpkg", version="2.0"))
    workspace.write("recipes/gitpkg.py", _recipe(repo, commit))
    run = workspace.build(capsys, "gitpkg")
    assert run.code == 2 and "gitpkg" in run.error


def test_a_packed_tag_tells_the_build_its_version_and_commit(workspace, fake_pypi, capsys, tmp_path):
    """No .git in the packed tree: setuptools-scm would fall back to 0.1.0 and aotriton's CMake stops without its
    SHA1. The build gets SETUPTOOLS_SCM_PRETEND_VERSION_FOR_<NAME> and the commit in each `commit_env` variable."""
    repo, commit = _git_repo(tmp_path, FakeProject("gitpkg", version="2.0", print_env=True))
    workspace.write("recipes/gitpkg.py", _recipe(repo, commit).replace("tag='v{version}', ", "tag='v{version}', commit_env=('MY_CI_SHA1',), "))
    workspace.write("constraints/cpu.txt", "-c common.txt\ngitpkg==2.0\n")
    run = workspace.build(capsys, "gitpkg")
    assert run.code == 0, run.err
    log = (workspace.output / "logs" / "gitpkg-2.0.log").read_text()
    assert "ENV SETUPTOOLS_SCM_PRETEND_VERSION_FOR_GITPKG=2.0" in log and f"ENV MY_CI_SHA1={commit}" in log
    from wheelwright.recipes import GitSource

    assert GitSource(url="x").build_variables("amd-aiter.x", "0.1.10.post2", commit) == {"SETUPTOOLS_SCM_PRETEND_VERSION_FOR_AMD_AITER_X": "0.1.10.post2"}
