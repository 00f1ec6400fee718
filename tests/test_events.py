"""The event log: append, filtered and paged queries, attempt numbers, concurrent writers."""

from __future__ import annotations

import json
import multiprocessing
from dataclasses import replace
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest

from facegate.errors import FacegateError
from facegate.monitor import AccessEvent, EventLog, EventLogUnavailableError
from facegate.settings import Settings
from facegate.stores import open_event_log

T0 = datetime(2024, 5, 1, 8, 0, 0, tzinfo=UTC)


def make_event(seconds: float = 0.0, **changes: object) -> AccessEvent:
    """Return a plausible identify event at T0 + seconds, with fields changed."""
    event = AccessEvent(
        time=(T0 + timedelta(seconds=seconds)).isoformat(timespec="milliseconds"),
        door="front",
        mode="identify",
        track=1,
        claimed=None,
        decision="unlock",
        person="ada",
        distance=0.31,
        threshold=0.42,
        frames_used=5,
        face_quality={"sharpness": 120.5, "face_px": 88},
        liveness={"score": 0.97, "passed": True},
        latency_ms=412.0,
    )
    return replace(event, **changes)


def _append_many(target: str, worker: int, count: int) -> None:
    """Append count events from a fresh process (spawn target)."""
    with open_event_log(target, Settings()) as log:
        for i in range(count):
            log.append(make_event(worker * 1000 + i, door=f"door{worker}", track=i))


@pytest.fixture(params=["sqlite", "postgres"])
def target(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """Return where an empty event log goes: a SQLite file, or a fresh PostgreSQL database."""
    if request.param == "sqlite":
        return str(tmp_path / "sub" / "events.db")
    return request.getfixturevalue("postgres").database()


@pytest.fixture()
def log(target: str):
    """Return an empty event log on each backend."""
    with open_event_log(target, Settings()) as event_log:
        yield event_log


def test_append_returns_ids_and_round_trips(log: EventLog) -> None:
    first = log.append(make_event(0))
    second = log.append(make_event(1, liveness=None, distance=None, person=None))
    assert second > first
    newest, oldest = log.query()
    assert oldest == make_event(0)
    assert newest == make_event(1, liveness=None, distance=None, person=None)


def test_json_round_trip() -> None:
    event = make_event(3, mode="verify", claimed="ada", attempt=2)
    line = json.dumps(event.as_dict())
    assert AccessEvent.from_dict(json.loads(line)) == event
    assert json.loads(line)["face_quality"] == {"sharpness": 120.5, "face_px": 88}


def test_invalid_events_are_refused() -> None:
    with pytest.raises(ValueError, match="decision"):
        make_event(decision="maybe")
    with pytest.raises(ValueError, match="mode"):
        make_event(mode="guess")
    with pytest.raises(ValueError):
        make_event(time="yesterday")
    with pytest.raises(ValueError, match="attempt"):
        make_event(attempt=0)


def test_query_filters(log: EventLog) -> None:
    log.append(make_event(0, door="front", person="ada", decision="unlock"))
    log.append(make_event(10, door="back", person="bob", decision="unlock"))
    log.append(make_event(20, door="front", person=None, decision="deny"))
    log.append(make_event(30, door="front", person="bob", decision="retry"))
    assert [e.time for e in log.query(door="front")] == [make_event(s).time for s in (30, 20, 0)]
    assert [e.door for e in log.query(person="bob")] == ["front", "back"]
    assert len(log.query(decision="deny")) == 1
    since, until = T0 + timedelta(seconds=10), (T0 + timedelta(seconds=30)).isoformat()
    assert [e.time for e in log.query(since=since, until=until)] == [
        make_event(s).time for s in (20, 10)
    ]
    assert log.count() == 4
    assert log.count(door="front", decision="unlock") == 1
    assert log.count(since=since) == 3


def test_query_paging_newest_first(log: EventLog) -> None:
    for second in range(25):
        log.append(make_event(second, track=second))
    pages = [log.query(limit=10, offset=offset) for offset in (0, 10, 20)]
    assert [len(page) for page in pages] == [10, 10, 5]
    tracks = [event.track for page in pages for event in page]
    assert tracks == list(range(24, -1, -1))
    with pytest.raises(ValueError):
        log.query(limit=-1)


def test_query_orders_by_time_not_insertion(log: EventLog) -> None:
    log.append(make_event(50, track=50))
    log.append(make_event(5, track=5))
    other_zone = (T0 + timedelta(seconds=20)).astimezone(timezone(timedelta(hours=2)))
    log.append(make_event(track=20, time=other_zone.isoformat()))
    assert [event.track for event in log.query()] == [50, 20, 5]


def test_attempt_number_counts_recent_tries_by_person_or_claim(log: EventLog) -> None:
    now = T0 + timedelta(seconds=100)
    assert log.attempt_number("front", "ada", now, 30) == 1
    log.append(make_event(60, person="ada"))  # outside the 30 s window
    log.append(make_event(80, person=None, decision="retry", claimed="ada", mode="verify"))
    log.append(make_event(90, person="ada", decision="deny"))
    log.append(make_event(95, person="ada", door="back"))  # another door
    log.append(make_event(99, person="bob"))  # another person
    log.append(make_event(101, person="ada"))  # after now
    assert log.attempt_number("front", "ada", now, 30) == 3
    assert log.attempt_number("front", "ada", now.isoformat(), 45) == 4
    assert log.attempt_number("back", "ada", now, 30) == 2
    assert log.attempt_number("front", "carol", now, 30) == 1


def test_attempt_number_by_track(log: EventLog) -> None:
    log.append(make_event(0, track=7, person=None, decision="retry"))
    log.append(make_event(1, track=7, person=None, decision="retry"))
    log.append(make_event(1, track=8, person=None, decision="retry"))
    assert log.attempt_number("front", 7, T0 + timedelta(seconds=2), 10) == 3


def test_reopen_keeps_events(target: str) -> None:
    with open_event_log(target, Settings()) as log:
        log.append(make_event(0))
    with open_event_log(target, Settings()) as log:
        assert log.count() == 1


def test_can_share_the_gallery_file(tmp_path: Path) -> None:
    from facegate.gallery.sqlite import SQLiteGallery

    path = tmp_path / "facegate.db"
    with SQLiteGallery(path) as gallery, EventLog(path) as log:
        log.append(make_event(0))
        assert gallery.people() == []
        assert log.count() == 1


@pytest.mark.parametrize("backend", ["sqlite", "postgres"])
def test_unopenable_store_is_a_typed_error(tmp_path: Path, backend: str) -> None:
    folder = tmp_path / "a-folder"
    folder.mkdir()
    bad = str(folder) if backend == "sqlite" else f"postgresql://postgres@/x?host={folder}"
    with pytest.raises(EventLogUnavailableError, match="cannot open event log") as info:
        open_event_log(bad, Settings())
    assert isinstance(info.value, FacegateError)
    assert info.value.code == "event_log_unavailable"


def test_two_processes_append_concurrently(target: str) -> None:
    open_event_log(target, Settings()).close()
    context = multiprocessing.get_context("spawn")
    workers = [context.Process(target=_append_many, args=(target, w, 60)) for w in (1, 2)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(timeout=120)
    assert [worker.exitcode for worker in workers] == [0, 0]
    with open_event_log(target, Settings()) as log:
        assert log.count() == 120
        assert log.count(door="door1") == log.count(door="door2") == 60
        assert sorted(e.track for e in log.query(door="door2", limit=100)) == list(range(60))
