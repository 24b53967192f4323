"""No network during builds: a build that downloads code mid-build fails, and says what it tried to reach."""

from __future__ import annotations

import json

import pytest
from fakepypi import FakeProject

from wheelwright.sandbox.isolation import egress_attempts, network_policy


def test_a_build_that_downloads_is_stopped_and_named(workspace, fake_pypi, capsys):
    if not network_policy(False).isolated:
        pytest.skip("no network namespaces here")
    fake_pypi.add(FakeProject("sneaky", fetch="https://pypi.org/simple/llvm-prebuilt/"))
    run = workspace.build(capsys, "sneaky")
    assert run.code == 1
    assert run.error.startswith("error: sneaky==1.0: build_wheel failed")
    assert "it tried to reach the network, which builds may not (https://pypi.org/simple/llvm-prebuilt/" in run.error
    assert not (workspace.output / "simple" / "sneaky").exists()


def test_isolation_is_recorded_in_the_report(workspace, fake_pypi, capsys):
    fake_pypi.add(FakeProject("plain"))
    assert workspace.build(capsys, "plain").code == 0
    assert json.loads((workspace.output / "report.json").read_text())["network"].startswith("isolated")
    assert workspace.build(capsys, "--allow-network", "plain").code == 0
    assert "--allow-network" in json.loads((workspace.output / "report.json").read_text())["network"]


def test_loopback_still_works_inside_the_namespace(workspace, fake_pypi, capsys):
    # the fake index itself lives on loopback outside the namespace: a build reaching it must fail too
    fake_pypi.add(FakeProject("local", fetch=f"{fake_pypi.url}/local/"))
    run = workspace.build(capsys, "local")
    assert run.code == 1 and "tried to reach the network" in run.error and "127.0.0.1" in run.error


def test_egress_report_reads_hosts_from_common_errors():
    log = "curl: (6) Could not resolve host: github.com\nfatal: unable to access 'https://github.com/llvm/llvm-project.git/'"
    assert egress_attempts(log) == ["https://github.com/llvm/llvm-project.git/", "github.com"]
    assert egress_attempts("compiler error: x.c:1: oops") == []


FETCHING_RECIPE = """\
import sys
from wheelwright import Recipe
recipe = Recipe('prep')

@recipe.prepare()
def prepare(ctx):
    url = 'https://github.com/llvm/llvm-project/archive/main.tar.gz'
    ctx.run([sys.executable, '-c', "import os, sys, urllib.request; print('TOKEN', os.environ.get('GITHUB_TOKEN')); "
             "print('downloading', sys.argv[1], flush=True); urllib.request.urlopen(sys.argv[1], timeout=10)", url])
"""


def test_a_recipe_build_command_runs_without_network_or_secrets(workspace, fake_pypi, capsys, monkeypatch):
    if not network_policy(False).isolated:
        pytest.skip("no network namespaces here")
    monkeypatch.setenv("GITHUB_TOKEN", "ghp_secret")
    fake_pypi.add(FakeProject("prep"))
    workspace.write("recipes/prep.py", FETCHING_RECIPE)
    run = workspace.build(capsys, "prep")
    assert run.code == 2
    assert "recipes/prep.py prepare" in run.error
    assert "it tried to reach the network, which builds may not (https://github.com/llvm/llvm-project/archive/main.tar.gz" in run.error
    log = (workspace.output / "logs" / "prep-1.0.log").read_text()
    assert "TOKEN None" in log and "ghp_secret" not in log


def test_without_root_builds_are_isolated_in_a_user_namespace_of_their_own():
    """Run the policy as `nobody` (Debian's own python3, a world-readable copy of the two modules it needs)."""
    import os
    import shutil
    import subprocess
    import tempfile
    from pathlib import Path

    import wheelwright.sandbox.isolation

    if os.geteuid() != 0 or not shutil.which("setpriv") or not Path("/usr/bin/python3").exists():
        pytest.skip("needs root (to become nobody), setpriv and /usr/bin/python3")
    if subprocess.run(["setpriv", "--reuid", "65534", "--regid", "65534", "--clear-groups", "unshare", "--user", "--map-current-user", "--net", "true"],
                      capture_output=True).returncode != 0:
        pytest.skip("this kernel does not allow unprivileged user namespaces")
    scratch = Path(tempfile.mkdtemp())
    try:
        package = scratch / "wheelwright"
        (package / "sandbox").mkdir(parents=True)
        source = Path(wheelwright.sandbox.isolation.__file__).parent.parent
        for module in ("__init__.py", "sandbox/__init__.py"):
            (package / module).write_text("")
        for module in ("errors.py", "sandbox/isolation.py"):
            shutil.copy(source / module, package / module)
        scratch.chmod(0o755)
        probe = ("import subprocess; from wheelwright.sandbox.isolation import network_policy; p = network_policy(False); print(p.description); "
                 "print(subprocess.run(p.wrap(['cat', '/proc/net/dev']), capture_output=True, text=True).stdout)")
        result = subprocess.run(["setpriv", "--reuid", "65534", "--regid", "65534", "--clear-groups", "/usr/bin/python3", "-c", probe],
                                cwd=scratch, capture_output=True, text=True, env={"PATH": os.environ["PATH"], "PYTHONPATH": str(scratch)})
    finally:
        shutil.rmtree(scratch)
    assert result.returncode == 0, result.stderr
    assert "a user namespace of its own" in result.stdout
    interfaces = [line.split(":")[0].strip() for line in result.stdout.splitlines()[1:] if ":" in line and "|" not in line]
    assert interfaces == ["lo"]  # nothing but loopback inside
