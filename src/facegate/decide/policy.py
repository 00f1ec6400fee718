"""The door policy: match result + liveness + the door's rules -> unlock | retry | deny + reason.

One home for the decision: the access loop, the CLI, the HTTP service and the simulator all
call `decide_access`. Identify has already searched everyone enrolled; only then do the door's
rules apply, so a recognised person who may not enter is refused (`not_allowed`), never let in
for resembling someone who may.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from facegate.decide.rules import DoorRules, PersonAccess
from facegate.decide.threshold import ImpostorTail, identify_threshold

Decision = Literal["unlock", "retry", "deny"]
Reason = Literal[
    "granted",
    "unknown",
    "retry",
    "not_live",
    "liveness_retry",
    "not_allowed",
    "outside_schedule",
    "expired",
    "not_yet_valid",
    "rate_limited",
    "unknown_door",
    "centre_unreachable",
    "centre_refused",
]


@dataclass(frozen=True)
class Match:
    """What matching found: the person named (None = nobody), the distance and the threshold."""

    person: str | None
    distance: float
    threshold: float


@dataclass(frozen=True)
class AccessDecision:
    """The door's answer: unlock, retry or deny, the reason, and who was recognised.

    person is who was let in (unlock) or who was recognised and refused by the door's rules
    (not_allowed, outside_schedule, expired, not_yet_valid); None otherwise.
    """

    decision: Decision
    reason: Reason
    person: str | None


def _deny(reason: Reason) -> AccessDecision:
    """Return a refusal for this reason."""
    return AccessDecision("deny", reason, None)


def admits(door: DoorRules, access: PersonAccess, local: datetime) -> Reason:
    """Return 'granted' when the door's rules let this person in at this local time, else why not.

    Validity first (expired / not yet valid, by the site's calendar date), then the groups
    (none allowed = not_allowed), then the allowed groups' windows (outside_schedule).
    """
    today = local.date()
    if access.valid_until is not None and today > access.valid_until:
        return "expired"
    if access.valid_from is not None and today < access.valid_from:
        return "not_yet_valid"
    if not door.allow:
        return "granted"
    groups = [g for g in door.allow if g in access.groups]
    if not groups:
        return "not_allowed"
    for group in groups:
        windows = door.schedules.get(group, ())
        if not windows or any(w.contains(local) for w in windows):
            return "granted"
    return "outside_schedule"


def decide_access(
    match: Match,
    door: DoorRules,
    access: PersonAccess | None,
    local: datetime,
    live: bool | None,
    retry_margin: float,
    rate_limited: bool = False,
    ask: bool = False,
) -> AccessDecision:
    """Return the door's decision for one match (local = now in the site's time zone).

    live: the liveness verdict, or None when the channel has none (one uploaded image). A door
    with liveness 'required' refuses both False and None; 'camera' refuses only False (the
    unconfigured door: today's behaviour); 'off' ignores it. Nobody named: retry within
    retry_margin above the threshold, else unknown. Someone named: the door's rules decide.
    A closed door (a name nobody configured, at a site that configures its doors) refuses
    everyone: unknown_door.
    ask: when liveness refuses a face that matched someone and the evidence can still be
    completed by a motion the door asks for (a turn of the head), the answer is retry with the
    reason liveness_retry, not deny.
    """
    if rate_limited:
        return _deny("rate_limited")
    if door.closed:
        return _deny("unknown_door")
    if (door.liveness == "required" and live is not True) or (
        door.liveness == "camera" and live is False
    ):
        if ask and match.person is not None:
            return AccessDecision("retry", "liveness_retry", None)
        return _deny("not_live")
    if match.person is None:
        near = math.isfinite(match.distance) and match.distance <= match.threshold + retry_margin
        return AccessDecision("retry", "retry", None) if near else _deny("unknown")
    reason = admits(door, access or PersonAccess(), local)
    if reason != "granted":
        return AccessDecision("deny", reason, match.person)
    return AccessDecision("unlock", "granted", match.person)


def camera_live(live: bool | None, door: DoorRules) -> bool | None:
    """Return a camera's liveness verdict as decide_access reads it for this door.

    A template (or a loop's track) always comes from a camera, so no verdict there means the
    camera did not check: at a door that checks liveness ('required', or 'camera' = refuse
    what the camera refused) it counts as not live; at 'off' it stays None (ignored).
    """
    return False if live is None and door.liveness != "off" else live


def centre_unreachable() -> AccessDecision:
    """Return an edge door's decision when the centre cannot be asked: deny (fail closed)."""
    return _deny("centre_unreachable")


def door_threshold(door: DoorRules, vectors: int, tail: ImpostorTail, cap: float) -> float:
    """Return the distance threshold a door's target rate yields (never above cap).

    Identify: the 1:N threshold for this many enrolled vectors at FPIR = door.far. Verify: the
    impostor distance at FAR = door.far per comparison.
    """
    if door.mode == "identify":
        return identify_threshold(vectors, door.far, tail, cap)
    return min(cap, tail.distance_at(door.far))
