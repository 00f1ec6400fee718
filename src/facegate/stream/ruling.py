"""A track's ruling, and the interface of a ruler elsewhere (the centre of `run --server`).

The loop rules here (its own gallery and door policy) unless it is given a RemoteRuler: then it
hands the fused template of each track to it and acts on the answer.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np

from facegate.decide.policy import AccessDecision, Match


@dataclass(frozen=True)
class Ruling:
    """What decided a track: decision, reason, who, the numbers (None where not told), attempt."""

    decision: str
    reason: str
    person: str | None
    distance: float | None
    threshold: float
    policy_version: int | None
    attempt: int | None = None
    decided_offline: bool = False  # an edge door's own ruling from its copy (centre away)
    matched: str | None = None  # whom the face matched, whatever the decision (kept at the
    # door for its own counting, never in an event; None where the ruler does not say)

    @classmethod
    def of(
        cls, verdict: AccessDecision, match: Match, version: int, decided_offline: bool = False
    ) -> Ruling:
        """Return the ruling a door policy's verdict on a match makes (no distance: nobody)."""
        distance = float(match.distance) if math.isfinite(match.distance) else None
        return cls(
            verdict.decision,
            verdict.reason,
            verdict.person,
            distance,
            match.threshold,
            version,
            decided_offline=decided_offline,
            matched=match.person,
        )


@dataclass(frozen=True)
class TrackEvidence:
    """What the door knows of a track besides its template: liveness, quality, timings."""

    door: str
    track: int
    live: bool | None
    ask: bool
    liveness: dict[str, Any]
    face_quality: dict[str, Any]
    frames_used: int
    latency_ms: float


class RemoteRuler(Protocol):
    """Rules on one track's fused template somewhere else (the centre) and returns the ruling."""

    def rule(self, template: np.ndarray, model: str, evidence: TrackEvidence) -> Ruling:
        """Return the ruling on the template (a door that cannot ask anyone denies)."""
        ...
