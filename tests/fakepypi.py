"""A tiny PEP 691 index on loopback, serving sdists of fake projects made inside the tests.

Each fake project carries its own in-tree PEP 517 backend (stdlib only), driven by ``fake.json``:
it can declare dynamic build requirements, import its build requirements (proving they were
installed), print its environment, or fail in the ways real backends fail.
"""

from __future__ import annotations

import hashlib
import io
import json
import tarfile
import threading
import zipfile
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from packaging.utils import canonicalize_name

BACKEND = r'''
import base64, hashlib, json, os, pathlib, zipfile

CFG = json.loads(pathlib.Path("fake.json").read_text())


def get_requires_for_build_wheel(config_settings=None):
    if CFG.get("fail") == "requires":
        raise RuntimeError("fake backend exploded in get_requires_for_build_wheel")
    return CFG.get("dynamic", [])


if CFG.get("prepare_metadata"):
    def prepare_metadata_for_build_wheel(metadata_directory, config_settings=None):
        info = f"{CFG['name'].replace('-', '_')}-{CFG['version']}.dist-info"
        os.makedirs(os.path.join(metadata_directory, info))
        metadata = f"Metadata-Version: 2.1\nName: {CFG['name']}\nVersion: {CFG['version']}\n"
        metadata += "".join(f"Requires-Dist: {r}\n" for r in CFG.get("requires_dist", []))
        pathlib.Path(metadata_directory, info, "METADATA").write_text(metadata)
        return info


def build_wheel(wheel_directory, config_settings=None, metadata_directory=None):
    if CFG.get("fetch"):  # a build that downloads code in the middle
        import urllib.request
        print(f"downloading {CFG['fetch']}", flush=True)
        urllib.request.urlopen(CFG["fetch"], timeout=10).read()
    if CFG.get("sleep"):
        import time
        time.sleep(CFG["sleep"])
    for module in CFG.get("imports", []):
        __import__(module)
    if CFG.get("print_env"):
        for key in sorted(os.environ):
            print(f"ENV {key}={os.environ[key]}")
        print(f"CONFIG_SETTINGS {json.dumps(config_settings, sort_keys=True)}")
    if CFG.get("fail") == "build":
        print("compiling...\nerror: fake compiler failed on line 42")
        raise SystemExit(3)
    if CFG.get("fail") == "nowheel":
        return "nothing-0-py3-none-any.whl"
    name, version = CFG["name"], CFG["version"]
    dist = name.replace("-", "_")
    info = f"{dist}-{version}.dist-info"
    metadata = f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n"
    metadata += "".join(f"Requires-Dist: {r}\n" for r in CFG.get("requires_dist", []))
    embedded = {f"{dist}/embedded/{var}.txt": pathlib.Path(os.environ[var], rel).read_text() for var, rel in CFG.get("embed", {}).items()}
    files = {
        **embedded,
        f"{dist}/__init__.py": pathlib.Path("payload.txt").read_text(),
        f"{info}/METADATA": metadata,
        f"{info}/WHEEL": "Wheel-Version: 1.0\nGenerator: fake\nRoot-Is-Purelib: true\nTag: py3-none-any\n",
    }
    for leak in CFG.get("leak", []):  # what an unreproducible build lets into its wheel
        import socket
        files[f"{dist}/leak_{leak}.txt"] = {"cwd": os.getcwd(), "hostname": socket.gethostname(), "tz": os.environ.get("TZ", ""),
                                           "user": os.environ.get("USER", "")}.get(leak, "")
    record = ""
    for path, text in files.items():
        digest = base64.urlsafe_b64encode(hashlib.sha256(text.encode()).digest()).rstrip(b"=").decode()
        record += f"{path},sha256={digest},{len(text.encode())}\n"
    files[f"{info}/RECORD"] = record + f"{info}/RECORD,,\n"
    filename = f"{dist}-{version}-py3-none-any.whl"
    with zipfile.ZipFile(os.path.join(wheel_directory, filename), "w") as zf:
        for path, text in files.items():
            info = zipfile.ZipInfo(path, (1980, 1, 1, 0, 0, 0))
            if "umask" in CFG.get("leak", []):  # the mode a file written under the builder's umask has, as setuptools records it
                info.create_system, info.external_attr = 3, (0o100666 & ~os.umask(os.umask(0))) << 16
            zf.writestr(info, text)
    return filename
'''


@dataclass
class FakeProject:
    name: str
    version: str = "1.0"
    build_requires: list[str] = field(default_factory=list)
    dynamic: list[str] = field(default_factory=list)
    requires_dist: list[str] = field(default_factory=list)
    imports: list[str] = field(default_factory=list)
    fail: str | None = None
    print_env: bool = False
    payload: str = "VALUE = 1\n"
    yanked: bool = False
    sleep: float = 0.0
    prepare_metadata: bool = False
    fetch: str = ""
    embed: dict[str, str] = field(default_factory=dict)  # env var -> a file under the directory it names, copied into the wheel
    leak: list[str] = field(default_factory=list)  # cwd, hostname, tz, user, umask: what the build lets into its wheel

    def sdist(self) -> tuple[str, bytes]:
        dist = self.name.replace("-", "_")
        root = f"{dist}-{self.version}"
        config = {k: getattr(self, k) for k in ("name", "version", "dynamic", "requires_dist", "imports", "fail", "print_env", "sleep", "prepare_metadata", "fetch", "embed", "leak")}
        pyproject = (
            "[build-system]\n"
            f"requires = {json.dumps(self.build_requires)}\n"
            'build-backend = "fakebackend"\n'
            'backend-path = ["_backend"]\n'
        )
        members = {
            "pyproject.toml": pyproject,
            "fake.json": json.dumps(config),
            "payload.txt": self.payload,
            "_backend/fakebackend.py": BACKEND,
            "PKG-INFO": f"Metadata-Version: 2.1\nName: {self.name}\nVersion: {self.version}\n",
        }
        return f"{root}.tar.gz", sdist_bytes(root, members)


def sdist_bytes(root: str, members: dict[str, str]) -> bytes:
    """A .tar.gz of text files under one top directory, with fixed times: what a test's fake sdist is."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
        for path, text in members.items():
            data = text.encode()
            info = tarfile.TarInfo(f"{root}/{path}")
            info.size = len(data)
            info.mtime = 315532800
            tar.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


class FakePyPI:
    """Serve projects at http://127.0.0.1:PORT/simple/ (JSON) and /files/ (sdists)."""

    def __init__(self) -> None:
        self.files: dict[str, bytes] = {}
        self.pages: dict[str, list[dict]] = {}
        self.bad_hash: set[str] = set()
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args) -> None:  # keep test output clean
                pass

            def do_GET(self) -> None:
                parts = [p for p in self.path.split("/") if p]
                if len(parts) == 2 and parts[0] == "simple" and parts[1] in owner.pages:
                    body = json.dumps({"meta": {"api-version": "1.1"}, "name": parts[1], "files": owner.pages[parts[1]]}).encode()
                    self._send(200, body, "application/vnd.pypi.simple.v1+json")
                elif len(parts) == 2 and parts[0] == "files" and parts[1] in owner.files:
                    self._send(200, owner.files[parts[1]], "application/octet-stream")
                else:
                    self._send(404, b"not found", "text/plain")

            def _send(self, code: int, body: bytes, kind: str) -> None:
                self.send_response(code)
                self.send_header("Content-Type", kind)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_port}/simple"

    def add(self, *projects: FakeProject) -> None:
        for project in projects:
            filename, data = project.sdist()
            self.files[filename] = data
            sha = hashlib.sha256(data).hexdigest()
            if project.name in self.bad_hash:
                sha = "0" * 64
            entry = {"filename": filename, "url": f"http://127.0.0.1:{self.server.server_port}/files/{filename}",
                     "hashes": {"sha256": sha}, "requires-python": ">=3.8", "yanked": project.yanked}
            page = [e for e in self.pages.get(project.name, []) if e["filename"] != filename]
            self.pages[project.name] = page + [entry]

    def add_file(self, name: str, filename: str, data: bytes, *, yanked: bool = False, metadata: bytes | None = None,
                 requires_python: str | None = ">=3.8") -> None:
        """Serve any file on ``name``'s page; ``metadata`` is also served as PEP 658 ``<file>.metadata``."""
        key = canonicalize_name(name)
        self.files[filename] = data
        entry = {"filename": filename, "url": f"http://127.0.0.1:{self.server.server_port}/files/{filename}",
                 "hashes": {"sha256": hashlib.sha256(data).hexdigest()}, "requires-python": requires_python, "yanked": yanked}
        if metadata is not None:
            self.files[f"{filename}.metadata"] = metadata
            entry["core-metadata"] = {"sha256": hashlib.sha256(metadata).hexdigest()}
        self.pages[key] = [e for e in self.pages.get(key, []) if e["filename"] != filename] + [entry]

    def add_wheel(self, name: str, version: str, requires_dist: list[str] | None = None, *, tag: str = "py3-none-any",
                  yanked: bool = False) -> str:
        """A minimal wheel whose METADATA declares ``requires_dist``, with its PEP 658 metadata beside it."""
        filename, data, metadata = wheel_file(name, version, requires_dist or [], tag)
        self.add_file(name, filename, data, yanked=yanked, metadata=metadata)
        return filename

    def add_sdist_with_pkg_info(self, name: str, version: str, requires_dist: list[str] | None = None, *,
                                metadata_version: str = "2.2", dynamic: list[str] | None = None) -> str:
        """An sdist (no build backend) whose PKG-INFO carries the given core metadata."""
        dist = name.replace("-", "_")
        pkg_info = _core_metadata(name, version, requires_dist or [], metadata_version, dynamic or [])
        buffer = io.BytesIO()
        with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
            for path, text in {"PKG-INFO": pkg_info, "setup.py": "raise SystemExit('not for building')\n"}.items():
                info = tarfile.TarInfo(f"{dist}-{version}/{path}")
                info.size = len(text.encode())
                info.mtime = 315532800
                tar.addfile(info, io.BytesIO(text.encode()))
        filename = f"{dist}-{version}.tar.gz"
        self.add_file(name, filename, buffer.getvalue())
        return filename

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def _core_metadata(name: str, version: str, requires_dist: list[str], metadata_version: str = "2.1", dynamic: list[str] | None = None) -> str:
    text = f"Metadata-Version: {metadata_version}\nName: {name}\nVersion: {version}\n"
    text += "".join(f"Dynamic: {d}\n" for d in dynamic or [])
    return text + "".join(f"Requires-Dist: {r}\n" for r in requires_dist)


def wheel_file(name: str, version: str, requires_dist: list[str], tag: str = "py3-none-any") -> tuple[str, bytes, bytes]:
    """(filename, wheel bytes, METADATA bytes) of a minimal wheel: enough for metadata readers."""
    dist = name.replace("-", "_")
    info = f"{dist}-{version}.dist-info"
    metadata = _core_metadata(name, version, requires_dist).encode()
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as zf:
        zf.writestr(f"{dist}/__init__.py", "")
        zf.writestr(f"{info}/METADATA", metadata)
        zf.writestr(f"{info}/WHEEL", f"Wheel-Version: 1.0\nGenerator: fake\nRoot-Is-Purelib: true\nTag: {tag}\n")
        zf.writestr(f"{info}/RECORD", "")
    return f"{dist}-{version}-{tag}.whl", buffer.getvalue(), metadata
