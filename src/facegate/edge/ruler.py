"""The door's ruler when the centre decides: send each template, act on the answer, queue offline.

Online, a track's fused template goes to the centre and its answer is the ruling. When the
centre is unreachable (refused connection, timeout edge.timeout_seconds, or a 5xx) the door
denies (`decide/policy.py: centre_unreachable`), or with a fresh copy of its allowed people
(edge.offline = "cache") decides from it (decided_offline), and queues the event in its outbox
with that decision; a thread retries every edge.retry_seconds and delivers the queue oldest
first, and while anything is queued new templates queue behind it, so the centre logs them in
order. Every template carries a random idempotency key: a delivery that timed out after the
centre logged it is answered with the first result and logged once (none lost, none
duplicated), and the centre notes what the door did instead (door_action).
"""

from __future__ import annotations

import logging
import threading
import time
import uuid
from collections.abc import Callable
from typing import Any

import numpy as np

from facegate.access_event import now_iso
from facegate.decide.policy import centre_unreachable
from facegate.edge.client import CentreClient, CentreRefused, CentreUnreachable
from facegate.edge.offline import CopyDecider
from facegate.edge.outbox import EdgeOutbox
from facegate.stream.lockout import Lockout
from facegate.stream.ruling import Ruling, TrackEvidence

log = logging.getLogger(__name__)


def template_body(template: np.ndarray, model: str, evidence: TrackEvidence) -> dict[str, Any]:
    """Return the JSON body of one track's template (a fresh idempotency key, the door's time)."""
    return {
        "event_key": uuid.uuid4().hex,
        "door": evidence.door,
        "model": model,
        "vector": [float(v) for v in np.asarray(template, dtype=np.float32)],
        "live": evidence.live,
        "ask": evidence.ask,
        "liveness": evidence.liveness,
        "face_quality": evidence.face_quality,
        "frames_used": evidence.frames_used,
        "track": evidence.track,
        "latency_ms": evidence.latency_ms,
        "time": now_iso(),
    }


def ruling_of(answer: dict[str, Any]) -> Ruling:
    """Return the ruling in the centre's answer (numbers only where the key may see them)."""
    return Ruling(
        decision=str(answer["decision"]),
        reason=str(answer["reason"]),
        person=answer.get("person"),
        distance=answer.get("distance"),
        threshold=float(answer.get("threshold") or 0.0),
        policy_version=answer.get("policy_version"),
        attempt=int(answer.get("attempt") or 1),
    )


def offline_body(ruling: Ruling) -> dict[str, Any]:
    """Return the `offline` part of a queued body: what the door decided, and from what."""
    if not ruling.decided_offline:
        return {"decision": ruling.decision, "reason": ruling.reason}
    return {
        "decision": ruling.decision,
        "reason": ruling.reason,
        "decided_offline": True,
        "person": ruling.person,
        "distance": ruling.distance,
        "threshold": ruling.threshold,
        "policy_version": ruling.policy_version,
    }


class CentreRuler:
    """Rules on templates at the centre; denies (or asks its copy) and queues while it is away.

    offline: returns the door copy's decider while a fresh copy is held (edge.offline =
    "cache"); None, or a None from it: deny, centre_unreachable. limit: the door's own count of
    its offline refusals (stream/lockout.py, timed by clock); past it, offline attempts are
    rate_limited.
    """

    def __init__(
        self,
        client: CentreClient,
        outbox: EdgeOutbox,
        retry_seconds: float,
        offline: Callable[[], CopyDecider | None] | None = None,
        limit: Lockout | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.client = client
        self.outbox = outbox
        self.retry_seconds = retry_seconds
        self.offline = offline
        self.limit = limit
        self.clock = clock
        self._lock = threading.Lock()  # one sender at a time keeps the queue in order
        self._stop = threading.Event()
        self._retrier = threading.Thread(target=self._retry, name="facegate-edge", daemon=True)
        self._retrier.start()

    def rule(self, template: np.ndarray, model: str, evidence: TrackEvidence) -> Ruling:
        """Return the centre's ruling on a template, or deny and queue it when unreachable."""
        body = template_body(template, model, evidence)
        with self._lock:
            if self.deliver(self.outbox):
                try:
                    return ruling_of(self.client.send(body))
                except CentreUnreachable as exc:
                    log.warning("centre unreachable (%s): door %s denies", exc, evidence.door)
                except CentreRefused as exc:
                    return self._refused(body, exc)
            ruling = self._offline(template, evidence)
            body["offline"] = offline_body(ruling)
            self.outbox.put(body["event_key"], body)
        return ruling

    def _offline(self, template: np.ndarray, evidence: TrackEvidence) -> Ruling:
        """Return the door's own ruling from a fresh copy, else the fail-closed deny."""
        decider = self.offline() if self.offline is not None else None
        if decider is not None:
            now = self.clock()
            limited = self.limit is not None and self.limit.locked(now)
            ruling = decider.rule(template, evidence, rate_limited=limited)
            if self.limit is not None and not limited and ruling.decision != "unlock":
                self.limit.record(now)
            return ruling
        verdict = centre_unreachable()
        return Ruling(verdict.decision, verdict.reason, None, None, 0.0, None)

    def _refused(self, body: dict[str, Any], exc: CentreRefused) -> Ruling:
        """Return the ruling on a refused template: rate_limited (429), else centre_refused."""
        if exc.status == 429:  # the centre logged the refusal itself
            return Ruling("deny", "rate_limited", None, None, 0.0, None)
        log.error("%s", exc)
        self.outbox.put(body["event_key"], body, refused=str(exc))
        return Ruling("deny", "centre_refused", None, None, 0.0, None)

    def deliver(self, outbox: EdgeOutbox) -> bool:
        """Send queued events oldest first; return True when none is left (call with the lock)."""
        while batch := outbox.pending():
            for seq, body in batch:
                try:
                    answer = self.client.send(body)
                except CentreUnreachable:
                    return False
                except CentreRefused as exc:
                    log.error("queued event %s: %s", body.get("event_key"), exc)
                    outbox.refuse(seq, str(exc))
                    continue
                if answer.get("replayed") and answer.get("decision") != body["offline"]["decision"]:
                    log.warning(
                        "queued event %s: the centre had decided %s before the link failed",
                        body["event_key"],
                        answer.get("decision"),
                    )
                outbox.delivered(seq)
        return True

    def _retry(self) -> None:
        """Deliver the queue every retry_seconds until closed (its own connection: a thread's)."""
        with EdgeOutbox(self.outbox.path) as outbox:
            while not self._stop.wait(self.retry_seconds):
                with self._lock:
                    self.deliver(outbox)

    def close(self) -> None:
        """Stop retrying and try one last delivery (what is left stays queued on disk)."""
        self._stop.set()
        self._retrier.join()
        with self._lock:
            self.deliver(self.outbox)
