"""Pinned source references for nodes the index does not describe as an sdist: a recipe's git tag or
tarball, and a variant's prebuilt vendor wheels. Chosen once, at plan time."""

from __future__ import annotations

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from packaging.version import Version

from wheelwright.config.constraints import Constraints
from wheelwright.config.interpreters import Interpreter
from wheelwright.errors import ResolutionError, SourceError
from wheelwright.plan.graph import SourceRef
from wheelwright.plan.tags import target_tags
from wheelwright.recipes.api import GitSource, Source
from wheelwright.remote.index import PackageIndex, SourceDistribution


def declared_source(req: Requirement, declared: Source, constraints: Constraints) -> tuple[Version, SourceRef]:
    """A recipe's git tag or tarball, for the one version the plan or the constraints pin."""
    spec = req.specifier & constraints.specifier_for(req.name)
    pins = [s.version for s in spec if s.operator == "==" and "*" not in s.version]
    if len(set(pins)) != 1:
        raise ResolutionError(f"{req.name}: its recipe builds it from {declared.url}; pin one version (==) in the constraints")
    version = pins[0]
    name = canonicalize_name(req.name)
    if isinstance(declared, GitSource):
        return Version(version), SourceRef(kind="git", url=declared.url, filename=f"{name.replace('-', '_')}-{version}.tar.gz",
                                           git_ref=declared.ref(version), git_commit=declared.commits.get(version))
    url = declared.url.format(version=version)
    if version not in declared.sha256:
        raise ResolutionError(f"{name} {version}: recipes/{name.replace('-', '_')}.py declares no sha256 for {url}; refusing an unverified download")
    return Version(version), SourceRef(kind="url", url=url, filename=url.rsplit("/", 1)[-1], sha256=declared.sha256[version])


def prebuilt_wheel(req: Requirement, constraints: Constraints, index: PackageIndex | None, interpreter: Interpreter,
                   variant: str) -> tuple[Version, SourceRef]:
    """The best fitting vendor wheel the variant takes as-is, pinned by its sha256."""
    if index is None:
        raise ResolutionError(f"{req.name}: variant {variant} takes it prebuilt but declares no prebuilt_index")
    spec = req.specifier & constraints.specifier_for(req.name)
    tags = target_tags(interpreter)
    wheels = [f for f in index.files(req.name) if f.is_wheel and not f.yanked and f.tags & tags and spec.contains(f.version, prereleases=True)]
    if not wheels:
        raise ResolutionError(f"{req.name}: no prebuilt wheel on {getattr(index, 'url', 'the prebuilt index')} "
                              f"matches {str(req)!r} for this interpreter")
    best = max(wheels, key=lambda f: (f.version, f.filename))
    return best.version, SourceRef(kind="prebuilt", url=best.url, filename=best.filename, sha256=best.sha256)


def to_distribution(name: str, version: str, ref: SourceRef) -> SourceDistribution:
    """The fetcher's view of a reference (it verifies sha256, or the git commit when one is pinned)."""
    if not ref.url:
        raise SourceError(f"{name} {version}: no source to fetch")
    return SourceDistribution(name=canonicalize_name(name), version=Version(version), filename=ref.filename, url=ref.url,
                              sha256=ref.sha256 or "", requires_python=ref.requires_python, yanked=False,
                              git_ref=ref.git_ref, git_commit=ref.git_commit)
