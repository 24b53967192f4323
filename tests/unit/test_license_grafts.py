"""`licenses --strict` flags a grafted library whose licence nobody stated (not only proprietary ones)."""

from __future__ import annotations

import json

from wheelwright.outputs.licensereport import license_report


def _index(tmp_path, grafted: list[dict]) -> None:
    sbom = {"metadata": {"component": {"name": "pkg", "version": "1.0", "licenses": [{"expression": "MIT"}], "properties": []}},
            "components": grafted}
    (tmp_path / "sbom").mkdir(exist_ok=True)
    (tmp_path / "sbom" / "pkg.cdx.json").write_text(json.dumps(sbom))
    (tmp_path / "index.json").write_text(json.dumps({"wheels": {"pkg-1.0-cp311-cp311-linux_x86_64.whl": {"sbom": "sbom/pkg.cdx.json"}}}))


def _graft(name: str, licences: list[dict]) -> dict:
    return {"name": name, "licenses": licences, "properties": [{"name": "wheelwright:role", "value": "grafted-library"},
                                                               {"name": "wheelwright:origin-path", "value": f"/opt/vendor/{name}"}]}


def test_a_grafted_library_of_unknown_licence_is_a_problem(tmp_path):
    _index(tmp_path, [_graft("libyaml-0.so.2", [{"expression": "MIT"}]), _graft("libmystery.so.1", [])])
    report = license_report(tmp_path)
    assert report.problems == ["pkg 1.0: grafts libmystery.so.1 (from /opt/vendor/libmystery.so.1) whose licence is unknown"]
    assert "libmystery.so.1 (from /opt/vendor/libmystery.so.1): licence unknown" in report.render()
    _index(tmp_path, [_graft("libyaml-0.so.2", [{"expression": "MIT"}])])
    assert license_report(tmp_path).problems == []
