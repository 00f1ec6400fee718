"""Generated access events for the drift demonstration and tests: days at a door, maybe shifted.

Not a model of any real door: arrivals follow a day/night rate, 80 % of faces are enrolled
people (distances around 0.30), the rest strangers (around 0.62); a retry or a deny of an
enrolled person is followed by a second attempt. A Shift darkens, blurs or shrinks the faces
and moves distances, as a dimmer lamp, a dirty lens or a camera moved back would.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

import numpy as np

from facegate.access_event import AccessEvent
from facegate.decide.policy import Match, decide_access
from facegate.decide.rules import DoorRules

THRESHOLD = 0.42
RETRY_MARGIN = 0.05
ENROLLED_SHARE = 0.8
SPOOF_SHARE = 0.01
DAY_RATE, NIGHT_RATE = 20.0, 1.0  # arrivals per hour, 07:00-19:00 and otherwise
DOOR = DoorRules("simulated", liveness="camera", configured=False)  # an unconfigured door
MOMENT = datetime(2026, 1, 1)  # an unconfigured door has no schedule: any moment decides alike


@dataclass(frozen=True)
class Shift:
    """How the shifted days differ from normal ones (no change by default)."""

    brightness: float = 0.0  # added grey levels
    blur: float = 1.0  # sharpness and focus multiplied by this
    face_scale: float = 1.0  # face width multiplied by this
    distance: float = 0.0  # added to every distance


def _attempt(
    rng: np.random.Generator, enrolled: bool, shift: Shift
) -> tuple[str, str | None, float, dict[str, float], dict[str, object], str]:
    """Return decision, person, distance, face quality, liveness and reason of one attempt."""
    spoof = rng.random() < SPOOF_SHARE
    mean = 0.30 if enrolled else 0.62
    distance = float(np.clip(rng.normal(mean, 0.06) + shift.distance, 0.05, 1.2))
    quality = {
        "brightness": float(np.clip(rng.normal(125, 18) + shift.brightness, 0, 255)),
        "sharpness": float(rng.lognormal(np.log(150), 0.45) * shift.blur),
        "focus": float(rng.lognormal(np.log(1.2), 0.3) * shift.blur),
        "face_px": int(max(60, rng.normal(110, 20) * shift.face_scale)),
    }
    # A stranger's nearest enrolled face is someone else: matching names nobody.
    named = f"person-{rng.integers(40)}" if enrolled and distance <= THRESHOLD else None
    verdict = decide_access(
        Match(named, distance, THRESHOLD), DOOR, None, MOMENT, not spoof, RETRY_MARGIN
    )
    live = {"live": not spoof}
    return verdict.decision, verdict.person, distance, quality, live, verdict.reason


def simulate(
    door: str, start: datetime, days: float, seed: int, shift: Shift | None = None
) -> list[AccessEvent]:
    """Return the identify events of one door from start for this many days, in time order."""
    rng = np.random.default_rng(seed)
    shift = shift or Shift()
    events: list[AccessEvent] = []
    track = 0
    for hour in range(int(days * 24)):
        at = start + timedelta(hours=hour)
        rate = DAY_RATE if 7 <= at.hour < 19 else NIGHT_RATE
        for offset in sorted(rng.uniform(0, 3600, rng.poisson(rate))):
            enrolled = rng.random() < ENROLLED_SHARE
            moment = at + timedelta(seconds=float(offset))
            for attempt in (1, 2):
                track += 1
                decision, person, distance, quality, live, reason = _attempt(rng, enrolled, shift)
                events.append(
                    AccessEvent(
                        time=moment.isoformat(timespec="milliseconds"),
                        door=door,
                        mode="identify",
                        track=track,
                        claimed=None,
                        decision=decision,
                        person=person,
                        distance=round(distance, 4),
                        threshold=THRESHOLD,
                        frames_used=5,
                        face_quality=quality,
                        liveness=live,
                        latency_ms=round(float(rng.lognormal(np.log(450), 0.3)), 1),
                        attempt=attempt,
                        reason=reason,
                        policy_version=DOOR.version,
                    )
                )
                if decision == "unlock" or not enrolled:
                    break
                moment += timedelta(seconds=float(rng.uniform(5, 30)))
    return sorted(events, key=lambda e: e.time)
