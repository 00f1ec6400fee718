"""The JSON bodies the service answers with (they also make the OpenAPI document)."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, Field

from facegate.service.errors import ErrorBody

DOOR_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$"


def error_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """Return OpenAPI response entries for these error statuses."""
    return {status: {"model": ErrorBody} for status in statuses}


class Person(BaseModel):
    """An enrolled person."""

    id: int = Field(description="Stable id; DELETE /v1/people/{id} uses it.")
    name: str
    created_at: str
    embeddings: int = Field(description="Vectors stored for this person.")
    consent: str | None = Field(description="The consent note of the latest enrollment.")


class People(BaseModel):
    """Every enrolled person, by name."""

    people: list[Person]


class Enrolled(BaseModel):
    """The result of an enrollment."""

    person: Person
    images: int


class Removed(BaseModel):
    """The person that was removed with all their data."""

    removed: Person


class FaceQuality(BaseModel):
    """How usable the probe face was."""

    face_px: int
    sharpness: float
    focus: float
    brightness: float


class Decision(BaseModel):
    """What the door should do and why (also stored as an access event).

    Door-scope keys get decision, reason, attempt and time only; keys with the read scope
    (admin holds it) also get the numbers behind it.
    """

    mode: Literal["verify", "identify"]
    door: str
    decision: Literal["unlock", "retry", "deny"]
    reason: str = Field(
        description="Why: granted, unknown, retry, not_live, liveness_retry (the door asks for a "
        "head turn), not_allowed, outside_schedule, expired, not_yet_valid, rate_limited, "
        "unknown_door (a door name nobody configured, at a site with configured doors)."
    )
    attempt: int = Field(description="1, or the n-th try by this person at this door lately.")
    time: str
    latency_ms: float = Field(description="Server time from the parsed request to the decision.")
    person: str | None = Field(None, description="Who was recognised (read scope only).")
    claimed: str | None = Field(None, description="The claimed person (verify; read scope).")
    distance: float | None = Field(None, description="Distance to the match (read scope only).")
    threshold: float | None = Field(None, description="The door's threshold (read scope only).")
    policy_version: int | None = Field(None, description="The door rules' version (read scope).")
    box: list[int] | None = Field(None, description="Face box [left, top, right, bottom].")
    quality: FaceQuality | None = None


class Event(BaseModel):
    """One logged access decision."""

    time: str
    door: str
    mode: str
    track: int | None
    claimed: str | None
    decision: str
    person: str | None
    distance: float | None
    threshold: float
    frames_used: int
    face_quality: dict[str, Any]
    liveness: dict[str, Any] | None
    latency_ms: float
    attempt: int
    reason: str | None = None
    policy_version: int | None = None
    decided_offline: bool = Field(
        False, description="An edge door decided it from its copy while the centre was away."
    )
    door_action: str | None = Field(
        None, description="What the door did instead, its answer lost (decision:reason)."
    )


class EventPage(BaseModel):
    """One page of events, newest first."""

    events: list[Event]
    total: int = Field(description="Events matching the filters, on all pages.")
    limit: int
    offset: int
    next_offset: int | None = Field(description="Offset of the next page; None on the last.")


class Health(BaseModel):
    """Liveness of the service and its databases."""

    status: Literal["ok"]
    version: str
    database: Literal["sqlite", "postgresql"] = Field(
        description="The gallery's backend (it answered a read just now)."
    )
