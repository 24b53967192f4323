"""A real Rust extension (safetensors 0.2.8: setuptools-rust + pyo3) built from its PyPI sdist with no
network in the build: its crates are vendored first, from the crate source cargo is configured with.

crates.io is out of reach on this machine, so cargo's own source replacement points crates-io at Debian's
crate registry (apt's librust-*-dev packages, installed by .ci/run), as an air-gapped shop points it at
its mirror. Wheelwright itself is not told anything: it runs `cargo vendor` with the engine's cargo
configuration, then builds with a CARGO_HOME that allows only the vendored directory.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
from helpers import SHARED_CACHE, copy_project, isolated_install

REGISTRY = Path(os.environ.get("WHEELWRIGHT_TEST_CRATE_REGISTRY", "/usr/share/cargo/registry"))
NEEDED = ("pyo3-0.17", "memmap2-0.5", "serde_json-1", "libloading-0.7", "serde_derive-1")

pytestmark = [
    pytest.mark.xdist_group("rust"),
    pytest.mark.skipif(not all(any(REGISTRY.glob(f"{c}*")) for c in NEEDED),
                       reason=f"{REGISTRY} lacks the crates (apt-get install librust-pyo3-dev librust-memmap2-dev "
                              "librust-serde-json-dev librust-libloading-dev librust-serde-derive-dev; .ci/run does)"),
]


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    root = tmp_path_factory.mktemp("rust")
    cargo_home = root / "cargo-home"
    cargo_home.mkdir()
    (cargo_home / "config.toml").write_text(f'[source.crates-io]\nreplace-with = "mirror"\n\n[source.mirror]\ndirectory = "{REGISTRY}"\n')
    project = copy_project(root / "project")
    output = root / "out"
    command = [sys.executable, "-m", "wheelwright", "--project", str(project), "build", "--output-dir", str(output),
               "--cache-dir", str(SHARED_CACHE), "--sbom-dir", str(root / "sbom"), "safetensors==0.2.8"]
    run = subprocess.run(command, capture_output=True, text=True, timeout=1800, env={**os.environ, "CARGO_HOME": str(cargo_home)})
    assert run.returncode == 0, run.stderr[-3000:]
    return root, output


def test_the_rust_extension_is_built_offline_and_works(built, tmp_path):
    root, output = built
    report = json.loads((output / "report.json").read_text())
    assert report["network"].startswith("isolated")
    [wheel] = (output / "simple" / "safetensors").glob("*.whl")
    assert any(n.endswith(".so") and "safetensors_rust" in n for n in zipfile.ZipFile(wheel).namelist())
    log = (output / "logs" / "safetensors-0.2.8.log").read_text()
    vendored = re.search(r"# vendored (\d+) crates from \S+; the build gets CARGO_HOME=\S+ \(offline\)", log)
    assert vendored and int(vendored.group(1)) >= 25, log[:2000]  # pyo3, serde, memmap2… (a warm cache skips cargo vendor)
    python = isolated_install(tmp_path, output / "simple", "safetensors==0.2.8")
    code = ("from safetensors import safetensors_rust as r; "
            "b = r.serialize({'x': {'dtype': 'float32', 'shape': [2], 'data': b'\\x00\\x00\\x80?\\x00\\x00\\x00@'}}, None); "
            "print(r.deserialize(bytes(b)))")
    out = subprocess.run([str(python), "-c", code], capture_output=True, text=True, check=True).stdout
    assert "'shape': [2]" in out and "F32" in out


def test_the_sbom_lists_every_vendored_crate(built):
    root, output = built
    [sbom] = (root / "sbom").glob("safetensors-0.2.8-*.cdx.json")
    components = json.loads(sbom.read_text())["components"]
    crates = {c["name"]: c for c in components if {"name": "wheelwright:role", "value": "vendored-crate"} in c.get("properties", [])}
    assert {"pyo3", "pyo3-ffi", "serde_json", "memmap2", "libloading"} <= set(crates)
    assert crates["pyo3"]["purl"].startswith("pkg:cargo/pyo3@0.17.") and crates["pyo3"]["scope"] == "required"


@pytest.mark.skipif(subprocess.run(["unshare", "--net", "true"], capture_output=True).returncode != 0, reason="needs unshare --net")
def test_offline_the_crates_come_from_the_cache(built, tmp_path):
    """The GPU machine case: no network for the whole run, crates included."""
    root, _ = built
    command = [sys.executable, "-m", "wheelwright", "--project", str(root / "project"), "build", "--offline", "--output-dir",
               str(tmp_path / "out"), "--cache-dir", str(SHARED_CACHE), "--sbom-dir", str(tmp_path / "sbom"), "safetensors==0.2.8"]
    run = subprocess.run(["unshare", "--net", "--", *command], capture_output=True, text=True, timeout=1800,
                         env={k: v for k, v in os.environ.items() if k != "CARGO_HOME"})  # not even the mirror's config
    assert run.returncode == 0, run.stderr[-3000:]

    def crates(sbom_dir):
        [sbom] = sbom_dir.glob("safetensors-0.2.8-*.cdx.json")
        return sorted(c["purl"] for c in json.loads(sbom.read_text())["components"] if c.get("purl", "").startswith("pkg:cargo/"))

    assert crates(tmp_path / "sbom") == crates(root / "sbom") and len(crates(root / "sbom")) >= 25
