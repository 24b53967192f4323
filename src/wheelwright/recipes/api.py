"""The recipe API: a recipe module is a handful of small functions, registered per variant.

``recipes/<name>.py`` creates ``recipe = Recipe("<name>")`` and decorates functions::

    @recipe.env()                 # every variant
    def env(ctx): return {"CIBUILDWHEEL": "1"}

    @recipe.env("rocm")           # only rocm; wins over the generic one
    def env_rocm(ctx): return {"PYTORCH_ROCM_ARCH": ";".join(ctx.variant.archs)}

``Recipe("<name>", variants=("rocm",))`` says the package exists for those variant families only:
no sessions are generated for the others, and planning it for one of them is refused.
Packages without a module get the default recipe, which changes nothing (and applies to every variant).
"""

from __future__ import annotations

import hashlib
import importlib.util
import re
import subprocess
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from packaging.utils import canonicalize_name
from packaging.version import Version

from wheelwright.sandbox.buildenv import scrubbed_environment
from wheelwright.config.renames import Rename
from wheelwright.errors import ConfigError
from wheelwright.sandbox.isolation import Isolation, NetworkPolicy, egress_report
from wheelwright.config.variants import Variant

#: The hooks a recipe may provide. Each is called with a RecipeContext.
HOOKS = (
    "env",  # -> Mapping[str, str]: extra build environment
    "config_settings",  # -> Mapping[str, str | list[str]]: PEP 517 config settings
    "prepare",  # -> None: edit the unpacked, patched source tree (e.g. hipify)
    "kernels",  # -> Sequence[str] | Mapping[str, Sequence[str]]: wheel members (fnmatch) that must carry GPU code for
    #              every arch of the variant, or (mapping) for the given subset of it ("*" covers every module)
    "requires",  # -> Sequence[str]: runtime requirements the variant adds (vllm on rocm needs amd-aiter)
    "build_requires",  # -> Sequence[str]: build requirements the variant adds (torch on rocm builds against aotriton)
    "drop_requires",  # -> Sequence[str] or {pattern: reason}: published requirements (fnmatch on names) the variant's build does not have
    "links",  # -> {module pattern: [soname patterns]}: libraries a module must link (a wanted cuDNN that CMake silently dropped fails)
    "ships",  # -> Sequence[str]: wheel members (fnmatch) that must be there (triton's bundled ptxas, which an offline build can miss)
    "extra_sources",  # -> Sequence[ExtraSource]: third-party trees the upstream build would download mid-build, fetched before it
)


@dataclass(frozen=True, kw_only=True)
class RecipeContext:
    """What a hook may look at: never more than the inputs hashed into the cache key."""

    name: str
    version: Version
    variant: Variant
    python_version: str
    source_dir: Path | None
    jobs: int
    network: Isolation = NetworkPolicy(False, "not isolated (outside a build)")
    log: IO[str] | None = None
    #: The variant's exact pins (canonical name -> version, from its constraints); read them with ``pin()``.
    pins: Mapping[str, str] = field(default_factory=dict)
    #: The pins a hook read, recorded so that they become part of the node's cache key.
    pins_read: dict[str, str | None] = field(default_factory=dict)

    def pin(self, name: str) -> str:
        """The version the variant's constraints pin ``name`` to (==); a recipe that needs one and finds none is refused."""
        version = self.pinned(name)
        if version is None:
            raise ConfigError(f"{self.name} {self.version}: the recipe needs a == pin of {canonicalize_name(name)} in the "
                              f"{self.variant.label} constraints")
        return version

    def pinned(self, name: str) -> str | None:
        """The pinned version of ``name``, or None where the constraints pin none."""
        canonical = canonicalize_name(name)
        version = self.pins.get(canonical)
        self.pins_read[canonical] = version
        return version

    def run(self, command: Sequence[str], *, cwd: Path | None = None, env: Mapping[str, str] | None = None) -> None:
        """A recipe's own build command, held to the rules of a build hook: the build's network
        namespace, an allow-listed environment (plus ``env``), no stdin, output into the package log."""
        where = cwd or self.source_dir
        environment = scrubbed_environment({**self.variant.env, **(env or {})})
        result = subprocess.run(self.network.wrap(command), cwd=where, env=environment, stdin=subprocess.DEVNULL,
                                stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        if self.log is not None:
            self.log.write(f"# recipe runs {' '.join(command)}\n{result.stdout}")
        if result.returncode != 0:
            tail = " | ".join(result.stdout.strip().splitlines()[-5:])
            reached = egress_report(result.stdout) if self.network.isolated else ""
            raise RuntimeError(f"{' '.join(command[:2])} failed (exit {result.returncode}){reached}: {tail}")


Hook = Callable[[RecipeContext], Any]


@dataclass(frozen=True, kw_only=True)
class GitSource:
    """Source from an upstream git tag, for packages PyPI has no usable sdist of.

    ``commits`` pins each audited version's tag to the commit it must resolve to. The tree is packed without
    ``.git``, so a build that asks git who it is learns nothing: the build gets the version through
    ``SETUPTOOLS_SCM_PRETEND_VERSION_FOR_<NAME>`` (setuptools-scm) and the commit through each variable in
    ``commit_env`` (aotriton's CMake reads AOTRITON_CI_SUPPLIED_SHA1).
    """

    url: str
    tag: str = "v{version}"
    refs: Mapping[str, str] = field(default_factory=dict)  # versions whose tag breaks the pattern
    commits: Mapping[str, str] = field(default_factory=dict)
    commit_env: tuple[str, ...] = ()

    def build_variables(self, name: str, version: str, commit: str) -> dict[str, str]:
        """What a build of this tag is told in place of the .git it does not have."""
        scm = f"SETUPTOOLS_SCM_PRETEND_VERSION_FOR_{re.sub(r'[-_.]+', '_', name).upper()}"  # setuptools-scm's per-dist override
        return {scm: version, **dict.fromkeys(self.commit_env, commit)}

    def ref(self, version: str) -> str:
        return self.refs.get(version) or self.tag.format(version=version)

    def describe(self, version: str) -> str:
        commit = self.commits.get(version)
        return f"git {self.url} @ {self.ref(version)}" + (f" ({commit[:12]})" if commit else " (commit not pinned)")


@dataclass(frozen=True, kw_only=True)
class UrlSource:
    """Source from a release tarball URL template, each version's sha256 declared."""

    url: str
    sha256: Mapping[str, str] = field(default_factory=dict)

    def describe(self, version: str) -> str:
        return self.url.format(version=version) + (f" (sha256 {self.sha256[version][:12]})" if version in self.sha256 else " (sha256 not declared)")


Source = GitSource | UrlSource


@dataclass(frozen=True, kw_only=True)
class ExtraSource:
    """A third-party tree the upstream build would download in the middle (vLLM's CMake FetchContent of cutlass),
    pinned by git commit or archive sha256, fetched and verified before the build and handed to it through ``env``."""

    name: str  # a directory name: work/<node>/extra/<name>
    url: str
    commit: str | None = None  # git: the commit upstream pins (GIT_TAG), checked after the fetch
    ref: str | None = None  # git: the tag upstream names instead of a commit (fetched by it; verified when commit is given too)
    sha256: str | None = None  # an archive (tar.gz, zip)
    env: tuple[str, ...] = ()  # variables the build reads the tree's path from (VLLM_CUTLASS_SRC_DIR)
    subdir: str = ""  # for an archive: the directory inside it that the variables name ("" = its single top directory)
    into: str = ""  # the name of an earlier extra source whose tree this one is merged into (AOTriton's kernel images)

    def __post_init__(self) -> None:
        if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9._-]*", self.name):
            raise ValueError(f"extra source name {self.name!r}: letters, digits, '.', '_' and '-' only")
        if (self.commit is None and self.ref is None) == (self.sha256 is None):
            raise ValueError(f"extra source {self.name}: give a git commit= (or ref=), or an archive's sha256=, not both or neither")
        if self.commit is not None and not re.fullmatch(r"[0-9a-f]{40}", self.commit):
            raise ValueError(f"extra source {self.name}: commit {self.commit!r} is not a full 40-digit git commit")
        if self.sha256 is not None and not re.fullmatch(r"[0-9a-f]{64}", self.sha256):
            raise ValueError(f"extra source {self.name}: sha256 {self.sha256!r} is not 64 hex digits")

    @property
    def identity(self) -> str:
        return self.commit or self.sha256 or f"{self.url}@{self.ref}"

    def describe(self) -> str:
        pinned = (f"{self.ref} = {self.commit[:12]}" if self.ref else self.commit[:12]) if self.commit else \
            (f"{self.ref} (commit not pinned)" if self.ref else f"sha256 {(self.sha256 or '')[:12]}")
        return f"{self.name}: {self.url} @ {pinned}" + (f" -> {', '.join(self.env)}" if self.env else "")


class Recipe:
    """A package's quirks, as hooks keyed by (hook name, variant or None for all)."""

    def __init__(self, name: str, *, source: Source | None = None, renamed_from: tuple[str, ...] = (),
                 variants: tuple[str, ...] | None = None, sources: Mapping[str, Source] | None = None,
                 prebuilt: str | None = None) -> None:
        self.name = canonicalize_name(name)
        self.source = source  # None: the PyPI sdist
        #: Variant families whose source differs (xformers on rocm: the git tag with submodules the sdist lacks).
        self.sources: dict[str, Source] = dict(sources or {})
        #: Why Wheelwright cannot build it from source; set, it is planned only where the variant takes it prebuilt.
        self.prebuilt = prebuilt
        self.renamed_from = tuple(canonicalize_name(n) for n in renamed_from)
        if isinstance(variants, str):
            variants = (variants,)
        if variants is not None and not variants:
            raise ValueError("variants=() names no variant; leave it out for a package every variant builds")
        #: The variant families (variants.toml names) the package is built for; None: every variant.
        self.applies_to: tuple[str, ...] | None = tuple(dict.fromkeys(variants)) if variants is not None else None
        self._hooks: dict[tuple[str, str | None], Hook] = {}

    def _register(self, hook: str, variants: tuple[str, ...]) -> Callable[[Hook], Hook]:
        def decorator(function: Hook) -> Hook:
            for variant in variants or (None,):
                self._hooks[(hook, variant)] = function
            return function

        return decorator

    def env(self, *variants: str) -> Callable[[Hook], Hook]:
        return self._register("env", variants)

    def config_settings(self, *variants: str) -> Callable[[Hook], Hook]:
        return self._register("config_settings", variants)

    def prepare(self, *variants: str) -> Callable[[Hook], Hook]:
        return self._register("prepare", variants)

    def kernels(self, *variants: str) -> Callable[[Hook], Hook]:
        """Declare which modules must carry kernels, so a build that skipped them is refused."""
        return self._register("kernels", variants)

    def requires(self, *variants: str) -> Callable[[Hook], Hook]:
        return self._register("requires", variants)

    def build_requires(self, *variants: str) -> Callable[[Hook], Hook]:
        return self._register("build_requires", variants)

    def drop_requires(self, *variants: str) -> Callable[[Hook], Hook]:
        """Published metadata describes upstream's own (often CUDA) wheel; a rocm build may not need all of it."""
        return self._register("drop_requires", variants)

    def links(self, *variants: str) -> Callable[[Hook], Hook]:
        """Declare the libraries a module must link, so a wanted library that the build left out is refused."""
        return self._register("links", variants)

    def extra_sources(self, *variants: str) -> Callable[[Hook], Hook]:
        return self._register("extra_sources", variants)

    def ships(self, *variants: str) -> Callable[[Hook], Hook]:
        return self._register("ships", variants)

    def source_for(self, variant: str) -> Source | None:
        """The source of the variant family's builds (None: the PyPI sdist)."""
        return self.sources.get(variant, self.source)

    def has_hooks_for(self, variant: str) -> bool:
        """Whether anything in this recipe is specific to ``variant`` (then its toolchain must be there)."""
        return any(v == variant for (_, v) in self._hooks)

    def hook(self, hook: str, variant: str) -> Hook | None:
        """The variant's own function if there is one, else the generic one, else None."""
        return self._hooks.get((hook, variant)) or self._hooks.get((hook, None))

    def hooks(self) -> list[tuple[str, str | None]]:
        """(hook name, variant or None) for every registered function."""
        return list(self._hooks)

    def variants(self) -> set[str]:
        """The variants with hooks of their own (not the variants it applies to: see ``applies_to``)."""
        return {v for (_, v) in self._hooks if v is not None}

    def applies(self, variant: str) -> bool:
        """Whether the package is built for ``variant`` at all (``Recipe(..., variants=...)``; default: every variant)."""
        return self.applies_to is None or variant in self.applies_to


@dataclass(frozen=True)
class LoadedRecipe:
    """A recipe with the hash of its source file (an input to every cache key it touches)."""

    recipe: Recipe
    source_hash: str
    path: Path | None

    @property
    def applies_to(self) -> tuple[str, ...] | None:
        """The variant families the recipe declares (``variants=``); None: every variant."""
        return self.recipe.applies_to

    def applies(self, variant: str) -> bool:
        return self.recipe.applies(variant)

    def env(self, ctx: RecipeContext) -> Mapping[str, str]:
        hook = self.recipe.hook("env", ctx.variant.name)
        return {str(k): str(v) for k, v in (hook(ctx) if hook else {}).items()}

    def config_settings(self, ctx: RecipeContext) -> Mapping[str, Any] | None:
        hook = self.recipe.hook("config_settings", ctx.variant.name)
        return dict(hook(ctx)) if hook else None

    def prepare(self, ctx: RecipeContext) -> None:
        hook = self.recipe.hook("prepare", ctx.variant.name)
        if hook:
            hook(ctx)

    def kernels(self, ctx: RecipeContext) -> dict[str, tuple[str, ...]]:
        """Module pattern -> archs it must carry (empty: every arch of the variant)."""
        hook = self.recipe.hook("kernels", ctx.variant.name)
        declared = hook(ctx) if hook else ()
        if isinstance(declared, Mapping):
            return {str(k): tuple(str(a) for a in v) for k, v in declared.items()}
        return {str(p): () for p in declared}

    def requires(self, ctx: RecipeContext) -> tuple[str, ...]:
        return self._strings("requires", ctx)

    def build_requires(self, ctx: RecipeContext) -> tuple[str, ...]:
        return self._strings("build_requires", ctx)

    def drop_requires(self, ctx: RecipeContext) -> tuple[str, ...]:
        return self._strings("drop_requires", ctx)

    def ships(self, ctx: RecipeContext) -> tuple[str, ...]:
        return self._strings("ships", ctx)

    def drop_reasons(self, ctx: RecipeContext) -> dict[str, str]:
        """Pattern -> why the build does not have it; a hook returning a list gives no reasons (`recipe check` asks for them)."""
        hook = self.recipe.hook("drop_requires", ctx.variant.name)
        dropped = hook(ctx) if hook else ()
        return {str(k): str(v) for k, v in dropped.items()} if isinstance(dropped, Mapping) else dict.fromkeys(map(str, dropped), "")

    def links(self, ctx: RecipeContext) -> dict[str, tuple[str, ...]]:
        """Module pattern -> soname patterns it must have as DT_NEEDED."""
        hook = self.recipe.hook("links", ctx.variant.name)
        declared = hook(ctx) if hook else {}
        if not isinstance(declared, Mapping):
            raise ConfigError(f"links must return {{module pattern: [soname patterns]}}, not {type(declared).__name__}")
        return {str(k): tuple(str(p) for p in v) for k, v in declared.items()}

    def extra_sources(self, ctx: RecipeContext) -> tuple[ExtraSource, ...]:
        hook = self.recipe.hook("extra_sources", ctx.variant.name)
        declared = tuple(hook(ctx)) if hook else ()
        wrong = [d for d in declared if not isinstance(d, ExtraSource)]
        if wrong:
            raise ConfigError(f"extra_sources must return ExtraSource records, not {type(wrong[0]).__name__}")
        names = [d.name for d in declared]
        if len(set(names)) != len(names):
            raise ConfigError(f"extra_sources names {sorted(n for n in names if names.count(n) > 1)[0]!r} twice")
        return declared

    def _strings(self, hook_name: str, ctx: RecipeContext) -> tuple[str, ...]:
        hook = self.recipe.hook(hook_name, ctx.variant.name)
        return tuple(str(p) for p in hook(ctx)) if hook else ()


def cuda_arch_list(archs: tuple[str, ...]) -> str:
    """sm_75, sm_90a, sm_100 -> "7.5;9.0a;10.0": the TORCH_CUDA_ARCH_LIST form torch's extensions read."""
    out = []
    for arch in archs:
        digits = arch.removeprefix("sm_").rstrip("abcdefghijklmnopqrstuvwxyz")
        out.append(f"{digits[:-1]}.{digits[-1]}{arch.removeprefix('sm_')[len(digits):]}")
    return ";".join(out)


DEFAULT_HASH = hashlib.sha256(b"default-recipe").hexdigest()


def module_path(recipes_dir: Path, name: str) -> Path:
    return recipes_dir / f"{canonicalize_name(name).replace('-', '_')}.py"


def load_recipe(recipes_dir: Path, name: str) -> LoadedRecipe:
    """Import ``recipes/<name>.py`` if it exists; otherwise the default recipe."""
    path = module_path(recipes_dir, name)
    if not path.exists():
        return LoadedRecipe(Recipe(name), DEFAULT_HASH, None)
    source = path.read_bytes()
    spec = importlib.util.spec_from_file_location(f"wheelwright_recipes.{path.stem}", path)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    try:
        spec.loader.exec_module(module)
    except Exception as exc:
        raise ConfigError(f"{path}: recipe failed to import: {type(exc).__name__}: {exc}") from None
    recipe = getattr(module, "recipe", None)
    if not isinstance(recipe, Recipe):
        raise ConfigError(f"{path}: must define `recipe = Recipe({name!r})`")
    return LoadedRecipe(recipe, hashlib.sha256(source).hexdigest(), path)


def recipe_names(recipes_dir: Path) -> list[str]:
    """Every package that has a recipe module, by canonical name (sessions are generated from this)."""
    return sorted(canonicalize_name(p.stem) for p in recipes_dir.glob("*.py") if not p.name.startswith("_"))


def call_hook_safely(what: str, function: Callable[[], Any]) -> Any:
    """Recipes are user code: turn their exceptions into one line naming the recipe."""
    try:
        return function()
    except ConfigError:
        raise
    except Exception as exc:
        raise ConfigError(f"{what}: recipe raised {type(exc).__name__}: {exc}") from None




def declared_renames(recipes_dir: Path) -> list[Rename]:
    """Renames recipes declare with ``Recipe(..., renamed_from=(...))``."""
    return [
        Rename(old, loaded.recipe.name, f"declared by recipes/{loaded.path.name if loaded.path else ''}")
        for loaded in (load_recipe(recipes_dir, name) for name in recipe_names(recipes_dir))
        for old in loaded.recipe.renamed_from
    ]
