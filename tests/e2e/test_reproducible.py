"""The same inputs give the same bytes: two cold builds in separate output dirs publish identical
wheels and identical SBOMs (serial number and timestamps derive from content and SOURCE_DATE_EPOCH). The
stack SBOM is a run's record and names its run; apart from that (and the serial number derived from it) it is identical too."""

from __future__ import annotations

import hashlib
import json

from helpers import copy_project, wheelwright


def _digests(folder):
    return {p.name: hashlib.sha256(_without_run(p)).hexdigest() for p in sorted(folder.rglob("*")) if p.is_file() and p.suffix in (".whl", ".json")}


def _without_run(path) -> bytes:
    if path.name != "stack.cdx.json":
        return path.read_bytes()
    document = json.loads(path.read_text())
    component = document["metadata"]["component"]
    run = [p for p in component["properties"] if p["name"] == "wheelwright:run"]
    assert len(run) == 1  # it does say which run
    component["properties"].remove(run[0])
    del document["serialNumber"]  # derived from the document, run included
    return json.dumps(document, sort_keys=True).encode()


def test_two_cold_builds_publish_the_same_bytes(tmp_path):
    results = []
    for attempt in ("a", "b"):
        project = copy_project(tmp_path / attempt / "project")
        run = wheelwright(project, "idna", output=tmp_path / attempt / "out")
        assert run.returncode == 0, run.stderr[-2000:]
        results.append((_digests(tmp_path / attempt / "out" / "simple"), _digests(tmp_path / attempt / "out" / "sbom")))
    (wheels_a, sboms_a), (wheels_b, sboms_b) = results
    assert wheels_a and wheels_a == wheels_b
    assert any(name.startswith("idna-") for name in sboms_a) and sboms_a == sboms_b
