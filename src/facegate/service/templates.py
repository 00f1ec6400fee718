"""The centre's side of `run --server`: check a door's template, decide, log once, answer.

A template is a fused embedding a door computed; the centre trusts nothing in it. It must be
the gallery's model and dimension, finite and of unit length (edge.unit_tolerance); a forged
or malformed one is refused (422) and counted as a failed attempt of the key and the door, so
a key holder probing with made-up vectors hits the same rate limit (and alarm) as one
uploading photos. The decision is the same `DoorPolicy` -> `decide/policy.py` path as
/v1/identify and the loop take. Every event is stored under the door's idempotency key
(`EventLog.append_once`): a retried delivery is logged once and answers the first result.
"""

from __future__ import annotations

import logging
import math
import time
from dataclasses import replace
from datetime import datetime, timedelta

import numpy as np

from facegate import api
from facegate.access import DoorPolicy
from facegate.access_event import AccessEvent, now_iso, to_utc
from facegate.decide.match import distances
from facegate.decide.policy import Match, camera_live
from facegate.decide.search import identify_in
from facegate.service.checks import limit_subjects, refuse_rate_limited
from facegate.service.door_binding import require_door
from facegate.service.errors import ApiError
from facegate.service.keys import ApiKey
from facegate.service.rate_limit import RateLimited
from facegate.service.resources import Resources
from facegate.service.template_schemas import OfflineDecision, TemplateDecision, TemplateIn

log = logging.getLogger(__name__)


def template_problem(body: TemplateIn, model: str, dimension: int, tolerance: float) -> str | None:
    """Return why a template cannot be matched against this gallery (None when it can)."""
    if body.model != model:
        return f"template model {body.model!r} is not the gallery's ({model!r})"
    if len(body.vector) != dimension:
        return f"template has {len(body.vector)} dimensions, the gallery's model {dimension}"
    norm = math.sqrt(math.fsum(v * v for v in body.vector))
    if abs(norm - 1.0) > tolerance:
        return f"template is not a unit vector (norm {norm:.6g})"
    return None


def _door_time(body: TemplateIn, resources: Resources) -> str:
    """Return the door's decision time of a queued event, refused when malformed or implausible."""
    edge = resources.settings.edge
    try:
        moment = to_utc(body.time)
    except (ValueError, OverflowError):
        raise ApiError(422, "bad_template", f"time {body.time!r} is not ISO 8601") from None
    now = datetime.now(moment.tzinfo)
    if moment > now + timedelta(seconds=edge.max_skew_seconds):
        raise ApiError(422, "bad_template", "the event's time lies in the future")
    if moment < now - timedelta(seconds=edge.max_age_seconds):
        raise ApiError(422, "bad_template", "the event is older than edge.max_age_seconds")
    return moment.isoformat(timespec="milliseconds")


def _answer(event: AccessEvent, key: str, replayed: bool, detail: bool) -> TemplateDecision:
    """Return what the door sees: decision + reason (+ the numbers for a read-scope key)."""
    answer = TemplateDecision(
        mode="identify",
        door=event.door,
        decision=event.decision,  # type: ignore[arg-type]
        reason=event.reason or "",
        attempt=event.attempt,
        time=event.time,
        latency_ms=round(event.latency_ms, 1),
        event_key=key,
        replayed=replayed,
    )
    if not detail:
        return answer
    return answer.model_copy(
        update={
            "person": event.person,
            "distance": event.distance,
            "threshold": event.threshold,
            "policy_version": event.policy_version,
        }
    )


def _event(body: TemplateIn, decision: str, reason: str, **numbers: object) -> AccessEvent:
    """Return the access event of a template: the door's evidence, the decision and numbers."""
    fields: dict[str, object] = {
        "time": now_iso(),
        "person": None,
        "distance": None,
        "threshold": 0.0,
        "policy_version": None,
        **numbers,
    }
    return AccessEvent(
        door=body.door,
        mode="identify",
        track=body.track,
        claimed=None,
        decision=decision,
        frames_used=body.frames_used,
        face_quality=dict(body.face_quality),
        liveness={**body.liveness, "live": body.live, "via": "template"},
        latency_ms=body.latency_ms,
        reason=reason,
        **fields,  # type: ignore[arg-type]
    )


def _rule(resources: Resources, body: TemplateIn, vector: np.ndarray) -> AccessEvent:
    """Return the event of the door's policy applied to the template's nearest match."""
    settings = resources.settings
    embedder = api.get_pipeline(settings.vision).embedder
    gallery = resources.cached_gallery()
    policy = DoorPolicy(resources.policy_store(), body.door, "identify", settings)
    threshold = policy.threshold(gallery.count(embedder.name), embedder.name, embedder.model_path)
    found = identify_in(gallery, embedder.name, vector, threshold, settings.decide.identify_k)
    match = Match(found.person, found.distance, threshold)
    verdict = policy.decide(match, camera_live(body.live, policy.rules), ask=body.ask)
    return _event(
        body,
        verdict.decision,
        verdict.reason,
        person=verdict.person,
        distance=found.distance if math.isfinite(found.distance) else None,
        threshold=threshold,
        policy_version=policy.rules.version,
    )


def _store(resources: Resources, event: AccessEvent, key: str) -> tuple[AccessEvent, bool]:
    """Number the event's attempt and store it once under the key; send a new one outward."""
    person = event.person
    with resources.event_lock:
        events = resources.events()
        if person is not None:
            window = resources.settings.loop.attempt_window_seconds
            event = replace(
                event, attempt=events.attempt_number(event.door, person, event.time, window)
            )
        stored, new = events.append_once(event, key)
    if new:
        resources.outbox.send(stored.as_dict())
    return stored, new


def _door_did(resources: Resources, earlier: AccessEvent, body: TemplateIn) -> AccessEvent:
    """Return the logged event, noting what the door did when its answer was lost on the way.

    The centre decided and logged, the door never heard (a timeout) and acted on its own
    offline decision: the log keeps the centre's decision and records the door's action.
    """
    offline = body.offline
    if offline is None or (earlier.decision, earlier.reason) == (offline.decision, offline.reason):
        return earlier
    action = f"{offline.decision}:{offline.reason}"
    noted = resources.events().record_door_action(body.event_key, body.door, action)
    log.warning(
        "door %s did %s for event %s, which the centre had decided %s (answer lost)",
        body.door,
        action,
        body.event_key,
        earlier.decision,
    )
    return noted or earlier


def _claim_problem(resources: Resources, body: TemplateIn, model: str, person: str) -> str | None:
    """Return why an offline decision's named person does not fit its template (None: fits).

    The person must be enrolled and the template within decide.threshold (the cap of every
    door's threshold) of one of their vectors, so a key holder cannot log made-up entries of
    someone whose face they do not have.
    """
    own = resources.gallery().embeddings(model, person)
    if not len(own):
        return f"the offline decision names {person!r}, who has no {model} vectors here"
    vector = np.asarray(body.vector, dtype=np.float32)
    nearest = float(distances(vector, own.vectors).min())
    if nearest > resources.settings.decide.threshold:
        return f"the template is not {person!r}'s face (distance {nearest:.3f})"
    return None


def _queued(
    resources: Resources, key: ApiKey, body: TemplateIn, offline: OfflineDecision
) -> tuple[AccessEvent, bool]:
    """Log a queued event the door already acted on; count an offline failure as an attempt."""
    moment = _door_time(body, resources)
    subjects = limit_subjects(key, body.door)
    if offline.decided_offline:
        embedder = api.get_pipeline(resources.settings.vision).embedder
        tolerance = resources.settings.edge.unit_tolerance
        problem = template_problem(body, embedder.name, embedder.dim, tolerance)
        if problem is None and offline.person is not None:
            problem = _claim_problem(resources, body, embedder.name, offline.person)
        if problem is not None:
            resources.limiter.record(subjects, time.time())
            raise ApiError(422, "bad_template", problem)
    event = _event(
        body,
        offline.decision,
        offline.reason,
        time=moment,
        person=offline.person,
        distance=offline.distance,
        threshold=offline.threshold or 0.0,
        policy_version=offline.policy_version,
        decided_offline=offline.decided_offline,
    )
    stored, new = _store(resources, event, body.event_key)
    if new and offline.decided_offline and offline.decision != "unlock":
        resources.limiter.record(subjects, to_utc(moment).timestamp())
    return stored, new


def decide_template(resources: Resources, key: ApiKey, body: TemplateIn) -> TemplateDecision:
    """Decide (or, for a queued event, record) one door template; a replay answers the first."""
    started = time.perf_counter()
    require_door(resources, key, body.door)
    detail = key.grants("read")
    earlier = resources.events().logged(body.event_key, body.door)
    if earlier is not None:
        return _answer(_door_did(resources, earlier, body), body.event_key, True, detail)
    if body.offline is not None:
        stored, new = _queued(resources, key, body, body.offline)
        return _answer(stored, body.event_key, not new, detail)
    subjects = limit_subjects(key, body.door)
    settings = resources.settings
    embedder = api.get_pipeline(settings.vision).embedder
    problem = template_problem(body, embedder.name, embedder.dim, settings.edge.unit_tolerance)
    try:
        over = resources.limiter.blocked(subjects)
        if over:
            raise RateLimited(over)
        with resources.limiter.attempt(subjects) as attempt:
            if problem is not None:
                attempt.failed()
                log.warning(
                    "refused template from key %r at door %s: %s", key.name, body.door, problem
                )
                raise ApiError(422, "bad_template", problem)
            vector = np.asarray(body.vector, dtype=np.float32)
            event = _rule(resources, body, vector)
            if event.decision != "unlock":
                attempt.failed()
    except RateLimited as limited:
        over = limited.over
        raise refuse_rate_limited(resources, key, body.door, "identify", None, over) from None
    centre_ms = (time.perf_counter() - started) * 1e3
    event = replace(event, latency_ms=round(body.latency_ms + centre_ms, 1))
    stored, new = _store(resources, event, body.event_key)
    return _answer(stored, body.event_key, not new, detail)
