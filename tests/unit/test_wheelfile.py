"""rewrite_requires_dist: recipe add/drop decisions land in METADATA, and nothing else in the wheel moves."""

from __future__ import annotations

import base64
import csv
import hashlib
import io
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from wheelwright.errors import BuildError
from wheelwright.stages.wheelfile import rewrite_requires_dist

DIST_INFO = "demo-1.0.dist-info"
HEAD = (
    "Metadata-Version: 2.1\n"
    "Name: demo\n"
    "Version: 1.0\n"
    "Summary: A demo package,\n"
    "  folded onto a second line\n"
    "Requires-Dist: torch>=2.4\n"
    'Requires-Dist: nvidia-cublas-cu12==12.4.5.8; platform_system == "Linux"\n'
    "Requires-Dist: nvidia_cudnn_cu12\n"
    "Provides-Extra: cuda\n"
    'Requires-Dist: numpy; extra == "cuda"\n'
)
BODY = "\nA long description.\n\nRequires-Dist: nvidia-fake (body text, not a header)\n"
METADATA = HEAD + BODY
WHEEL = "Wheel-Version: 1.0\nGenerator: test\nRoot-Is-Purelib: true\nTag: py3-none-any\n"
ROCM = 'amd-aiter>=0.1; platform_machine == "x86_64"'


def _hash(data: bytes) -> str:
    return "sha256=" + base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()


def make_wheel(path: Path, metadata: str = METADATA, extra: dict[str, bytes] | None = None) -> Path:
    """A tiny but complete wheel: a module, METADATA, WHEEL and a correct RECORD, each with its own timestamp."""
    members = {"demo/__init__.py": b"VALUE = 42\n" * 50, "demo/data.bin": bytes(range(256)), f"{DIST_INFO}/METADATA": metadata.encode(), f"{DIST_INFO}/WHEEL": WHEEL.encode(), **(extra or {})}
    record = io.StringIO()
    writer = csv.writer(record, lineterminator="\n")
    for name, data in members.items():
        writer.writerow([name, _hash(data), len(data)])
    writer.writerow([f"{DIST_INFO}/RECORD", "", ""])
    members[f"{DIST_INFO}/RECORD"] = record.getvalue().encode()
    with zipfile.ZipFile(path, "w") as zf:
        for index, (name, data) in enumerate(members.items()):
            info = zipfile.ZipInfo(name, date_time=(2020, 1 + index, 2, 3, 4, 6))
            info.compress_type = zipfile.ZIP_STORED if name.endswith(".bin") else zipfile.ZIP_DEFLATED
            info.create_system, info.external_attr = 3, (0o100755 if name.endswith(".bin") else 0o100644) << 16
            zf.writestr(info, data)
    return path


def check_record(wheel: Path) -> None:
    """What an installer that verifies RECORD would do: every member listed, with its true hash and size."""
    with zipfile.ZipFile(wheel) as zf:
        rows = {row[0]: row[1:] for row in csv.reader(io.StringIO(zf.read(f"{DIST_INFO}/RECORD").decode()))}
        for info in zf.infolist():
            if info.filename == f"{DIST_INFO}/RECORD":
                continue
            data = zf.read(info)
            assert rows[info.filename] == [_hash(data), str(len(data))], info.filename
        assert zf.testzip() is None


def read(wheel: Path, name: str = f"{DIST_INFO}/METADATA") -> str:
    with zipfile.ZipFile(wheel) as zf:
        return zf.read(name).decode()


@pytest.fixture
def wheel(tmp_path: Path) -> Path:
    return make_wheel(tmp_path / "demo-1.0-py3-none-any.whl")


def test_add_and_drop_rewrite_only_requires_dist(wheel: Path, tmp_path: Path) -> None:
    out = tmp_path / "out" / wheel.name
    result = rewrite_requires_dist(wheel, out, add=[ROCM], drop=["nvidia-*"])
    assert result == ("torch>=2.4", 'numpy; extra == "cuda"', ROCM)
    expected = (
        "Metadata-Version: 2.1\nName: demo\nVersion: 1.0\nSummary: A demo package,\n  folded onto a second line\n"
        f'Requires-Dist: torch>=2.4\nProvides-Extra: cuda\nRequires-Dist: numpy; extra == "cuda"\nRequires-Dist: {ROCM}\n'
    )
    assert read(out) == expected + BODY  # the body, with its header-like line, is untouched
    check_record(out)
    assert read(wheel) == METADATA  # the input is never changed


def test_other_members_keep_bytes_order_and_attributes(wheel: Path, tmp_path: Path) -> None:
    out = tmp_path / "out.whl"
    rewrite_requires_dist(wheel, out, add=["amd-aiter"], drop=[])
    with zipfile.ZipFile(wheel) as before, zipfile.ZipFile(out) as after:
        assert before.namelist() == after.namelist()
        for old, new in zip(before.infolist(), after.infolist(), strict=True):
            attrs = ("date_time", "compress_type", "external_attr", "create_system")
            assert [getattr(old, a) for a in attrs] == [getattr(new, a) for a in attrs], old.filename
            if not old.filename.endswith(("/METADATA", "/RECORD")):
                assert before.read(old) == after.read(new)
                assert (old.CRC, old.compress_size) == (new.CRC, new.compress_size)  # copied, not recompressed
    old_record, new_record = read(wheel, f"{DIST_INFO}/RECORD").splitlines(), read(out, f"{DIST_INFO}/RECORD").splitlines()
    assert [line for line in old_record if "/METADATA," not in line] == [line for line in new_record if "/METADATA," not in line]
    check_record(out)


def test_output_is_deterministic_and_may_replace_the_input(wheel: Path, tmp_path: Path) -> None:
    first, second = tmp_path / "a.whl", tmp_path / "b.whl"
    rewrite_requires_dist(wheel, first, add=[ROCM], drop=["nvidia-*"])
    rewrite_requires_dist(wheel, second, add=[ROCM], drop=["nvidia-*"])
    assert first.read_bytes() == second.read_bytes()
    rewrite_requires_dist(wheel, wheel, add=[ROCM], drop=["nvidia-*"])
    assert wheel.read_bytes() == first.read_bytes()
    assert [p.name for p in tmp_path.iterdir() if p.name.endswith(".tmp")] == []


def test_no_change_writes_nothing(wheel: Path, tmp_path: Path) -> None:
    out = tmp_path / "out.whl"
    result = rewrite_requires_dist(wheel, out, add=["torch >= 2.4"], drop=["cuda-*", "tensorflow"])
    assert result == ("torch>=2.4", 'nvidia-cublas-cu12==12.4.5.8; platform_system == "Linux"', "nvidia_cudnn_cu12", 'numpy; extra == "cuda"')
    assert not out.exists()


def test_drop_pattern_separators_are_canonicalized(wheel: Path, tmp_path: Path) -> None:
    out = tmp_path / "out.whl"
    assert rewrite_requires_dist(wheel, out, add=[], drop=["NVIDIA_*"]) == ("torch>=2.4", 'numpy; extra == "cuda"')
    assert "nvidia" not in read(out).split("\n\n", 1)[0]
    check_record(out)


def test_add_goes_after_last_header_when_no_requires_dist_remains(tmp_path: Path) -> None:
    wheel = make_wheel(tmp_path / "demo-1.0-py3-none-any.whl", "Metadata-Version: 2.1\r\nName: demo\r\nVersion: 1.0\r\nRequires-Dist: torch\r\n\r\nbody\r\n")
    out = tmp_path / "out.whl"
    assert rewrite_requires_dist(wheel, out, add=["amd-aiter"], drop=["torch"]) == ("amd-aiter",)
    assert read(out) == "Metadata-Version: 2.1\r\nName: demo\r\nVersion: 1.0\r\nRequires-Dist: amd-aiter\r\n\r\nbody\r\n"
    check_record(out)


def test_malformed_add_is_named(wheel: Path, tmp_path: Path) -> None:
    with pytest.raises(BuildError, match="amd aiter >= ="):
        rewrite_requires_dist(wheel, tmp_path / "out.whl", add=["amd aiter >= ="], drop=[])
    assert not (tmp_path / "out.whl").exists()


def test_signed_record_is_refused(tmp_path: Path) -> None:
    wheel = make_wheel(tmp_path / "demo-1.0-py3-none-any.whl", extra={f"{DIST_INFO}/RECORD.jws": b"{}"})
    with pytest.raises(BuildError, match="signed"):
        rewrite_requires_dist(wheel, tmp_path / "out.whl", add=["amd-aiter"], drop=[])
    assert rewrite_requires_dist(wheel, tmp_path / "out.whl", add=[], drop=["tensorflow"])[0] == "torch>=2.4"  # nothing to change: fine
    assert not (tmp_path / "out.whl").exists()


def test_needs_exactly_one_dist_info(tmp_path: Path) -> None:
    wheel = make_wheel(tmp_path / "demo-1.0-py3-none-any.whl", extra={"other-2.0.dist-info/RECORD": b""})
    with pytest.raises(BuildError, match=r"demo-1\.0-py3-none-any\.whl.*found 2"):
        rewrite_requires_dist(wheel, tmp_path / "out.whl", add=["amd-aiter"], drop=[])


def test_pip_installs_the_rewritten_wheel(wheel: Path, tmp_path: Path) -> None:
    out = tmp_path / "dist" / wheel.name
    rewrite_requires_dist(wheel, out, add=[ROCM], drop=["nvidia-*"])
    check_record(out)
    target = tmp_path / "site"
    subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "--no-index", "--no-deps", "--disable-pip-version-check", "--target", str(target), str(out)], check=True)
    assert (target / "demo" / "__init__.py").read_bytes() == b"VALUE = 42\n" * 50
    installed = (target / DIST_INFO / "METADATA").read_text()
    assert f"Requires-Dist: {ROCM}\n" in installed and "nvidia-cublas" not in installed


def test_an_add_wins_over_a_drop_and_keeps_its_place(wheel: Path, tmp_path: Path) -> None:
    out = tmp_path / "out.whl"
    kept = 'nvidia-cublas-cu12==12.4.5.8; platform_system == "Linux"'
    assert rewrite_requires_dist(wheel, out, add=[kept], drop=["nvidia-*"]) == ("torch>=2.4", kept, 'numpy; extra == "cuda"')
    assert read(out) == METADATA.replace("Requires-Dist: nvidia_cudnn_cu12\n", "")
