"""Metrics over the event log: outcome rates, re-authentication, latency, distances, faces/hour."""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np

from facegate.monitor.table import OUTCOMES, EventTable

DISTANCE_RANGE = (0.0, 1.2)


def _rate(part: int, whole: int) -> float | None:
    """Return part / whole, None when there is nothing to divide."""
    return part / whole if whole else None


def _hours(since: datetime, until: datetime) -> float:
    """Return the hours from since to until (0 when until is not later)."""
    return max(0.0, (until - since).total_seconds() / 3600.0)


def _percentile(values: np.ndarray, q: float) -> float | None:
    """Return the q-th percentile, None for no values."""
    return float(np.percentile(values, q)) if values.size else None


@dataclass(frozen=True)
class Summary:
    """Metrics of the events in one window (rates None where the window is empty)."""

    events: int
    hours: float
    accept_rate: float | None
    reject_rate: float | None
    unknown_rate: float | None
    retry_rate: float | None
    reauth_rate: float | None
    latency_p50_ms: float | None
    latency_p95_ms: float | None
    faces_per_hour: float

    def as_dict(self) -> dict[str, Any]:
        """Return the summary as a JSON-ready dict."""
        return asdict(self)


def summarize(table: EventTable, hours: float) -> Summary:
    """Return the metrics of a table that spans this many hours.

    Rates are shares of all decisions; reauth_rate is the share made on a second or later
    attempt ("had to try twice"); faces_per_hour counts decisions (one per face that came
    to the door) per hour of the window.
    """
    n = len(table)
    counts = {name: int(np.count_nonzero(table.outcome == name)) for name in OUTCOMES}
    return Summary(
        events=n,
        hours=hours,
        accept_rate=_rate(counts["accept"], n),
        reject_rate=_rate(counts["reject"], n),
        unknown_rate=_rate(counts["unknown"], n),
        retry_rate=_rate(counts["retry"], n),
        reauth_rate=_rate(int(np.count_nonzero(table.attempt > 1)), n),
        latency_p50_ms=_percentile(table.latency_ms, 50),
        latency_p95_ms=_percentile(table.latency_ms, 95),
        faces_per_hour=n / hours if hours > 0 else 0.0,
    )


@dataclass(frozen=True)
class Bucket:
    """One time bucket: its start and the summary of its events."""

    start: datetime
    summary: Summary

    def as_dict(self) -> dict[str, Any]:
        """Return the bucket as a JSON-ready dict."""
        return {"start": self.start.isoformat(), **self.summary.as_dict()}


def bucket_starts(since: datetime, until: datetime, bucket_hours: float) -> list[datetime]:
    """Return bucket starts from since (floored to a multiple of the width) up to until."""
    width = bucket_hours * 3600.0
    first = math.floor(since.timestamp() / width) * width
    count = max(1, math.ceil((until.timestamp() - first) / width))
    return [datetime.fromtimestamp(first + i * width, UTC) for i in range(count)]


def buckets(
    table: EventTable, since: datetime, until: datetime, bucket_hours: float
) -> list[Bucket]:
    """Return one summary per time bucket between since and until, empty buckets included.

    The first and last buckets may be cut by since and until; their rates per hour count only
    the hours inside.
    """
    width = timedelta(hours=bucket_hours)
    out = []
    for start in bucket_starts(since, until, bucket_hours):
        lo, hi = max(start, since), min(start + width, until)
        out.append(Bucket(start, summarize(table.between(lo, hi), _hours(lo, hi))))
    return out


@dataclass(frozen=True)
class DistanceHistogram:
    """Distances of accepted and of not accepted (rejected, unknown, retry) decisions.

    thresholds: the median threshold of each mode present (identify and verify differ).
    """

    edges: list[float]
    accepted: list[int]
    rejected: list[int]
    thresholds: dict[str, float]

    def as_dict(self) -> dict[str, Any]:
        """Return the histogram as a JSON-ready dict."""
        return asdict(self)


def distance_histogram(table: EventTable, bins: int) -> DistanceHistogram:
    """Return the distance histograms of accepted vs other decisions (values clipped to range)."""
    edges = np.linspace(*DISTANCE_RANGE, bins + 1)
    known = np.isfinite(table.distance)
    clipped = np.clip(table.distance, DISTANCE_RANGE[0], DISTANCE_RANGE[1] - 1e-9)
    accepted = known & (table.outcome == "accept")
    counts = [np.histogram(clipped[mask], edges)[0] for mask in (accepted, known & ~accepted)]
    thresholds = {
        mode: float(np.median(table.threshold[table.mode == mode]))
        for mode in ("identify", "verify")
        if np.any(table.mode == mode)
    }
    return DistanceHistogram(
        edges=[round(float(e), 4) for e in edges],
        accepted=[int(c) for c in counts[0]],
        rejected=[int(c) for c in counts[1]],
        thresholds=thresholds,
    )


@dataclass(frozen=True)
class DoorStats:
    """Everything the dashboard shows for one door (or all doors: door None)."""

    door: str | None
    since: datetime
    until: datetime
    summary: Summary
    buckets: list[Bucket]
    distances: DistanceHistogram

    def as_dict(self) -> dict[str, Any]:
        """Return the stats as a JSON-ready dict."""
        return {
            "door": self.door,
            "since": self.since.isoformat(),
            "until": self.until.isoformat(),
            "summary": self.summary.as_dict(),
            "buckets": [b.as_dict() for b in self.buckets],
            "distances": self.distances.as_dict(),
        }


def door_stats(
    table: EventTable,
    door: str | None,
    since: datetime,
    until: datetime,
    bucket_hours: float,
    distance_bins: int,
) -> DoorStats:
    """Return the stats of one door (None: all doors) over since <= time < until."""
    rows = table.for_door(door).between(since, until)
    return DoorStats(
        door=door,
        since=since,
        until=until,
        summary=summarize(rows, _hours(since, until)),
        buckets=buckets(rows, since, until, bucket_hours),
        distances=distance_histogram(rows, distance_bins),
    )
