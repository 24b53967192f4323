"""Which settings a source's build really reads: its build files, searched for whole words, and the one table of
settings that build *tools* read for every project that builds with them (so no project has to mention them).

`wheelwright recipe check` asks this about every environment variable and config setting a recipe passes: a
setting nobody reads is a recipe that believes it turned something on, and did not.
"""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from packaging.requirements import InvalidRequirement, Requirement
from packaging.utils import NormalizedName, canonicalize_name

#: The build files searched, in one place: names at the top of the tree, names at any depth, suffixes at any depth,
#: and the folders whose Python helpers a build runs (torch's tools/setup_helpers, numpy's build_tools…).
TOP_LEVEL_FILES = ("setup.py", "setup.cfg", "pyproject.toml")
ANY_DEPTH_FILES = ("CMakeLists.txt", "meson.build", "meson.options", "meson_options.txt")
ANY_DEPTH_SUFFIXES = (".cmake",)
HELPER_DIRS = ("tools", "cmake", "build_tools", "scripts")


@dataclass(frozen=True)
class ToolRead:
    """A setting (fnmatch pattern) that a build tool reads itself; ``tool`` is a distribution name, or "*" for the
    compilers and make that every build has."""

    pattern: str
    tool: str
    why: str = ""


#: Settings read by a build tool rather than the project. One row per (setting, tool); a setting may have several.
TOOL_READS: tuple[ToolRead, ...] = (
    *(ToolRead(name, "torch", "torch/utils/cpp_extension.py") for name in (
        "TORCH_CUDA_ARCH_LIST", "PYTORCH_ROCM_ARCH", "TORCH_XPU_ARCH_LIST", "MAX_JOBS", "CUDA_HOME", "CUDA_PATH", "CUDA_INC_PATH",
        "CUDNN_HOME", "CUDNN_PATH", "ROCM_HOME", "ROCM_PATH", "PYTORCH_NVCC", "TORCH_EXTENSION_NAME", "TORCH_EXTENSIONS_DIR",
        "TORCH_DONT_CHECK_COMPILER_ABI", "TORCH_EXTENSION_SKIP_NVCC_GEN_DEPENDENCIES")),
    ToolRead("CMAKE_BUILD_PARALLEL_LEVEL", "cmake", "cmake --build: default -j"),
    ToolRead("CMAKE_GENERATOR", "cmake", "cmake: default generator"),
    ToolRead("CMAKE_ARGS", "cmake", "passed to cmake by the CMake backends"),
    ToolRead("CMAKE_ARGS", "scikit-build-core", "scikit-build-core: extra cmake arguments"),
    ToolRead("CMAKE_ARGS", "scikit-build", "scikit-build: extra cmake arguments"),
    ToolRead("NINJAFLAGS", "ninja", "ninja's wrappers: extra ninja arguments"),
    *(ToolRead(name, "*", "compilers, linkers and make") for name in (
        "CC", "CXX", "CFLAGS", "CXXFLAGS", "CPPFLAGS", "LDFLAGS", "CPATH", "LIBRARY_PATH", "MAKEFLAGS", "NVCC_APPEND_FLAGS", "NVCC_PREPEND_FLAGS")),
    ToolRead("SETUPTOOLS_SCM_PRETEND_VERSION*", "setuptools-scm", "setuptools-scm: the version without git"),
    ToolRead("SETUPTOOLS_SCM_PRETEND_VERSION*", "hatch-vcs", "hatch-vcs runs setuptools-scm"),
    ToolRead("SETUPTOOLS_SCM_PRETEND_VERSION*", "vcs-versioning", "setuptools-scm's core"),
    # PEP 517 config settings the backends read themselves (cmake.define.X is the project's X: searched as X)
    ToolRead("cmake.*", "scikit-build-core", "scikit-build-core config settings"),
    ToolRead("wheel.*", "scikit-build-core", "scikit-build-core config settings"),
    ToolRead("build-dir", "scikit-build-core", "scikit-build-core config settings"),
    ToolRead("logging.level", "scikit-build-core", "scikit-build-core config settings"),
    *(ToolRead(key, "meson-python", "meson-python config settings") for key in ("setup-args", "compile-args", "install-args", "dist-args", "builddir")),
    *(ToolRead(key, "setuptools", "setuptools' build_meta") for key in ("--build-option", "--global-option")),
)

_DEFINE = "cmake.define."


@dataclass(frozen=True)
class BuildFiles:
    """The text of one source tree's build files and its build requirements: what a setting is checked against."""

    label: str  # "torch-scatter 2.1.2"
    texts: tuple[tuple[str, str], ...]  # (path relative to the tree, text)
    build_requires: frozenset[NormalizedName]

    def mentions(self, word: str) -> bool:
        """Whether ``word`` occurs as a whole word (not inside FORCE_CUDA_X or MY_FORCE_CUDA) in any build file."""
        pattern = re.compile(rf"(?<![\w.-]){re.escape(word)}(?![\w.-])" if re.search(r"[.-]", word) else rf"(?<!\w){re.escape(word)}(?!\w)")
        return any(pattern.search(text) for _, text in self.texts)

    def unread(self, setting: str) -> str | None:
        """None when the build reads ``setting`` (the project mentions it, or a tool among its build requirements
        reads it); else why not, for the finding."""
        word = setting.removeprefix(_DEFINE) if setting.startswith(_DEFINE) else setting
        if self.mentions(word):
            return None
        tools = [row for row in TOOL_READS if not setting.startswith(_DEFINE) and fnmatch.fnmatchcase(setting, row.pattern)]
        if any(row.tool == "*" or canonicalize_name(row.tool) in self.build_requires for row in tools):
            return None
        hint = f"; {', '.join(sorted({row.tool for row in tools}))} would read it, but is not among its build requirements" if tools else ""
        return f"{self.label}'s source never reads{f' {word}' if word != setting else ''} (searched {len(self.texts)} build files{hint})"


def build_file_paths(tree: Path) -> list[Path]:
    """Every build file of an unpacked source tree, by the lists above, sorted."""
    found = {tree / name for name in TOP_LEVEL_FILES} | set(tree.glob("*.py"))
    for path in tree.rglob("*"):
        relative = path.relative_to(tree)
        if path.name in ANY_DEPTH_FILES or path.suffix in ANY_DEPTH_SUFFIXES:
            found.add(path)
        elif path.suffix == ".py" and len(relative.parts) > 1 and relative.parts[0] in HELPER_DIRS:
            found.add(path)
    return sorted(p for p in found if p.is_file() and not p.is_symlink())


def read_build_files(tree: Path, label: str, build_requires: Iterable[str]) -> BuildFiles:
    """Read the tree's build files now (the tree is a scratch directory that goes away) with the names of its build requirements."""
    texts = tuple((str(p.relative_to(tree)), p.read_text(errors="replace")) for p in build_file_paths(tree))
    return BuildFiles(label, texts, frozenset(names(build_requires)))


def names(requirements: Iterable[str]) -> list[NormalizedName]:
    """Distribution names of requirement strings; one that does not parse names nothing (the planner reports it)."""
    result = []
    for text in requirements:
        try:
            result.append(canonicalize_name(Requirement(text).name))
        except InvalidRequirement:
            continue
    return result
