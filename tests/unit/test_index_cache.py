"""`--index-url` takes part in every cache key: a warm cache of one index never answers for another,
an unreachable index fails naming itself, and --offline still reads the cache of the same index."""

from __future__ import annotations

import socket
from collections.abc import Iterator

import pytest
from fakepypi import FakeProject, FakePyPI

from wheelwright.cli import main
from wheelwright.errors import OfflineMiss, SourceError
from wheelwright.remote.index import SimpleJsonIndex, index_cache_key


@pytest.fixture
def two_indexes() -> Iterator[tuple[FakePyPI, FakePyPI]]:
    a, b = FakePyPI(), FakePyPI()
    yield a, b
    a.close()
    b.close()


def _closed_port_url() -> str:
    """An index URL on loopback that nothing listens on (a port just released)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    return f"http://127.0.0.1:{port}/simple"


def _versions(index: SimpleJsonIndex, name: str = "app") -> list[str]:
    return sorted({str(f.version) for f in index.files(name)})


def test_a_warm_cache_of_one_index_never_answers_another(tmp_path, two_indexes):
    a, b = two_indexes
    a.add_sdist_with_pkg_info("app", "1.0")
    b.add_sdist_with_pkg_info("app", "2.0")
    cache = tmp_path / "index"
    assert _versions(SimpleJsonIndex(a.url, cache)) == ["1.0"]  # warms the cache (ttl of an hour)
    assert _versions(SimpleJsonIndex(b.url, cache)) == ["2.0"]
    assert _versions(SimpleJsonIndex(a.url, cache)) == ["1.0"]  # and A's cache was not overwritten by B
    dirs = sorted(p for p in cache.iterdir() if p.is_dir())
    assert [p.name for p in dirs] == sorted([index_cache_key(a.url), index_cache_key(b.url)])
    assert sorted((p / "url.txt").read_text().strip() for p in dirs) == sorted([a.url, b.url])


def test_pep658_metadata_is_cached_per_index_even_for_the_same_wheel(tmp_path, two_indexes):
    a, b = two_indexes
    wheel = b"the very same wheel bytes"  # same sha256 on both indexes, different metadata served beside it
    a.add_file("app", "app-1.0-py3-none-any.whl", wheel, metadata=b"Metadata-Version: 2.1\nName: app\nVersion: 1.0\n")
    b.add_file("app", "app-1.0-py3-none-any.whl", wheel, metadata=b"Metadata-Version: 2.1\nName: app\nVersion: 1.0\nRequires-Dist: b-only\n")
    cache = tmp_path / "index"
    index_a, index_b = SimpleJsonIndex(a.url, cache), SimpleJsonIndex(b.url, cache)
    assert b"b-only" not in index_a.wheel_metadata(index_a.files("app")[0])
    assert b"b-only" in index_b.wheel_metadata(index_b.files("app")[0])


def test_an_unreachable_index_fails_naming_it_despite_another_index_warm_cache(tmp_path, two_indexes):
    a, _ = two_indexes
    a.add_sdist_with_pkg_info("app", "1.0")
    cache = tmp_path / "index"
    assert _versions(SimpleJsonIndex(a.url, cache)) == ["1.0"]
    dead = _closed_port_url()
    with pytest.raises(SourceError) as info:
        SimpleJsonIndex(dead, cache, timeout=5).files("app")
    assert dead in str(info.value) and "unreachable" in str(info.value)


def test_offline_reads_the_cache_of_the_same_index_and_a_miss_names_the_index(tmp_path, two_indexes):
    a, b = two_indexes
    a.add_sdist_with_pkg_info("app", "1.0")
    filename = a.add_wheel("app", "1.0", ["lib>=1"])
    cache = tmp_path / "index"
    online = SimpleJsonIndex(a.url, cache)
    wheel = next(f for f in online.files("app") if f.filename == filename)
    metadata = online.wheel_metadata(wheel)
    a.close()  # nothing answers for A any more (closing twice, as the fixture will, is harmless)
    for spelling in (a.url, a.url + "/", a.url.replace("http://", "HTTP://")):
        offline = SimpleJsonIndex(spelling, cache, offline=True)
        assert _versions(offline) == ["1.0"] and offline.wheel_metadata(wheel) == metadata
    with pytest.raises(OfflineMiss) as page_miss:
        SimpleJsonIndex(b.url, cache, offline=True).files("app")
    assert b.url in str(page_miss.value) and "its index page is not in the local cache" in str(page_miss.value)
    with pytest.raises(OfflineMiss) as metadata_miss:
        SimpleJsonIndex(b.url, cache, offline=True).wheel_metadata(wheel)
    assert b.url in str(metadata_miss.value)


def _plan(workspace, capsys, url: str, *args: str):
    code = main(["--project", str(workspace.root), "plan", "--index-url", url, "--cache-dir", str(workspace.cache), *args, "app"])
    captured = capsys.readouterr()
    return code, captured.out, [line for line in captured.err.splitlines() if line.startswith("error:")]


def test_cli_plan_uses_the_named_index_not_another_index_warm_cache(workspace, fake_pypi, capsys):
    other = FakePyPI()
    try:
        fake_pypi.add(FakeProject("app", "1.0"))  # in-tree backends: the plan needs nothing else from either index
        other.add(FakeProject("app", "2.0"))
        code, out, errors = _plan(workspace, capsys, fake_pypi.url)
        assert code == 0 and "app 1.0" in out, errors
        code, out, errors = _plan(workspace, capsys, other.url)  # same --cache-dir, pages still fresh for A
        assert code == 0 and "app 2.0" in out and "app 1.0" not in out, errors
        dead = _closed_port_url()
        code, out, errors = _plan(workspace, capsys, dead)
        assert code == 1 and len(errors) == 1 and dead in errors[0], errors
        code, out, errors = _plan(workspace, capsys, fake_pypi.url, "--offline")
        assert code == 0 and "app 1.0" in out, errors
    finally:
        other.close()
