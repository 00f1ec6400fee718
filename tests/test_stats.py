"""Metrics over generated events: outcomes, re-authentication, latency, distances, buckets."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pytest

from facegate.access_event import AccessEvent
from facegate.monitor.events import EventLog
from facegate.monitor.simulate import simulate
from facegate.monitor.stats import bucket_starts, buckets, distance_histogram, door_stats, summarize
from facegate.monitor.table import EventTable, load_table, outcome
from facegate.settings import RATE_METRICS

T0 = datetime(2024, 5, 6, tzinfo=UTC)


def event(minute: float, decision: str, **kw: object) -> AccessEvent:
    """Return an identify event at T0 + minute."""
    fields: dict[str, object] = {
        "time": (T0 + timedelta(minutes=minute)).isoformat(),
        "door": "front",
        "mode": "identify",
        "track": 1,
        "claimed": None,
        "decision": decision,
        "person": "ada" if decision == "unlock" else None,
        "distance": 0.3,
        "threshold": 0.42,
        "frames_used": 5,
        "face_quality": {"face_px": 100, "sharpness": 120.0, "focus": 1.0, "brightness": 120.0},
        "liveness": {"live": True},
        "latency_ms": 400.0,
        "attempt": 1,
    }
    return AccessEvent(**{**fields, **kw})  # type: ignore[arg-type]


def test_outcomes_tell_unknown_from_rejected() -> None:
    assert outcome(event(0, "unlock")) == "accept"
    assert outcome(event(0, "retry")) == "retry"
    assert outcome(event(0, "deny")) == "unknown"
    assert outcome(event(0, "deny", liveness={"live": False})) == "reject"
    assert outcome(event(0, "deny", mode="verify", claimed="ada")) == "reject"
    assert outcome(event(0, "deny", liveness=None)) == "unknown"


def test_summary_of_known_events() -> None:
    events = [
        event(0, "unlock", latency_ms=100.0),
        event(1, "unlock", latency_ms=200.0, attempt=2),
        event(2, "deny", latency_ms=300.0),
        event(3, "retry", latency_ms=400.0),
        event(4, "deny", mode="verify", claimed="bo", latency_ms=1000.0, attempt=3),
    ]
    s = summarize(EventTable.from_events(events), hours=2.0)
    assert s.events == 5
    assert (s.accept_rate, s.unknown_rate, s.retry_rate, s.reject_rate) == (0.4, 0.2, 0.2, 0.2)
    assert s.reauth_rate == 0.4
    assert s.latency_p50_ms == 300.0
    assert s.latency_p95_ms == pytest.approx(880.0)
    assert s.faces_per_hour == 2.5
    assert set(RATE_METRICS) <= set(s.as_dict())


def test_empty_summary_has_no_rates_and_zero_faces() -> None:
    s = summarize(EventTable.from_events([]), hours=1.0)
    assert s.events == 0
    assert s.accept_rate is None and s.latency_p95_ms is None
    assert s.faces_per_hour == 0.0


def test_missing_quality_and_distance_are_nan() -> None:
    table = EventTable.from_events([event(0, "deny", distance=None, face_quality={})])
    assert np.isnan(table.distance[0]) and np.isnan(table.brightness[0])
    assert table.feature("brightness").size == 0


def test_buckets_cover_the_range_and_count_partial_hours() -> None:
    events = [event(m, "unlock") for m in (10, 20, 70, 200)]
    table = EventTable.from_events(events)
    since, until = T0 + timedelta(minutes=30), T0 + timedelta(hours=4)
    starts = bucket_starts(since, until, 1.0)
    assert starts[0] == T0 and starts[-1] == T0 + timedelta(hours=3) and len(starts) == 4
    rows = buckets(table.between(since, until), since, until, 1.0)
    assert [b.summary.events for b in rows] == [0, 1, 0, 1]
    assert rows[0].summary.hours == 0.5
    assert rows[1].summary.faces_per_hour == 1.0


def test_distance_histogram_splits_accepted_from_the_rest() -> None:
    events = [
        event(0, "unlock", distance=0.25),
        event(1, "deny", distance=0.7),
        event(2, "retry", distance=0.45),
        event(3, "deny", distance=None),
        event(4, "deny", distance=5.0),
    ]
    hist = distance_histogram(EventTable.from_events(events), bins=12)
    assert len(hist.edges) == 13 and hist.edges[0] == 0.0 and hist.edges[-1] == 1.2
    assert sum(hist.accepted) == 1 and sum(hist.rejected) == 3
    assert hist.rejected[-1] == 1  # 5.0 lands in the last bin
    assert hist.thresholds == {"identify": 0.42}


def test_per_door_stats_from_the_log(tmp_path: Path) -> None:
    with EventLog(tmp_path / "events.db") as log:
        log.append_many(simulate("front", T0, 2, seed=1) + simulate("back", T0, 2, seed=2))
        assert log.doors() == ["back", "front"]
        until = T0 + timedelta(days=2)
        table = load_table(log, T0, until)
        assert len(table) == log.count()
        assert list(table.ts) == sorted(table.ts)
        front = door_stats(table, "front", T0, until, 6.0, 24)
        both = door_stats(table, None, T0, until, 6.0, 24)
        assert front.summary.events == log.count(door="front")
    assert both.summary.events == len(table)
    assert len(front.buckets) == 8
    assert sum(b.summary.events for b in front.buckets) == front.summary.events
    s = both.summary
    assert s.accept_rate is not None and 0.6 < s.accept_rate < 0.9
    assert s.unknown_rate is not None and 0.1 < s.unknown_rate < 0.3
    assert s.reauth_rate is not None and 0.0 < s.reauth_rate < 0.1
    assert both.as_dict()["summary"]["events"] == len(table)
