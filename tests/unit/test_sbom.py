"""CycloneDX SBOMs: per-wheel and per-stack documents, schema-valid and deterministic, and PEP 770 embedding."""

from __future__ import annotations

import base64
import csv
import hashlib
import io
import json
import os
import subprocess
import sys
import zipfile
from dataclasses import replace
from pathlib import Path

import pytest
from cyclonedx.schema import SchemaVersion
from cyclonedx.validation.json import JsonStrictValidator

from wheelwright.errors import BuildError
from wheelwright.plan.graph import ROOT
from wheelwright.stages.licenses import LicenseFacts
from wheelwright.stages.sbom import (
    ComponentFacts,
    FileFacts,
    GraftedFacts,
    PatchFacts,
    SourceFacts,
    ToolFacts,
    WheelFacts,
    embed_sbom,
    finalize_wheel,
    stack_sbom,
    wheel_content_sha256,
    wheel_sbom,
)

EPOCH = 1700000000
STAMP = (2020, 2, 2, 12, 0, 0)


def h(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


@pytest.fixture(scope="module")
def validator() -> JsonStrictValidator:
    return JsonStrictValidator(SchemaVersion.V1_6)


def valid(validator: JsonStrictValidator, data: bytes) -> dict:
    error = validator.validate_str(data.decode())
    assert error is None, getattr(error.data, "message", error)  # the full error embeds the whole schema
    return json.loads(data)


def make_wheel(directory: Path, name: str = "tiny_pkg", version: str = "1.0") -> Path:
    """A real, installable pure-Python wheel with a correct RECORD and fixed timestamps."""
    dist_info = f"{name}-{version}.dist-info"
    files = {
        f"{name}/__init__.py": b"VALUE = 42\n",
        f"{name}/data.txt": b"payload\n",
        f"{name}/donn\u00e9es.bin": bytes(range(256)) * 4,  # stored, non-ASCII name: copied raw all the same
        f"{dist_info}/METADATA": f"Metadata-Version: 2.4\nName: {name}\nVersion: {version}\nLicense-Expression: MIT\n".encode(),
        f"{dist_info}/WHEEL": b"Wheel-Version: 1.0\nGenerator: test\nRoot-Is-Purelib: true\nTag: py3-none-any\n",
    }
    lines = []
    for path, data in files.items():
        digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
        lines.append(f"{path},sha256={digest},{len(data)}\n")
    files[f"{dist_info}/RECORD"] = ("".join(lines) + f"{dist_info}/RECORD,,\n").encode()
    wheel = directory / f"{name}-{version}-py3-none-any.whl"
    with zipfile.ZipFile(wheel, "w") as zf:
        for path, data in files.items():
            info = zipfile.ZipInfo(path, date_time=STAMP)
            info.compress_type = zipfile.ZIP_STORED if path.endswith(".bin") else zipfile.ZIP_DEFLATED
            info.external_attr = 0o100644 << 16
            zf.writestr(info, data)
    return wheel


def make_facts(**changes) -> WheelFacts:
    facts = WheelFacts(
        name="tiny_pkg",
        version="1.0",
        wheel_filename="tiny_pkg-1.0-py3-none-any.whl",
        wheel_sha256=h("wheel"),
        variant="rocm-7.1",
        archs=("gfx90a", "gfx942"),
        source=SourceFacts.sdist("https://files.pythonhosted.org/packages/xx/tiny_pkg-1.0.tar.gz", h("sdist")),
        patches=(PatchFacts(file_name="0001-fix-hip.patch", sha256=h("patch"), path="patches/tiny-pkg/0001-fix-hip.patch"),),
        build_dependencies=(
            ComponentFacts(name="setuptools", version="80.9.0", wheel_filename="setuptools-80.9.0-py3-none-any.whl",
                           sha256=h("setuptools"), variant="rocm-7.1"),
            ComponentFacts(name="numpy", version="2.1.0", wheel_filename="numpy-2.1.0-cp311-cp311-linux_x86_64.whl",
                           sha256=h("numpy"), variant="rocm-7.1"),
        ),
        toolchain=(ToolFacts(name="gcc", version="12.2.0"), ToolFacts(name="hipcc", version="7.1.0"),
                   ToolFacts(name="python", version="3.11.7")),
        constraints=(FileFacts(name="rocm-7.1.txt", sha256=h("constraints")),),
        grafted=(GraftedFacts(soname="libgfortran.so.5", sha256=h("gfortran"),
                              path_in_wheel="tiny_pkg.libs/libgfortran-040039e1.so.5.0.0", origin="/usr/lib64/libgfortran.so.5"),),
        runtime_dependencies=(
            ComponentFacts(name="numpy", version="2.1.0", wheel_filename="numpy-2.1.0-cp311-cp311-linux_x86_64.whl",
                           sha256=h("numpy"), variant="rocm-7.1"),
        ),
        license=LicenseFacts(expression="MIT", origin="License-Expression"),
        former_names=("tiny-old",),
        source_date_epoch=EPOCH,
    )
    return replace(facts, **changes)


def props(component: dict) -> dict[str, list[str]]:
    result: dict[str, list[str]] = {}
    for prop in component.get("properties", []):
        result.setdefault(prop["name"], []).append(prop["value"])
    return result


def by_ref(bom: dict) -> dict[str, dict]:
    return {c["bom-ref"]: c for c in bom["components"]}


def test_wheel_sbom_is_valid_cyclonedx_1_6_and_states_every_fact(validator):
    bom = valid(validator, wheel_sbom(make_facts()))
    assert bom["specVersion"] == "1.6" and bom["bomFormat"] == "CycloneDX"
    assert bom["metadata"]["timestamp"] == "2023-11-14T22:13:20+00:00"
    assert {t["name"] for t in bom["metadata"]["tools"]["components"]} == {"wheelwright", "cyclonedx-python-lib"}

    main = bom["metadata"]["component"]
    assert main["purl"] == "pkg:pypi/tiny-pkg@1.0?file_name=tiny_pkg-1.0-py3-none-any.whl&variant=rocm-7.1"
    assert main["hashes"] == [{"alg": "SHA-256", "content": h("wheel")}]
    assert main["licenses"] == [{"expression": "MIT", "acknowledgement": "declared"}]
    p = props(main)
    assert p["wheelwright:variant"] == ["rocm-7.1"] and p["wheelwright:archs"] == ["gfx90a,gfx942"]
    assert p["wheelwright:former-names"] == ["tiny-old"] and p["wheelwright:license-origin"] == ["License-Expression"]
    assert "wheelwright:license" not in p and "wheelwright:prebuilt" not in p

    (source,) = main["pedigree"]["ancestors"]
    assert source["hashes"] == [{"alg": "SHA-256", "content": h("sdist")}]
    assert source["externalReferences"][0]["type"] == "source-distribution"
    assert source["externalReferences"][0]["url"].endswith("tiny_pkg-1.0.tar.gz")
    assert source["purl"] == "pkg:pypi/tiny-pkg@1.0?file_name=tiny_pkg-1.0.tar.gz"
    (patch,) = main["pedigree"]["patches"]
    assert patch == {"type": "unofficial", "diff": {"url": f"patches/tiny-pkg/0001-fix-hip.patch#sha256={h('patch')}"}}
    assert p["wheelwright:patch"] == [f"0001-fix-hip.patch sha256:{h('patch')}"]

    components = by_ref(bom)
    grafted = components["grafted:tiny_pkg.libs/libgfortran-040039e1.so.5.0.0"]
    assert grafted["type"] == "library" and grafted["name"] == "libgfortran.so.5"
    assert grafted["hashes"] == [{"alg": "SHA-256", "content": h("gfortran")}]
    assert props(grafted)["wheelwright:origin-path"] == ["/usr/lib64/libgfortran.so.5"]

    numpy_ref = "pkg:pypi/numpy@2.1.0?file_name=numpy-2.1.0-cp311-cp311-linux_x86_64.whl&variant=rocm-7.1"
    assert components[numpy_ref]["scope"] == "required"
    assert components["build:" + numpy_ref]["scope"] == "excluded"  # the same wheel, also in the build env
    assert components["build:pkg:pypi/setuptools@80.9.0?file_name=setuptools-80.9.0-py3-none-any.whl&variant=rocm-7.1"]["scope"] == "excluded"
    tools = {c["name"]: c for c in bom["components"] if props(c)["wheelwright:role"] == ["toolchain"]}
    assert {n: c["version"] for n, c in tools.items()} == {"gcc": "12.2.0", "hipcc": "7.1.0", "python": "3.11.7"}
    assert all(c["scope"] == "excluded" for c in tools.values())
    constraints = components["constraints:rocm-7.1.txt"]
    assert constraints["type"] == "file" and constraints["hashes"][0]["content"] == h("constraints")

    graph = {d["ref"]: set(d.get("dependsOn", [])) for d in bom["dependencies"]}
    assert graph[main["bom-ref"]] == {numpy_ref, grafted["bom-ref"]}  # build-only components are not run-time deps


def test_git_source_prebuilt_unknown_licence_and_proprietary_graft(validator):
    facts = make_facts(
        source=SourceFacts.git("git+https://github.com/ROCm/aiter.git", "0123456789abcdef0123456789abcdef01234567", tag="v0.1.5"),
        license=LicenseFacts(expression=None, origin="unknown: no licence metadata"),
        grafted=(GraftedFacts(soname="libcudnn.so.9", sha256=h("cudnn"), path_in_wheel="tiny_pkg.libs/libcudnn-1a2b3c4d.so.9",
                              origin="/usr/local/cuda/lib64/libcudnn.so.9"),),
        patches=(), prebuilt=True,
    )
    bom = valid(validator, wheel_sbom(facts))
    main = bom["metadata"]["component"]
    assert "licenses" not in main  # CycloneDX has no "unknown" licence: absent, plus a property saying so
    assert props(main)["wheelwright:license"] == ["unknown"] and props(main)["wheelwright:prebuilt"] == ["true"]
    (source,) = main["pedigree"]["ancestors"]
    assert source["externalReferences"] == [
        {"type": "vcs", "url": "https://github.com/ROCm/aiter.git", "comment": "commit 0123456789abcdef0123456789abcdef01234567"}]
    assert source["version"] == "v0.1.5"
    assert "vcs_url=git%2Bhttps://github.com/ROCm/aiter.git%400123456789abcdef" in source["purl"]
    (graft,) = [c for c in bom["components"] if c["name"] == "libcudnn.so.9"]
    assert props(graft)["wheelwright:proprietary"] == ["NVIDIA: NVIDIA cuDNN Software License Agreement"]
    assert graft["licenses"] == [{"expression": "LicenseRef-NVIDIA-cuDNN-SLA", "acknowledgement": "concluded"}]
    assert "licenses" not in by_ref(valid(validator, wheel_sbom(make_facts())))["grafted:tiny_pkg.libs/libgfortran-040039e1.so.5.0.0"]


def test_same_facts_same_bytes_and_any_change_a_new_serial():
    first, second = wheel_sbom(make_facts()), wheel_sbom(make_facts())
    assert first == second
    serial = json.loads(first)["serialNumber"]
    assert serial.startswith("urn:uuid:")
    repatched = make_facts(patches=(PatchFacts(file_name="0001-fix-hip.patch", sha256=h("patch v2")),))
    assert json.loads(wheel_sbom(repatched))["serialNumber"] != serial
    later = json.loads(wheel_sbom(make_facts(source_date_epoch=EPOCH + 1)))
    assert later["serialNumber"] != serial and later["metadata"]["timestamp"] == "2023-11-14T22:13:21+00:00"
    # order of the facts' tuples does not matter to the document
    shuffled = make_facts(toolchain=tuple(reversed(make_facts().toolchain)))
    assert wheel_sbom(shuffled) == first


def test_facts_are_checked():
    with pytest.raises(ValueError, match="SHA-256"):
        make_facts(wheel_sha256="abc")
    with pytest.raises(ValueError, match="commit"):
        SourceFacts(kind="git", url="https://example.invalid/x.git")
    assert FileFacts(name="c.txt", sha256="sha256:" + h("x").upper()).sha256 == h("x")
    with pytest.raises(ValueError, match="content_sha256"):
        wheel_sbom(make_facts(), embedded=True)
    with pytest.raises(ValueError, match="bom-ref"):
        wheel_sbom(make_facts(constraints=make_facts().constraints * 2))


def record_rows(zf: zipfile.ZipFile, dist_info: str) -> list[list[str]]:
    return list(csv.reader(io.StringIO(zf.read(f"{dist_info}/RECORD").decode())))


def test_embed_sbom_adds_a_recorded_member_and_keeps_the_rest(tmp_path, validator):
    wheel = make_wheel(tmp_path)
    before = wheel.read_bytes()
    content = wheel_content_sha256(wheel)
    out = tmp_path / "out" / wheel.name
    published, facts, sbom = finalize_wheel(make_facts(wheel_sha256=h("pre-embed")), wheel, out)

    assert published == out and wheel.read_bytes() == before  # the input is untouched
    assert facts.wheel_sha256 == hashlib.sha256(out.read_bytes()).hexdigest() and facts.content_sha256 == content
    assert wheel_content_sha256(out) == content  # embedding changes nothing the digest covers

    dist_info = "tiny_pkg-1.0.dist-info"
    member = f"{dist_info}/sboms/wheelwright.cdx.json"
    with zipfile.ZipFile(wheel) as zin, zipfile.ZipFile(out) as zout:
        names_in, names_out = zin.namelist(), zout.namelist()
        assert names_out == names_in[:-1] + [member, names_in[-1]]  # order kept, SBOM just before RECORD
        for info in zin.infolist():
            copy = zout.getinfo(info.filename)
            assert (copy.date_time, copy.external_attr) == (info.date_time, info.external_attr)
            if not info.filename.endswith("RECORD"):
                assert zout.read(info.filename) == zin.read(info.filename)  # CRC-checked
                assert (copy.compress_type, copy.compress_size) == (info.compress_type, info.compress_size)
        assert zout.testzip() is None
        assert zout.getinfo(member).date_time == STAMP
        embedded = zout.read(member)
        for path, digest, size in record_rows(zout, dist_info):
            if path.endswith("/RECORD"):
                assert digest == size == ""
                continue
            data = zout.read(path)
            assert digest == "sha256=" + base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
            assert int(size) == len(data)
        assert [r[0] for r in record_rows(zout, dist_info)][-2:] == [member, f"{dist_info}/RECORD"]

    inside = valid(validator, embedded)
    main = inside["metadata"]["component"]
    assert "hashes" not in main and props(main)["wheelwright:content-sha256"] == [content]
    assert props(inside["metadata"])["wheelwright:sbom-copy"] == ["embedded"]
    outside = valid(validator, sbom)
    assert outside["metadata"]["component"]["hashes"] == [{"alg": "SHA-256", "content": facts.wheel_sha256}]
    assert props(outside["metadata"]["component"])["wheelwright:content-sha256"] == [content]

    # deterministic, and re-embedding replaces the old copy instead of adding a second one
    again = tmp_path / "again.whl"
    finalize_wheel(make_facts(wheel_sha256=h("pre-embed")), wheel, again)
    assert again.read_bytes() == out.read_bytes()
    twice = embed_sbom(out, b'{"x": 1}\n', tmp_path / "twice.whl")
    with zipfile.ZipFile(twice) as zf:
        assert zf.namelist().count(member) == 1 and zf.read(member) == b'{"x": 1}\n'
        assert sum(r[0] == member for r in record_rows(zf, dist_info)) == 1


def test_embed_sbom_refuses_wheels_it_cannot_update(tmp_path):
    broken = tmp_path / "broken-1.0-py3-none-any.whl"
    with zipfile.ZipFile(broken, "w") as zf:
        zf.writestr("broken/__init__.py", "")
    with pytest.raises(BuildError, match="RECORD"):
        embed_sbom(broken, b"{}", tmp_path / "out.whl")
    assert not (tmp_path / "out.whl").exists()
    with pytest.raises(ValueError):
        embed_sbom(make_wheel(tmp_path), b"{}", tmp_path / "out.whl", filename="../evil.json")


def test_wheel_with_embedded_sbom_installs_and_is_visible(tmp_path):
    wheel = make_wheel(tmp_path)
    out, _, _ = finalize_wheel(make_facts(), wheel, tmp_path / "dist" / wheel.name)
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    python = str(venv / "bin" / "python")
    env = {k: v for k, v in os.environ.items() if not k.startswith("PIP_")} | {"PIP_CONFIG_FILE": "/dev/null"}
    subprocess.run([python, "-m", "pip", "install", "--no-index", "--no-cache-dir", "--quiet", str(out)],
                   check=True, env=env)
    shown = subprocess.run([python, "-m", "pip", "show", "-f", "tiny_pkg"], check=True, env=env,
                           capture_output=True, text=True).stdout
    assert "tiny_pkg-1.0.dist-info/sboms/wheelwright.cdx.json" in shown
    probe = ("import importlib.metadata as m, json; d = m.distribution('tiny_pkg');"
             "f = [p for p in d.files if p.parts[-2:] == ('sboms', 'wheelwright.cdx.json')][0];"
             "print(json.loads(f.read_text())['metadata']['component']['name'])")
    assert subprocess.run([python, "-c", probe], check=True, capture_output=True, text=True).stdout.strip() == "tiny_pkg"


def test_stack_sbom_lists_every_wheel_and_the_runtime_graph(validator):
    numpy = make_facts(name="numpy", version="2.1.0", wheel_filename="numpy-2.1.0-cp311-cp311-linux_x86_64.whl",
                       wheel_sha256=h("numpy"), runtime_dependencies=(), former_names=(), patches=(),
                       source=SourceFacts.sdist("https://example.invalid/numpy-2.1.0.tar.gz", h("numpy sdist")),
                       grafted=(GraftedFacts(soname="libgfortran.so.5", sha256=h("gfortran"),
                                             path_in_wheel="numpy.libs/libgfortran-040039e1.so.5.0.0", origin="/usr/lib64/libgfortran.so.5"),))
    tiny = make_facts()
    edges = [(ROOT, "tiny_pkg==1.0"), ("tiny-pkg==1.0", "numpy==2.1.0")]
    data = stack_sbom("rocm-7.1", [tiny, numpy], edges, EPOCH)
    assert data == stack_sbom("rocm-7.1", [numpy, tiny], list(reversed(edges)), EPOCH)
    bom = valid(validator, data)
    main = bom["metadata"]["component"]
    assert main["name"] == "wheelwright-stack" and main["version"] == "rocm-7.1"
    wheels = {c["name"]: c for c in bom["components"] if props(c).get("wheelwright:role") == ["wheel"]}
    assert set(wheels) == {"numpy", "tiny_pkg"}
    assert wheels["numpy"]["hashes"][0]["content"] == h("numpy") and "variant=rocm-7.1" in wheels["numpy"]["purl"]
    assert wheels["tiny_pkg"]["pedigree"]["patches"]
    graph = {d["ref"]: set(d.get("dependsOn", [])) for d in bom["dependencies"]}
    assert graph[main["bom-ref"]] == {wheels["tiny_pkg"]["bom-ref"]}
    numpy_graft = wheels["numpy"]["bom-ref"] + "#grafted:numpy.libs/libgfortran-040039e1.so.5.0.0"
    assert graph[wheels["tiny_pkg"]["bom-ref"]] == {wheels["numpy"]["bom-ref"], wheels["tiny_pkg"]["bom-ref"] + "#grafted:tiny_pkg.libs/libgfortran-040039e1.so.5.0.0"}
    assert graph[wheels["numpy"]["bom-ref"]] == {numpy_graft}
    # toolchain and constraints shared by both wheels are listed once
    assert [c["name"] for c in bom["components"]].count("gcc") == 1
    with pytest.raises(ValueError, match="not one of its wheels"):
        stack_sbom("rocm-7.1", [tiny], [(ROOT, "torch==2.9.0")], EPOCH)
