"""Crate vendoring on small Rust trees made here: which builds are Rust ones, which manifests count, the cache, and --offline."""

from __future__ import annotations

import io
import shutil

import pytest

from wheelwright.stages.crates import cargo_manifests, needs_rust, vendor_crates
from wheelwright.errors import OfflineMiss, SourceError

needs_cargo = pytest.mark.skipif(shutil.which("cargo") is None, reason="needs cargo")
RUST = {"requires": ("setuptools", "setuptools-rust"), "backend": "setuptools.build_meta"}  # the trees below declare no build of their own

MANIFEST = '[package]\nname = "{name}"\nversion = "0.1.0"\nedition = "2021"\n\n[lib]\npath = "lib.rs"\n'


def _crate(directory, name="tiny"):
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "Cargo.toml").write_text(MANIFEST.format(name=name))
    (directory / "lib.rs").write_text("pub fn one() -> u32 { 1 }\n")
    return directory


@pytest.fixture
def no_cargo(monkeypatch):
    """Any cargo run fails the test."""
    import wheelwright.stages.crates as crates

    def refuse(command, *args, **kwargs):
        raise AssertionError(f"ran {command}")

    monkeypatch.setattr(crates.subprocess, "run", refuse)


def test_cargo_toml_files_as_test_data_are_not_a_rust_build(tmp_path, no_cargo):
    """meson's sdist: Cargo.toml under "test cases", a setuptools backend; meson-python's: the mesonpy backend."""
    _crate(tmp_path / "test cases" / "rust" / "1 basic", "basic")
    _crate(tmp_path / "unittests" / "crate", "other")
    (tmp_path / "pyproject.toml").write_text('[build-system]\nrequires = ["setuptools>=42"]\nbuild-backend = "setuptools.build_meta"\n')
    assert cargo_manifests(tmp_path)  # the old rule would have vendored these
    assert vendor_crates(tmp_path, tmp_path / "cache", tmp_path / "work", io.StringIO(), requires=("setuptools>=42",), backend="setuptools.build_meta") is None
    assert vendor_crates(tmp_path, tmp_path / "cache", tmp_path / "work", io.StringIO(), requires=("meson>=1", "pyproject-metadata"), backend="mesonpy") is None
    assert not (tmp_path / "cache").exists() and not (tmp_path / "work").exists()


@pytest.mark.parametrize(("requires", "backend", "pyproject", "extra", "rust"), [
    (["maturin>=1,<2"], "maturin", {}, [], True),
    ([], "maturin", {}, [], True),
    (["setuptools", "setuptools-rust>=1.5"], "setuptools.build_meta", {}, [], True),
    (["setuptools", "Setuptools_Rust"], "setuptools.build_meta", {}, [], True),  # compared as canonical names
    (["setuptools-rust; python_version >= '3.8'"], "setuptools.build_meta", {}, [], True),
    (["setuptools"], "setuptools.build_meta", {"tool": {"maturin": {}}}, [], True),
    (["setuptools"], "setuptools.build_meta", {}, ["setuptools-rust"], True),  # the recipe's added build requirements
    (["setuptools>=42"], "setuptools.build_meta", {"tool": {"setuptools": {}}}, [], False),
    (["meson>=1", "pyproject-metadata"], "mesonpy", {}, [], False),
    (["maturin-helper", "rustls"], "hatchling.build", {}, [], False),  # only the names themselves count
])
def test_rust_is_decided_from_how_it_builds(requires, backend, pyproject, extra, rust):
    assert needs_rust(requires, backend, pyproject, extra) is rust


@needs_cargo
def test_a_maturin_manifest_path_is_the_one_vendored_with_its_workspace_lock(tmp_path):
    tree = tmp_path / "pkg-1.0"
    _crate(tree / "bindings", "bindings")
    (tree / "Cargo.toml").write_text('[workspace]\nmembers = ["bindings"]\nresolver = "2"\n')  # the top manifest, but maturin builds bindings
    (tree / "pyproject.toml").write_text('[build-system]\nrequires = ["maturin>=1"]\nbuild-backend = "maturin"\n\n[tool.maturin]\nmanifest-path = "bindings/Cargo.toml"\n')
    log = io.StringIO()
    assert vendor_crates(tree, tmp_path / "cache", tmp_path / "work", log, requires=("maturin>=1",), backend="maturin") is not None
    assert f"--manifest-path {tree / 'bindings' / 'Cargo.toml'} " in log.getvalue() and "--sync" not in log.getvalue()
    assert [p.relative_to(tmp_path / "cache") for p in (tmp_path / "cache").glob("*/locks/**/Cargo.lock")][0].parts[1:] == ("locks", "Cargo.lock")

    (tree / "pyproject.toml").write_text('[tool.maturin]\nmanifest-path = "../outside/Cargo.toml"\n')
    with pytest.raises(SourceError, match=r"^pkg-1.0: its \[tool.maturin\] manifest-path '../outside/Cargo.toml' is not a file in its source tree$"):
        vendor_crates(tree, tmp_path / "cache", tmp_path / "work", io.StringIO(), requires=(), backend="setuptools.build_meta")


@pytest.mark.parametrize("declared", [{"requires": ("maturin>=1",), "backend": "maturin"}, RUST])
def test_a_rust_build_without_cargo_toml_is_one_error_naming_the_package(tmp_path, no_cargo, declared):
    tree = tmp_path / "rusty-2.0"
    _crate(tree / "tests" / "fixture", "fixture")  # fixtures are not its build
    with pytest.raises(SourceError, match=r"^rusty-2.0: it builds Rust \(maturin or setuptools-rust\) but its source tree has no Cargo.toml$"):
        vendor_crates(tree, tmp_path / "cache", tmp_path / "work", io.StringIO(), **declared)


def test_only_the_top_manifests_count_not_fixtures_or_nested_crates(tmp_path):
    _crate(tmp_path / "src" / "_rust")
    _crate(tmp_path / "src" / "_rust" / "inner", "inner")  # covered by the one above
    _crate(tmp_path / "fuzz", "fuzzer")
    _crate(tmp_path / "tests" / "fixture", "fixture")
    assert cargo_manifests(tmp_path) == [tmp_path / "src" / "_rust" / "Cargo.toml"]
    assert cargo_manifests(tmp_path / "tests" / "fixture") == [tmp_path / "tests" / "fixture" / "Cargo.toml"]


def test_a_tree_without_rust_vendors_nothing(tmp_path):
    (tmp_path / "setup.py").write_text("")
    assert vendor_crates(tmp_path, tmp_path / "cache", tmp_path / "work", io.StringIO(), requires=("setuptools>=40.8.0",),
                         backend="setuptools.build_meta:__legacy__") is None


@needs_cargo
def test_vendoring_writes_the_lock_a_build_config_and_is_cached(tmp_path):
    tree = _crate(tmp_path / "tree")
    log = io.StringIO()
    vendored = vendor_crates(tree, tmp_path / "cache", tmp_path / "work", log, **RUST)
    assert vendored is not None and vendored.crates == ()
    assert (tree / "Cargo.lock").is_file()  # cargo resolved it before the network went away
    config = (vendored.cargo_home / "config.toml").read_text()
    assert "offline = true" in config and "[source" not in config  # nothing to replace: no dependencies
    assert vendored.env() == {"CARGO_HOME": str(vendored.cargo_home), "CARGO_NET_OFFLINE": "true"}
    assert "cargo vendor" in log.getvalue()

    again = _crate(tmp_path / "again")  # the same manifests: taken from the cache, even offline
    log = io.StringIO()
    assert vendor_crates(again, tmp_path / "cache", tmp_path / "work2", log, offline=True, **RUST) is not None
    assert "cargo vendor" not in log.getvalue() and (again / "Cargo.lock").is_file()


@needs_cargo
def test_offline_with_crates_not_in_the_cache_names_the_tree(tmp_path):
    tree = _crate(tmp_path / "tiny-1.0")
    with pytest.raises(OfflineMiss, match=r"tiny-1.0: its Rust crates \(key [0-9a-f]{12}\) are not in the crate cache"):
        vendor_crates(tree, tmp_path / "cache", tmp_path / "work", io.StringIO(), offline=True, **RUST)


@needs_cargo
def test_a_failing_vendor_step_is_one_line_naming_the_tree(tmp_path):
    tree = _crate(tmp_path / "broken-1.0")
    (tree / "Cargo.toml").write_text(MANIFEST.format(name="broken") + '\n[dependencies]\nno-such-crate-anywhere = { path = "../missing" }\n')
    with pytest.raises(Exception, match=r"broken-1.0: cargo vendor failed before the build \(exit \d+\): "):
        vendor_crates(tree, tmp_path / "cache", tmp_path / "work", io.StringIO(), **RUST)
    assert not list((tmp_path / "cache").glob("*"))  # no half entry


@needs_cargo
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
    vendored = vendor_crates(tree, tmp_path / "cache", tmp_path / "work", io.StringIO(), **RUST)
    assert vendored is not None
    shutil.rmtree(dep)  # gone: only the vendored copy can serve it now
    build = subprocess.run(["unshare", "--net", "--", "cargo", "build", "--offline", "--manifest-path", str(tree / "Cargo.toml")],
                           capture_output=True, text=True, env={**os.environ, **vendored.env(), "CARGO_TARGET_DIR": str(tmp_path / "target")})
    assert build.returncode == 0, build.stderr
