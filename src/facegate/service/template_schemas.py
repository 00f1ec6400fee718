"""The JSON a door sends with `run --server` (a fused template, never an image) and its answer."""

from __future__ import annotations

from typing import Annotated

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StrictBool,
    StrictInt,
    StringConstraints,
    model_validator,
)

from facegate.decide.policy import Decision as Outcome
from facegate.decide.policy import Reason
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


# reasons only the centre gives: a door's queued decision never carries them
CENTRE_ONLY_REASONS = frozenset({"rate_limited", "centre_refused"})


class OfflineDecision(BaseModel):
    """What a door did while the centre was unreachable (queued, delivered later).

    Without decided_offline it denied (centre_unreachable, fail closed); with it, it decided
    from its copy of the door's allowed people (`edge.offline = "cache"`) and says what it found.
    """

    model_config = ConfigDict(extra="forbid")

    decision: Outcome
    reason: Reason
    decided_offline: StrictBool = False
    person: Annotated[str, StringConstraints(min_length=1, max_length=200)] | None = None
    distance: Annotated[float, Field(ge=0.0, le=2.0, allow_inf_nan=False)] | None = None
    threshold: Annotated[float, Field(ge=0.0, le=2.0, allow_inf_nan=False)] | None = None
    policy_version: StrictInt | None = None

    @model_validator(mode="after")
    def _consistent(self) -> OfflineDecision:
        """Refuse a decision the door could not have taken offline."""
        if self.reason in CENTRE_ONLY_REASONS:
            raise ValueError(f"reason {self.reason} is given only by the centre")
        if not self.decided_offline:
            told = (self.decision, self.reason, self.person)
            if told != ("deny", "centre_unreachable", None):
                raise ValueError("a queued event not decided offline reports the door's deny")
            return self
        if self.reason == "centre_unreachable":
            raise ValueError("a door that decided offline says why, not centre_unreachable")
        if (self.decision == "unlock") != (self.reason == "granted"):
            raise ValueError(f"decision {self.decision} does not go with reason {self.reason}")
        if self.decision == "unlock" and self.person is None:
            raise ValueError("an offline unlock names the person it let in")
        return self


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
