"""The access event: one decision at a door, as the loop makes it and the log and outputs see it."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import Any

MODES = ("verify", "identify")
DECISIONS = ("unlock", "deny", "retry")

TimeLike = datetime | str


def to_utc(value: TimeLike) -> datetime:
    """Return an aware UTC datetime from a datetime or ISO 8601 string (naive means UTC)."""
    moment = datetime.fromisoformat(value) if isinstance(value, str) else value
    if moment.tzinfo is None:
        return moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)


def now_iso() -> str:
    """Return the current UTC time as ISO 8601 with milliseconds."""
    return datetime.now(UTC).isoformat(timespec="milliseconds")


@dataclass(frozen=True)
class AccessEvent:
    """One access decision at one door, with the scores and timings behind it."""

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
    face_quality: dict[str, Any] = field(default_factory=dict)
    liveness: dict[str, Any] | None = None
    latency_ms: float = 0.0
    attempt: int = 1
    reason: str | None = None
    policy_version: int | None = None
    prompt: str | None = None  # what the door should ask of the person (a liveness retry)
    video_s: float | None = None  # position in a video file or the demo scene (not logged)
    decided_offline: bool = False  # an edge door decided it from its copy (centre unreachable)
    door_action: str | None = None  # what the door did instead ("deny:centre_unreachable")

    def __post_init__(self) -> None:
        if self.mode not in MODES:
            raise ValueError(f"mode must be one of {MODES}, not {self.mode!r}")
        if self.decision not in DECISIONS:
            raise ValueError(f"decision must be one of {DECISIONS}, not {self.decision!r}")
        if not self.door:
            raise ValueError("an access event needs a door")
        if self.attempt < 1:
            raise ValueError("attempt numbers start at 1")
        to_utc(self.time)  # raises ValueError on a malformed time

    def as_dict(self) -> dict[str, Any]:
        """Return the event as a JSON-ready dict (one JSON line per event)."""
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> AccessEvent:
        """Return an event from a dict made by as_dict (or parsed from its JSON)."""
        return cls(**data)
