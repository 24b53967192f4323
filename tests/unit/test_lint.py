"""The constraints lint against the loopback index: one test per check, each asserting that the
finding quotes the offending line(s) and that errors reach ``report.errors``."""

from __future__ import annotations


import pytest
from fakepypi import FakePyPI
from packaging.version import Version

from wheelwright.config.constraints import load_constraints, read_lines
from wheelwright.remote.index import IndexFile, SimpleJsonIndex
from wheelwright.tools.lint import Finding, LintReport, Target, lint_constraints
from wheelwright.config.renames import Rename, Renames

SHA_A = "a" * 64


@pytest.fixture(scope="module")
def _server():
    server = FakePyPI()  # one per module: each shutdown costs half a second of polling
    yield server
    server.close()


@pytest.fixture
def fake_pypi(_server: FakePyPI) -> FakePyPI:
    """The module's server, emptied: every test publishes its own projects."""
    _server.pages.clear()
    _server.files.clear()
    return _server


@pytest.fixture
def lint(tmp_path, fake_pypi):
    """lint(text, **extra_files) -> LintReport for ``c.txt`` holding ``text``."""
    recipes = tmp_path / "recipes"
    recipes.mkdir()

    def run(text: str, renames: Renames | None = None, **files: str) -> LintReport:
        for name, body in files.items():
            (tmp_path / name.replace("_txt", ".txt").replace("_py", ".py")).write_text(body)
        (tmp_path / "c.txt").write_text(text)
        index = SimpleJsonIndex(fake_pypi.url, tmp_path / "index")
        return lint_constraints([tmp_path / "c.txt"], index=index, renames=renames or Renames(), recipes_dir=recipes,
                                sdist_cache=tmp_path / "sdists")

    run.recipes = recipes  # type: ignore[attr-defined]
    return run


def _only(report: LintReport, severity: str = "error") -> Finding:
    matching = [f for f in report.findings if f.severity == severity]
    assert len(matching) == 1, report.render()
    return matching[0]


def _messages(report: LintReport, severity: str) -> list[str]:
    return [f.message for f in report.findings if f.severity == severity]


# --- 1. syntax -----------------------------------------------------------------------------------


def test_every_malformed_line_is_reported_not_just_the_first(lint, fake_pypi):
    fake_pypi.add_wheel("ok", "1.0")
    report = lint("ok==1.0\nbar ===\nbaz[cli]==1\nqux @ https://example.org/qux.tar.gz\n--index-url https://x\nzap >>> 2\n")
    lines = sorted((f.line, f.message) for f in report.errors)
    assert [n for n, _ in lines] == [2, 3, 4, 5, 6], report.render()
    assert "c.txt:2: malformed constraint 'bar ==='" in lines[0][1]
    assert "c.txt:3: constraints may not carry extras or URLs: 'baz[cli]==1'" in lines[1][1]
    assert "c.txt:4: constraints may not carry extras or URLs" in lines[2][1]
    assert "c.txt:5: unsupported option" in lines[3][1]
    assert "c.txt:6: malformed constraint 'zap >>> 2'" in lines[4][1]


def test_missing_include_is_reported_at_its_line(lint, tmp_path):
    finding = _only(lint("-c gone.txt\n"))
    assert finding.line == 1 and finding.message == f"c.txt:1: '-c gone.txt': included file {tmp_path / 'gone.txt'} not found"


def test_duplicate_across_an_include_names_both_lines(lint, fake_pypi):
    fake_pypi.add_wheel("foo", "1.0")
    report = lint("-c common.txt\n# pinned again below\nfoo==1.0\n", common_txt="foo==1.0\n")
    finding = _only(report)
    assert (finding.file, finding.line) == ("c.txt", 3)
    assert finding.message == "c.txt:3 foo==1.0: duplicate: common.txt:1 foo==1.0 already constrains foo"


def test_ranges_from_two_files_that_intersect_are_fine(lint, fake_pypi):
    fake_pypi.add_wheel("foo", "1.5")
    assert lint("-c common.txt\nfoo<2\n", common_txt="Foo>=1\n").findings == ()


def test_contradictory_specifiers_name_both_lines(lint, fake_pypi):
    fake_pypi.add_wheel("foo", "1")
    fake_pypi.add_wheel("foo", "2")
    finding = _only(lint("foo==1\nfoo>=2\n"))
    assert finding.line == 2
    assert finding.message == "c.txt:2 foo>=2: contradicts c.txt:1 foo==1: no version satisfies both"


def test_hash_options_and_continuations_parse_like_pip_compile(lint, fake_pypi, tmp_path):
    fake_pypi.add_wheel("foo", "1.0")
    sha = fake_pypi.pages["foo"][0]["hashes"]["sha256"]
    text = f"foo==1.0 \\\n    --hash=sha256:{sha} \\\n    --hash=sha256:{SHA_A}\n    # via bar\n"
    assert lint(text).findings == ()
    lines = read_lines(tmp_path / "c.txt")
    assert [(line.line, line.text, line.hashes) for line in lines] == [(1, "foo==1.0", (f"sha256:{sha}", f"sha256:{SHA_A}"))]
    assert load_constraints([tmp_path / "c.txt"]).lines_for("foo")[0].hashes == (f"sha256:{sha}", f"sha256:{SHA_A}")
    bad = lint(f"foo==1.0 \\\n  --hash=sha256:{SHA_A}\nbar==1 --hash=md5:zz\n")
    assert [(f.line, f.severity) for f in bad.findings] == [(1, "warning"), (3, "error")], bad.render()
    assert "none of its --hash values matches a file of foo 1.0" in bad.findings[0].message
    assert "c.txt:3: 'bar==1': malformed --hash 'md5:zz'" in bad.findings[1].message


def test_a_line_whose_marker_excludes_the_target_is_not_checked(lint, fake_pypi):
    fake_pypi.add_wheel("foo", "1.0")
    report = lint('foo==1.0\nfoo==9.9; sys_platform == "win32"\n')
    assert report.findings == ()


# --- 2. unknown, renamed and source-built packages -----------------------------------------------


def test_unknown_package_without_recipe_source_is_an_error(lint):
    finding = _only(lint("nosuchthing==1.0\n"))
    assert finding.message == "c.txt:1 nosuchthing==1.0: nosuchthing is not on the index and no recipe declares a source"


def test_renamed_package_says_which_name_to_pin(lint, fake_pypi):
    fake_pypi.add_wheel("aiter", "0.13.20191203")  # the unrelated project squatting the old name
    renames = Renames({"aiter": Rename("aiter", "amd-aiter", "ROCm publishes it as amd-aiter")})
    finding = _only(lint("aiter==0.1.10.post2\n", renames))
    assert finding.message == ("c.txt:1 aiter==0.1.10.post2: aiter was renamed to amd-aiter "
                               "(ROCm publishes it as amd-aiter); pin amd-aiter")


def test_recipe_git_source_checks_the_pinned_tag(lint):
    (lint.recipes / "gitpkg.py").write_text(
        "from wheelwright.recipes import GitSource, Recipe\n"
        "recipe = Recipe('gitpkg', source=GitSource(url='https://git.example/gitpkg', commits={'1.0': '" + "c" * 40 + "'}))\n")
    report = lint("gitpkg==1.0\n")
    assert report.errors == ()
    assert f"c.txt:1 gitpkg==1.0: from git tag v1.0 commit {'c' * 40} (https://git.example/gitpkg)" in _messages(report, "note")
    assert "c.txt:1 gitpkg==1.0: could not check gitpkg's dependencies: gitpkg 1.0 is not on the index (it is built from its recipe's source)" in _messages(report, "note")
    warning = _only(lint("gitpkg==2.0\n"), "warning")
    assert warning.message == "c.txt:1 gitpkg==2.0: from git tag v2.0 of https://git.example/gitpkg, but the tag is not pinned to a commit in the recipe"


def test_recipe_url_source_checks_the_declared_sha256(lint):
    (lint.recipes / "tarpkg.py").write_text(
        "from wheelwright.recipes import Recipe, UrlSource\n"
        "recipe = Recipe('tarpkg', source=UrlSource(url='https://dl.example/tarpkg-{version}.tar.gz', sha256={'1.0': '" + SHA_A + "'}))\n")
    assert f"c.txt:1 tarpkg==1.0: from https://dl.example/tarpkg-1.0.tar.gz (sha256 {SHA_A})" in _messages(lint("tarpkg==1.0\n"), "note")
    warning = _only(lint("tarpkg==2.0\n"), "warning")
    assert warning.message == "c.txt:1 tarpkg==2.0: from https://dl.example/tarpkg-2.0.tar.gz, but the recipe declares no sha256 for 2.0"


# --- 3. versions on the index --------------------------------------------------------------------


def test_pinned_version_missing_from_the_index(lint, fake_pypi):
    fake_pypi.add_wheel("foo", "1.0")
    fake_pypi.add_wheel("foo", "1.1")
    finding = _only(lint("foo==9.9\n"))
    assert finding.message == "c.txt:1 foo==9.9: foo 9.9 is not on the index; newest: 1.1, 1.0"


def test_pinned_version_whose_files_are_all_yanked(lint, fake_pypi):
    fake_pypi.add_wheel("foo", "1.0")
    fake_pypi.add_wheel("foo", "2.0", yanked=True)
    fake_pypi.add_sdist_with_pkg_info("foo", "2.0")
    fake_pypi.pages["foo"][-1]["yanked"] = "broken build"
    finding = _only(lint("foo==2.0\n"))
    assert finding.message == "c.txt:1 foo==2.0: every file of foo 2.0 is yanked on the index"


def test_range_that_no_unyanked_version_satisfies(lint, fake_pypi):
    fake_pypi.add_wheel("foo", "1.0")
    fake_pypi.add_wheel("foo", "3.0", yanked=True)
    finding = _only(lint("foo>=2\n"))
    assert finding.message == "c.txt:1 foo>=2: no non-yanked version of foo on the index satisfies >=2; newest: 1.0"


# --- 4. cross-pin consistency --------------------------------------------------------------------


def test_pin_conflicting_with_another_pins_wheel_metadata_names_both_lines(lint, fake_pypi):
    fake_pypi.add_wheel("lib", "1.0")
    fake_pypi.add_wheel("app", "2.0", ['Lib_Thing==2.0; platform_system == "Linux" and platform_machine == "x86_64"',
                                        'lib==1.0', 'lib>=7; extra == "fast"', 'lib<0.5; sys_platform == "win32"'],
                        tag="cp311-cp311-manylinux_2_28_x86_64")
    fake_pypi.add_wheel("lib-thing", "1.0")
    finding = _only(lint("lib==1.0\nlib-thing==1.0\napp==2.0\n"))
    assert (finding.file, finding.line) == ("c.txt", 3)
    assert finding.message == ("c.txt:3 app==2.0 requires 'Lib_Thing==2.0' (app 2.0 METADATA, Linux x86_64) "
                               "but c.txt:2 pins lib-thing==1.0")


def test_cross_pin_follows_renames_and_checks_ranges(lint, fake_pypi):
    fake_pypi.add_wheel("new-name", "1.0")
    fake_pypi.add_wheel("app", "1.0", ["old-name>=2"])
    renames = Renames({"old-name": Rename("old-name", "new-name", "")})
    finding = _only(lint("new-name<2\napp==1.0\n", renames))
    assert finding.message == "c.txt:2 app==1.0 requires 'old-name>=2' (app 1.0 METADATA, Linux x86_64) but c.txt:1 constrains new-name<2"


def test_wheel_for_another_platform_falls_back_to_static_sdist_metadata(lint, fake_pypi):
    fake_pypi.add_wheel("lib", "1.0")
    fake_pypi.add_wheel("app", "1.0", ["lib==1.0"], tag="cp311-cp311-win_amd64")
    fake_pypi.add_sdist_with_pkg_info("app", "1.0", ["lib>=2"], metadata_version="2.2")
    finding = _only(lint("lib==1.0\napp==1.0\n"))
    assert finding.message == "c.txt:2 app==1.0 requires 'lib>=2' (app 1.0 PKG-INFO, Linux x86_64) but c.txt:1 pins lib==1.0"


@pytest.mark.parametrize("metadata_version, dynamic, why", [
    ("2.1", [], "Metadata-Version 2.1"),
    ("2.2", ["Requires-Dist"], "Requires-Dist is Dynamic"),
])
def test_unverifiable_sdist_metadata_is_a_note(lint, fake_pypi, metadata_version, dynamic, why):
    fake_pypi.add_wheel("lib", "1.0")
    fake_pypi.add_sdist_with_pkg_info("app", "1.0", ["lib>=2"], metadata_version=metadata_version, dynamic=dynamic)
    report = lint("lib==1.0\napp==1.0\n")
    assert report.errors == ()
    assert _only(report, "note").message == ("c.txt:2 app==1.0: could not check app's dependencies: "
                                             f"no wheel fits and its sdist's Requires-Dist is not static ({why})")


def test_consistent_pins_give_a_clean_report(lint, fake_pypi):
    fake_pypi.add_wheel("lib", "2.0")
    fake_pypi.add_wheel("app", "1.0", ["lib==2.0", "unpinned-dep>=1"])
    report = lint("lib==2.0\napp==1.0\n")
    assert report.findings == () and report.errors == ()
    assert report.render() == "no findings"


def test_render_groups_by_file_and_counts(lint, fake_pypi):
    fake_pypi.add_wheel("foo", "1.0")
    report = lint("-c common.txt\nfoo==1.0\nbad ===\n", common_txt="foo==1.0\nnosuch==1\n")
    text = report.render()
    assert text.splitlines()[0] == "c.txt:" and "\ncommon.txt:\n" in text  # the linted file first, then its includes
    assert text.index("c.txt:3: malformed") < text.index("common.txt:2 nosuch==1")
    assert text.endswith("3 errors, 0 warnings, 0 notes")


@pytest.mark.parametrize("filename, rank", [
    ("x-1-cp311-cp311-manylinux_2_28_x86_64.whl", 3),
    ("x-1-cp311-cp311-linux_x86_64.whl", 3),
    ("x-1-cp39-abi3-manylinux2014_x86_64.whl", 2),
    ("x-1-py39-none-manylinux_2_28_x86_64.whl", 1),
    ("x-1-py2.py3-none-any.whl", 1),
    ("x-1-cp312-abi3-manylinux2014_x86_64.whl", 0),
    ("x-1-cp311-cp311-manylinux_2_28_aarch64.whl", 0),
    ("x-1-cp311-cp311-musllinux_1_2_x86_64.whl", 0),
    ("x-1-cp311-cp311-win_amd64.whl", 0),
    ("x-1-cp311-cp311t-manylinux_2_28_x86_64.whl", 0),
])
def test_target_reads_metadata_only_from_wheels_that_install_there(filename, rank):
    wheel = IndexFile("x", Version("1"), filename, "https://x/" + filename, SHA_A, None, False)
    assert Target("3.11", "Linux", "x86_64").wheel_rank(wheel) == rank
