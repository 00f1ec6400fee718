"""Events as columns (numpy arrays) for metrics and drift, with each decision's outcome."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, fields
from datetime import datetime

import numpy as np

from facegate.access_event import AccessEvent, to_utc
from facegate.monitor.events import EventLog

OUTCOMES = ("accept", "reject", "unknown", "retry")
QUALITY_FEATURES = ("brightness", "sharpness", "focus", "face_px")


def outcome(event: AccessEvent) -> str:
    """Return accept, reject, unknown or retry for one decision.

    accept = unlock; retry = asked to try again; unknown = an identify deny of a live face (no
    enrolled person near enough: reason `unknown`, or no reason in older logs); reject = any
    other deny: a verify deny (not the claimed person), a face that failed the liveness check
    (a replayed photo or screen), or someone recognised whom the door's rules refused.
    """
    if event.decision == "unlock":
        return "accept"
    if event.decision == "retry":
        return "retry"
    spoof = event.liveness is not None and event.liveness.get("live") is False
    nobody = event.reason in (None, "unknown")
    return "unknown" if event.mode == "identify" and not spoof and nobody else "reject"


def _number(value: object) -> float:
    """Return value as a float, NaN when it is missing or not a number."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return float("nan")
    return float(value)


@dataclass(frozen=True)
class EventTable:
    """One row per event, in time order; missing numbers are NaN."""

    ts: np.ndarray
    door: np.ndarray
    outcome: np.ndarray
    attempt: np.ndarray
    latency_ms: np.ndarray
    distance: np.ndarray
    threshold: np.ndarray
    brightness: np.ndarray
    sharpness: np.ndarray
    focus: np.ndarray
    face_px: np.ndarray
    mode: np.ndarray  # identify (1:N) or verify (1:1): their thresholds differ

    @classmethod
    def from_events(cls, events: Sequence[AccessEvent]) -> EventTable:
        """Return the table of these events."""
        quality = {
            name: np.array([_number(e.face_quality.get(name)) for e in events], dtype=np.float64)
            for name in QUALITY_FEATURES
        }
        return cls(
            ts=np.array([to_utc(e.time).timestamp() for e in events], dtype=np.float64),
            door=np.array([e.door for e in events], dtype=object),
            outcome=np.array([outcome(e) for e in events], dtype=object),
            attempt=np.array([e.attempt for e in events], dtype=np.int64),
            latency_ms=np.array([e.latency_ms for e in events], dtype=np.float64),
            distance=np.array([_number(e.distance) for e in events], dtype=np.float64),
            threshold=np.array([e.threshold for e in events], dtype=np.float64),
            **quality,
            mode=np.array([e.mode for e in events], dtype=object),
        )

    def __len__(self) -> int:
        return int(self.ts.size)

    def where(self, mask: np.ndarray) -> EventTable:
        """Return the rows where mask is true."""
        return EventTable(**{f.name: getattr(self, f.name)[mask] for f in fields(self)})

    def for_door(self, door: str | None) -> EventTable:
        """Return one door's rows (all rows for None)."""
        return self if door is None else self.where(self.door == door)

    def between(self, since: datetime, until: datetime) -> EventTable:
        """Return the rows with since <= time < until."""
        return self.where((self.ts >= since.timestamp()) & (self.ts < until.timestamp()))

    def feature(self, name: str) -> np.ndarray:
        """Return one feature's known values (NaN dropped)."""
        values = getattr(self, name)
        return values[np.isfinite(values)]


def load_table(
    log: EventLog, since: datetime, until: datetime, door: str | None = None
) -> EventTable:
    """Return the events of since <= time < until (one door or all) as a table."""
    return EventTable.from_events(log.scan(door=door, since=since, until=until))
