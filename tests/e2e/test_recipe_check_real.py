"""`wheelwright recipe check` against PyPI: torch-scatter's and xformers' recipes hold for their real sdists and
wheels, and a planted mistake in each is found (xformers' modules read by range requests from PyPI's wheel)."""

from __future__ import annotations

from typing import NamedTuple

from helpers import SHARED_CACHE, copy_project

from wheelwright.cli import main


class Run(NamedTuple):
    code: int
    out: str
    err: str


def _check(project, capsys) -> Run:
    code = main(["--project", str(project), "recipe", "check", "torch-scatter", "xformers", "--variant", "cuda", "--cache-dir", str(SHARED_CACHE)])
    captured = capsys.readouterr()
    return Run(code, captured.out, captured.err)


def _edit(path, old: str, new: str) -> None:
    text = path.read_text()
    assert text.count(old) == 1, old
    path.write_text(text.replace(old, new))


def test_the_real_recipes_are_clean_and_planted_mistakes_are_found(tmp_path, capsys):
    project = copy_project(tmp_path / "project")
    run = _check(project, capsys)
    assert run.code == 0, run.out + run.err
    assert "recipes/torch_scatter.py: not checked: cuda-13.0 pins no version of torch-scatter" in run.out  # the constraints leave it to the resolver
    assert run.out.strip().splitlines()[-1].endswith(" 0 findings")

    pinned = project / "constraints" / "cuda-13.0.txt"
    pinned.write_text(pinned.read_text() + "torch-scatter==2.1.2\n")  # the version the README's cuda-13.0 build takes
    run = _check(project, capsys)
    assert run.code == 0, run.out + run.err
    assert "not checked: cuda-13.0 pins" not in run.out
    assert run.out.strip().splitlines()[-1] == "2 recipes, 3 versions checked, 0 findings"  # torch-scatter 2.1.2; xformers 0.0.35 and 0.0.33.post2

    _edit(project / "recipes" / "torch_scatter.py", '        "FORCE_CUDA": "1",', '        "WHEELWRIGHT_PLANTED_NEVER_READ": "1",\n        "FORCE_CUDA": "1",')
    run = _check(project, capsys)
    assert run.code == 1
    planted = [line for line in run.out.splitlines() if "WHEELWRIGHT_PLANTED_NEVER_READ" in line]
    assert len(planted) == 1 and planted[0].startswith("recipes/torch_scatter.py sets WHEELWRIGHT_PLANTED_NEVER_READ for cuda-13.0, "
                                                       "which torch-scatter 2.1.2's source never reads (searched "), run.out

    _edit(project / "recipes" / "xformers.py", '    return ctx.version < Version("0.0.35")', '    return True')  # FA3 claimed for 0.0.35 too
    run = _check(project, capsys)
    assert run.code == 1
    assert ("recipes/xformers.py declares kernels in xformers/flash_attn_3/_C.so for cuda-13.0; no module of "
            "xformers-0.0.35-py39-none-manylinux_2_28_x86_64.whl matches (its modules: xformers/_C.so)") in run.out.splitlines(), run.out
    assert not [line for line in run.out.splitlines() if "cuda-12.9" in line and "flash_attn_3" in line]  # 0.0.33.post2's wheel still has it


def test_the_module_list_of_pypi_s_wheel_is_read_by_range_requests(tmp_path):
    from packaging.version import Version

    from wheelwright.config.project import Project
    from wheelwright.remote.index import PYPI_SIMPLE, SimpleJsonIndex
    from wheelwright.tools.recipecheck import Modules, _Sources

    sources = _Sources(Project(copy_project(tmp_path / "project")), SimpleJsonIndex(PYPI_SIMPLE, SHARED_CACHE / "index"), tmp_path / "cache", offline=False)
    modules = sources._upstream_modules("xformers", Version("0.0.35"))  # a fresh cache: nothing of the wheel is known yet
    assert modules == Modules("xformers-0.0.35-py39-none-manylinux_2_28_x86_64.whl", ("xformers/_C.so",))
    assert not list((tmp_path / "cache").rglob("*.whl"))  # its zip directory was read, the wheel never downloaded
    assert len(list((tmp_path / "cache" / "wheel-modules").rglob("*.json"))) == 1
