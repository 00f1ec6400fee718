"""The JSON a door sends with `run --server` (a fused template, never an image) and its answer."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StrictBool, StrictInt, StringConstraints

from facegate.service.schemas import DOOR_PATTERN, Decision

MAX_DIMENSION = 4096  # longer vectors are refused before any arithmetic
EVENT_KEY_PATTERN = r"^[A-Za-z0-9_-]{16,64}$"

Finite = Annotated[float, Field(allow_inf_nan=False, strict=True)]
Short = Annotated[str, StringConstraints(max_length=200)]
Value = (
    StrictBool | StrictInt | Finite | Short | None | Annotated[list[Finite], Field(max_length=8)]
)
Evidence = Annotated[
    dict[Annotated[str, StringConstraints(min_length=1, max_length=40)], Value],
    Field(max_length=40),
]


class OfflineDecision(BaseModel):
    """What a door did while the centre was unreachable: it denied (queued, delivered later)."""

    model_config = ConfigDict(extra="forbid")

    decision: Literal["deny"]
    reason: Literal["centre_unreachable"]


class TemplateIn(BaseModel):
    """One track's fused template and what the door knows of it."""

    model_config = ConfigDict(extra="forbid")

    event_key: str = Field(
        pattern=EVENT_KEY_PATTERN,
        description="The door's idempotency key: a retried delivery answers the first result.",
    )
    door: str = Field(pattern=DOOR_PATTERN)
    model: str = Field(min_length=1, max_length=100, description="The door's embedder name.")
    vector: list[Finite] = Field(
        min_length=1, max_length=MAX_DIMENSION, description="The fused unit embedding."
    )
    live: bool | None = Field(description="The door's liveness verdict (None: no verdict).")
    ask: bool = Field(False, description="The evidence can be completed by a head turn.")
    liveness: Evidence = Field(default_factory=dict, description="The liveness cues.")
    face_quality: Evidence = Field(default_factory=dict, description="The best frame's quality.")
    frames_used: int = Field(ge=1, le=1000)
    track: int | None = Field(None, ge=0, le=2**62)
    latency_ms: Finite = Field(ge=0.0, le=3.6e6, description="Door time from first sight.")
    time: str = Field(max_length=40, description="When the door decided (ISO 8601).")
    offline: OfflineDecision | None = Field(
        None, description="Set on a queued event: the door already acted on this decision."
    )


class TemplateDecision(Decision):
    """The centre's answer to a template, with the door's key and whether it was a replay."""

    event_key: str
    replayed: bool = Field(description="True: this key was decided before; the first result.")
