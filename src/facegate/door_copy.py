"""A door's copy of the people it may admit: what the centre sends, what an edge door decides on.

The centre builds it (service/door_copy.py) from the door's rules: only the people those rules
can admit (the door's allowed groups, or everyone enrolled at a door that allows all), with
their vectors, groups and validity dates; the door's mode, level, liveness and schedules; the
site's time zone; and the threshold the centre computes for the FULL gallery at the door's
level. Because the copy lacks everyone else, that threshold keeps a not-allowed enrolled person
(absent from the copy) no likelier to unlock than any stranger.
"""

from __future__ import annotations

from datetime import date
from typing import Annotated, Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from facegate.decide.rules import DoorRules, PersonAccess, Window
from facegate.gallery.types import EmbeddingSet

COPY_VERSION = 1
MAX_VECTORS = 200_000  # a copy longer than this is refused (a door box holds a site's doors)

Finite = Annotated[float, Field(allow_inf_nan=False, strict=True)]
Name = Annotated[str, Field(min_length=1, max_length=200)]


class CopyPerson(BaseModel):
    """One person the door may admit: name, id, groups, validity dates and face vectors."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: int
    name: Name
    groups: list[Annotated[str, Field(max_length=64)]] = Field(max_length=1000)
    valid_from: date | None = None
    valid_until: date | None = None
    vectors: list[Annotated[list[Finite], Field(max_length=4096)]] = Field(
        min_length=1, max_length=MAX_VECTORS
    )


class CopyRules(BaseModel):
    """The door's rules as the copy carries them (DoorRules, schedules as text windows)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str
    mode: Literal["identify", "verify"]
    level: Literal["low", "standard", "high", "custom"]
    far: float
    allow: list[str]
    schedules: dict[str, list[str]]
    liveness: Literal["required", "camera", "off"]
    version: int
    configured: bool
    closed: bool


class DoorCopy(BaseModel):
    """Everything an edge door needs to decide its tracks while the centre is unreachable."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    version: Literal[1] = COPY_VERSION
    door: str
    issued_at: str = Field(description="The centre's time when it built the copy (ISO 8601).")
    timezone: str = Field(description="The site's time zone: schedules and dates are read in it.")
    model: str
    dimension: int = Field(ge=1, le=4096)
    gallery_vectors: int = Field(ge=0, description="Vectors in the FULL gallery of the model.")
    threshold: Finite = Field(description="The door's threshold for the full gallery.")
    identify_k: int = Field(ge=1)
    retry_margin: Finite
    rules: CopyRules
    people: list[CopyPerson]

    def door_rules(self) -> DoorRules:
        """Return the door's rules (the same DoorRules the centre decides with)."""
        r = self.rules
        schedules = {g: tuple(Window.parse(w) for w in ws) for g, ws in r.schedules.items()}
        return DoorRules(
            name=r.name,
            mode=r.mode,
            level=r.level,
            far=r.far,
            allow=tuple(r.allow),
            schedules=schedules,
            liveness=r.liveness,
            version=r.version,
            configured=r.configured,
            closed=r.closed,
        )

    def embeddings(self) -> EmbeddingSet:
        """Return the copy's vectors with each row's person, in the centre's order."""
        names = [p.name for p in self.people for _ in p.vectors]
        if not names:
            return EmbeddingSet.empty()
        rows = [v for p in self.people for v in p.vectors]
        return EmbeddingSet(names=names, vectors=np.asarray(rows, dtype=np.float32))

    def accesses(self) -> dict[str, PersonAccess]:
        """Return each copied person's groups and validity dates, by name."""
        return {
            p.name: PersonAccess(frozenset(p.groups), p.valid_from, p.valid_until)
            for p in self.people
        }


def copy_problem(copy: DoorCopy, door: str, model: str, tolerance: float) -> str | None:
    """Return why a door cannot decide with this copy (None when it can)."""
    if copy.door != door or copy.rules.name != door:
        return f"the copy is of door {copy.door!r}, not {door!r}"
    if copy.model != model:
        return f"the copy holds {copy.model!r} vectors, the door embeds with {model!r}"
    if copy.rules.mode != "identify":
        return f"door {door!r} is configured for {copy.rules.mode}, an edge door identifies"
    count = sum(len(p.vectors) for p in copy.people)
    if count > MAX_VECTORS:
        return f"the copy holds {count} vectors, more than {MAX_VECTORS}"
    for person in copy.people:
        for vector in person.vectors:
            if len(vector) != copy.dimension:
                return (
                    f"a vector of {person.name!r} has {len(vector)} numbers, not {copy.dimension}"
                )
            norm = float(np.linalg.norm(np.asarray(vector, dtype=np.float64)))
            if abs(norm - 1.0) > tolerance:
                return f"a vector of {person.name!r} is not of unit length (norm {norm:.6g})"
    return None
