"""Crate vendoring on small Rust trees made here: which manifests count, the cache, and --offline."""

from __future__ import annotations

import io
import shutil

import pytest

from wheelwright.stages.crates import cargo_manifests, vendor_crates
from wheelwright.errors import OfflineMiss

pytestmark = pytest.mark.skipif(shutil.which("cargo") is None, reason="needs cargo")

MANIFEST = '[package]\nname = "{name}"\nversion = "0.1.0"\nedition = "2021"\n\n[lib]\npath = "lib.rs"\n'


def _crate(directory, name="tiny"):
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "Cargo.toml").write_text(MANIFEST.format(name=name))
    (directory / "lib.rs").write_text("pub fn one() -> u32 { 1 }\n")
    return directory


def test_only_the_top_manifests_count_not_fixtures_or_nested_crates(tmp_path):
    _crate(tmp_path / "src" / "_rust")
    _crate(tmp_path / "src" / "_rust" / "inner", "inner")  # covered by the one above
    _crate(tmp_path / "fuzz", "fuzzer")
    _crate(tmp_path / "tests" / "fixture", "fixture")
    assert cargo_manifests(tmp_path) == [tmp_path / "src" / "_rust" / "Cargo.toml"]
    assert cargo_manifests(tmp_path / "tests" / "fixture") == [tmp_path / "tests" / "fixture" / "Cargo.toml"]


def test_a_tree_without_rust_vendors_nothing(tmp_path):
    (tmp_path / "setup.py").write_text("")
    assert vendor_crates(tmp_path, tmp_path / "cache", tmp_path / "work", io.StringIO()) is None


def test_vendoring_writes_the_lock_a_build_config_and_is_cached(tmp_path):
    tree = _crate(tmp_path / "tree")
    log = io.StringIO()
    vendored = vendor_crates(tree, tmp_path / "cache", tmp_path / "work", log)
    assert vendored is not None and vendored.crates == ()
    assert (tree / "Cargo.lock").is_file()  # cargo resolved it before the network went away
    config = (vendored.cargo_home / "config.toml").read_text()
    assert "offline = true" in config and "[source" not in config  # nothing to replace: no dependencies
    assert vendored.env() == {"CARGO_HOME": str(vendored.cargo_home), "CARGO_NET_OFFLINE": "true"}
    assert "cargo vendor" in log.getvalue()

    again = _crate(tmp_path / "again")  # the same manifests: taken from the cache, even offline
    log = io.StringIO()
    assert vendor_crates(again, tmp_path / "cache", tmp_path / "work2", log, offline=True) is not None
    assert "cargo vendor" not in log.getvalue() and (again / "Cargo.lock").is_file()


def test_offline_with_crates_not_in_the_cache_names_the_tree(tmp_path):
    tree = _crate(tmp_path / "tiny-1.0")
    with pytest.raises(OfflineMiss, match=r"tiny-1.0: its Rust crates \(key [0-9a-f]{12}\) are not in the crate cache"):
        vendor_crates(tree, tmp_path / "cache", tmp_path / "work", io.StringIO(), offline=True)


def test_a_failing_vendor_step_is_one_line_naming_the_tree(tmp_path):
    tree = _crate(tmp_path / "broken-1.0")
    (tree / "Cargo.toml").write_text(MANIFEST.format(name="broken") + '\n[dependencies]\nno-such-crate-anywhere = { path = "../missing" }\n')
    with pytest.raises(Exception, match=r"broken-1.0: cargo vendor failed before the build \(exit \d+\): "):
        vendor_crates(tree, tmp_path / "cache", tmp_path / "work", io.StringIO())
    assert not list((tmp_path / "cache").glob("*"))  # no half entry


def test_a_git_dependency_is_vendored_and_the_crate_then_builds_with_no_network(tmp_path):
    """cargo's own printed config is used, so git sources are replaced too, not only crates-io."""
    import os
    import subprocess

    if subprocess.run(["unshare", "--net", "true"], capture_output=True).returncode != 0:
        pytest.skip("needs unshare --net")
    dep = _crate(tmp_path / "dep", "dep")
    subprocess.run(["git", "init", "-q"], cwd=dep, check=True)
    subprocess.run(["git", "add", "-A"], cwd=dep, check=True)
    subprocess.run(["git", "-c", "user.email=t@t", "-c", "user.name=t", "commit", "-qm", "dep"], cwd=dep, check=True)
    tree = _crate(tmp_path / "app-1.0", "app")
    (tree / "Cargo.toml").write_text(MANIFEST.format(name="app") + f'\n[dependencies]\ndep = {{ git = "file://{dep}" }}\n')
    (tree / "lib.rs").write_text("pub fn two() -> u32 { dep::one() * 2 }\n")
    vendored = vendor_crates(tree, tmp_path / "cache", tmp_path / "work", io.StringIO())
    assert vendored is not None
    shutil.rmtree(dep)  # gone: only the vendored copy can serve it now
    build = subprocess.run(["unshare", "--net", "--", "cargo", "build", "--offline", "--manifest-path", str(tree / "Cargo.toml")],
                           capture_output=True, text=True, env={**os.environ, **vendored.env(), "CARGO_TARGET_DIR": str(tmp_path / "target")})
    assert build.returncode == 0, build.stderr
