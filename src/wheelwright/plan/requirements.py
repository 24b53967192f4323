"""Install requirements come from the built wheel's own METADATA, not from what we guessed."""

from __future__ import annotations

import email.parser
import zipfile
from collections.abc import Iterable, Mapping
from pathlib import Path

from packaging.specifiers import SpecifierSet
from packaging.requirements import InvalidRequirement, Requirement
from packaging.utils import canonicalize_name

from wheelwright.errors import BuildError


def wheel_requires_dist(wheel: Path) -> list[str]:
    """The raw ``Requires-Dist`` lines of a wheel."""
    return wheel_metadata_field(wheel, "Requires-Dist")


def wheel_metadata_field(wheel: Path, field: str) -> list[str]:
    """Every value of one METADATA field of a wheel (``Requires-Dist``, ``Provides-Extra``)."""
    with zipfile.ZipFile(wheel) as zf:
        names = [n for n in zf.namelist() if n.count("/") == 1 and n.endswith(".dist-info/METADATA")]
        if len(names) != 1:
            raise BuildError(f"{wheel.name}: expected one .dist-info/METADATA, found {len(names)}")
        message = email.parser.BytesParser().parsebytes(zf.read(names[0]), headersonly=True)
    return [str(value) for value in message.get_all(field) or []]


def applicable(requirements: Iterable[str], markers: Mapping[str, str], extras: Iterable[str] = (), *, source: str) -> list[Requirement]:
    """Requirements whose markers hold for the target interpreter, with the given extras requested."""
    result: list[Requirement] = []
    for line in requirements:
        try:
            req = Requirement(line)
        except InvalidRequirement as exc:
            raise BuildError(f"{source}: malformed requirement {line!r}: {exc}") from None
        if req.marker is None:
            result.append(req)
            continue
        for extra in ("", *extras):
            if req.marker.evaluate({**markers, "extra": extra}):
                result.append(req)
                break
    return result


def renamed(req: Requirement, name: str, specifier: SpecifierSet | None = None) -> Requirement:
    """The same requirement (extras, marker) under another name: aiter -> amd-aiter."""
    extras = f"[{','.join(sorted(req.extras))}]" if req.extras else ""
    marker = f"; {req.marker}" if req.marker else ""
    return Requirement(f"{name}{extras}{specifier if specifier is not None else req.specifier}{marker}")


def unmarked(req: Requirement) -> Requirement:
    """Evaluated already: the plan states what this interpreter gets, without the marker."""
    req.marker = None
    return req


def same_requirements(a: Iterable[str], b: Iterable[str]) -> bool:
    """Whether two requirement lists say the same, the way pip compares them: names normalised (``more_itertools``
    is ``more-itertools``), extras as sets, specifiers as sets, markers as parsed."""
    return {requirement_key(line) for line in a} == {requirement_key(line) for line in b}


def requirement_key(line: str) -> str:
    req = Requirement(line)
    extras = f"[{','.join(sorted(canonicalize_name(e) for e in req.extras))}]" if req.extras else ""
    specifier = ",".join(sorted(str(s) for s in req.specifier))
    url = f" @ {req.url}" if req.url else ""
    marker = f" ; {req.marker}" if req.marker else ""
    return f"{canonicalize_name(req.name)}{extras}{specifier}{url}{marker}"
