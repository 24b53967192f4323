"""Proprietary vendor packages a variant declares prebuilt: taken as-is from the vendor index, marked
prebuilt in the graph, report and SBOM, and never mixed into a variant that does not declare them."""

from __future__ import annotations

import hashlib
import json
import zipfile

from fakepypi import FakeProject


def _declare_prebuilt(workspace, url: str) -> None:
    path = workspace.root / "variants.toml"
    text = path.read_text().replace('prebuilt = ["libtpu"]\nprebuilt_index = "https://pypi.org/simple"',
                                    f'prebuilt = ["vendorlib"]\nprebuilt_index = "{url}"')
    assert "vendorlib" in text
    path.write_text(text)


def test_prebuilt_vendor_wheel_is_used_as_is_and_marked(workspace, fake_pypi, capsys):
    fake_pypi.add(FakeProject("app", requires_dist=["vendorlib>=1"]), FakeProject("helper"))
    vendor_file = fake_pypi.add_wheel("vendorlib", "1.2", ["helper"])
    vendor_bytes = fake_pypi.files[vendor_file]
    _declare_prebuilt(workspace, fake_pypi.url)
    run = workspace.build(capsys, "app", variant="tpu")
    assert run.code == 0, run.err
    output = workspace.root / "build" / "tpu-2.9"
    nodes = json.loads((output / "report.json").read_text())["nodes"]
    assert nodes["vendorlib==1.2"]["status"] == "prebuilt" and nodes["app==1.0"]["status"] == "built"
    assert nodes["helper==1.0"]["status"] == "built"  # its own dependencies are still built from source
    (published,) = (output / "simple" / "vendorlib").glob("*.whl")
    assert hashlib.sha256(published.read_bytes()).hexdigest() == hashlib.sha256(vendor_bytes).hexdigest()  # the vendor's bytes
    with zipfile.ZipFile(published) as zf:
        assert not [n for n in zf.namelist() if "/sboms/" in n]
    graph = json.loads((output / "graph.json").read_text())
    assert next(n for n in graph["nodes"] if n["name"] == "vendorlib")["source"]["kind"] == "prebuilt"
    sbom = json.loads((workspace.root / "build" / "tpu-2.9" / "sbom" / f"{published.name}.cdx.json").read_text())
    assert {"name": "wheelwright:prebuilt", "value": "true"} in sbom["metadata"]["component"]["properties"]
    assert "prebuilt vendorlib==1.2" in run.err


def test_a_variant_that_does_not_declare_it_never_takes_the_vendor_wheel(workspace, fake_pypi, capsys):
    fake_pypi.add(FakeProject("app", requires_dist=["vendorlib>=1"]))
    fake_pypi.add_wheel("vendorlib", "1.2", [])
    _declare_prebuilt(workspace, fake_pypi.url)
    run = workspace.build(capsys, "app", variant="cpu")
    assert run.code == 2
    assert "vendorlib" in run.error and "no sdist" in run.error
    assert not (workspace.root / "build" / "cpu" / "simple" / "vendorlib").exists()


def test_patterns_and_rows_declare_prebuilt_and_a_vendor_wheel_keeps_its_own_requirements(workspace, fake_pypi, capsys):
    """cuda 13.0 takes `nvidia-*` and torch as vendor wheels (a row's list beside the family's); a recipe's dropped
    requirements do not apply to a wheel that is published unchanged: its Requires-Dist is what pip installs."""
    from wheelwright.config.variants import load_variants, select_variant

    cuda = select_variant(load_variants(workspace.root / "variants.toml"), "cuda", "13.0")
    assert cuda.takes_prebuilt("nvidia-cublas") and cuda.takes_prebuilt("NVIDIA_cudnn_cu13") and cuda.takes_prebuilt("torch")
    assert not cuda.takes_prebuilt("numpy") and not select_variant(load_variants(workspace.root / "variants.toml"), "cuda", "12.9").takes_prebuilt("torch")
    fake_pypi.add(FakeProject("app", requires_dist=["vendorlib>=1"]), FakeProject("helper"))
    fake_pypi.add_wheel("vendorlib", "1.2", ["helper", "nvidia-thing"])
    fake_pypi.add_wheel("nvidia-thing", "3.0", [])
    path = workspace.root / "variants.toml"
    path.write_text(path.read_text().replace('prebuilt = ["libtpu"]\nprebuilt_index = "https://pypi.org/simple"',
                                             f'prebuilt = ["vendorlib", "nvidia-*"]\nprebuilt_index = "{fake_pypi.url}"'))
    workspace.write("recipes/vendorlib.py", "from wheelwright import Recipe\nrecipe = Recipe('vendorlib')\n\n@recipe.drop_requires('tpu')\n"
                                            "def drop(ctx):\n    return ['nvidia-*']\n")
    run = workspace.build(capsys, "app", variant="tpu")
    assert run.code == 0, run.err
    nodes = json.loads((workspace.root / "build" / "tpu-2.9" / "report.json").read_text())["nodes"]
    assert nodes["nvidia-thing==3.0"]["status"] == "prebuilt" and nodes["vendorlib==1.2"]["status"] == "prebuilt"
