"""Door checks over HTTP: rate limit, decode, decide (decide/policy.py), log, send to outputs.

Door-scope keys get the decision and its reason only; admin and read keys also see the
numbers (distances, threshold, who was recognised), which a probing caller could otherwise
use to tune an image toward a match.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from typing import BinaryIO

import numpy as np

from facegate import api
from facegate.access import DoorPolicy
from facegate.access_event import AccessEvent, now_iso
from facegate.decide.policy import Match
from facegate.errors import FacegateError
from facegate.media import load_image
from facegate.service.door_binding import require_door
from facegate.service.errors import ApiError
from facegate.service.keys import ApiKey
from facegate.service.rate_limit import RateLimited
from facegate.service.resources import Resources
from facegate.service.schemas import Decision, FaceQuality

log = logging.getLogger(__name__)


def read_image(upload: BinaryIO, resources: Resources) -> np.ndarray:
    """Return the RGB array of one uploaded image, read at most one byte past the size limit."""
    media = resources.settings.media
    return load_image(upload.read(media.max_bytes + 1), media)


@contextmanager
def relabelled(label: str) -> Iterator[None]:
    """Re-raise facegate errors naming `label` instead of the API's '<array>'."""
    try:
        yield
    except FacegateError as exc:
        exc.args = tuple(str(a).replace("<array>", label) for a in exc.args)
        raise


def limit_subjects(key: ApiKey, door: str) -> list[str]:
    """Return what failed attempts are counted against: the API key and the door."""
    return [f"key:{key.id}", f"door:{door}"]


def _log(resources: Resources, event: AccessEvent) -> AccessEvent:
    """Number the event's attempt, append it to the log, send it to the outputs; return it."""
    key = event.person or event.claimed
    with resources.event_lock:
        events = resources.events()
        if key is not None:
            window = resources.settings.loop.attempt_window_seconds
            event = replace(
                event, attempt=events.attempt_number(event.door, key, event.time, window)
            )
        events.append(event)
    resources.outbox.send(event.as_dict())
    return event


def refuse_rate_limited(
    resources: Resources, key: ApiKey, door: str, mode: str, claimed: str | None, over: list[str]
) -> ApiError:
    """Log the refused attempt, raise an alarm, and return the 429 rate_limited answer."""
    policy = DoorPolicy(resources.policy_store(), door, mode, resources.settings)
    verdict = policy.decide(Match(None, math.inf, 0.0), None, rate_limited=True)
    event = AccessEvent(
        time=now_iso(),
        door=door,
        mode=mode,
        track=None,
        claimed=claimed,
        decision=verdict.decision,
        person=None,
        distance=None,
        threshold=0.0,
        frames_used=0,
        reason=verdict.reason,
        policy_version=policy.rules.version,
    )
    _log(resources, event)
    resources.alarm(door, key, over)
    window = resources.settings.doors.rate_limit_window_seconds
    return ApiError(
        429,
        "rate_limited",
        f"too many failed attempts ({', '.join(s.split(':')[0] for s in over)}); "
        f"try again within {window:g} s",
        {"Retry-After": str(math.ceil(window))},
    )


def _answer(check: api.DoorCheck, event: AccessEvent, detail: bool) -> Decision:
    """Return what the client sees: decision + reason, and with detail the numbers too."""
    base = Decision(
        mode=event.mode,  # type: ignore[arg-type]
        door=event.door,
        decision=event.decision,  # type: ignore[arg-type]
        reason=check.reason,
        attempt=event.attempt,
        time=event.time,
        latency_ms=round(event.latency_ms, 1),
    )
    if not detail:
        return base
    return base.model_copy(
        update={
            "person": check.person,
            "claimed": check.claimed,
            "distance": event.distance,
            "threshold": check.threshold,
            "policy_version": check.policy_version,
            "box": check.face.box.as_list(),
            "quality": FaceQuality(**check.face.quality.as_dict()),
        }
    )


def _decide(
    resources: Resources, door: str, claimed: str | None, upload: BinaryIO, subjects: list[str]
) -> api.DoorCheck:
    """Decode the upload, then as one admitted attempt decide and count a failure.

    The limiter holds a place for the attempt while it is decided, so the limit is exact under
    concurrency: the N+1-th concurrent failure is refused, not decided.
    """
    settings = resources.settings
    with relabelled("image"):
        image = read_image(upload, resources)
        store = resources.policy_store()
        with resources.limiter.attempt(subjects) as attempt:
            with resources.vision_lock:
                if claimed is None:
                    gallery = resources.cached_gallery()
                    result = api.check_identify(gallery, store, door, image, settings)
                else:
                    result = api.check_verify(
                        resources.gallery(), store, door, claimed, image, settings
                    )
            if result.decision != "unlock":
                attempt.failed()
    return result


def check(
    resources: Resources, key: ApiKey, door: str, claimed: str | None, upload: BinaryIO
) -> Decision:
    """Run one door check (verify with a claim, else identify): limit, decide, log, answer."""
    started = time.perf_counter()
    require_door(resources, key, door)
    mode = "identify" if claimed is None else "verify"
    subjects = limit_subjects(key, door)
    try:
        over = resources.limiter.blocked(subjects)  # cheap refusal before any decoding
        if over:
            raise RateLimited(over)
        result = _decide(resources, door, claimed, upload, subjects)
    except RateLimited as limited:
        raise refuse_rate_limited(resources, key, door, mode, claimed, limited.over) from None
    event = replace(result.event(), latency_ms=(time.perf_counter() - started) * 1e3)
    event = _log(resources, event)
    detail = key.grants("read")  # admin keys hold every scope; door-only keys do not
    return _answer(result, event, detail)
