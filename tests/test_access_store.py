"""The access store (doors, groups, validity) and the event log's schema migration."""

from __future__ import annotations

import sqlite3
from datetime import date
from pathlib import Path

import numpy as np
import pytest

from facegate.access import DoorPolicy
from facegate.access_event import AccessEvent, now_iso
from facegate.decide.policy import Match
from facegate.decide.rules import DoorRules, PersonAccess, Window
from facegate.errors import DoorExistsError, UnknownDoorError, UnknownPersonError
from facegate.gallery import EmbeddingRecord, SQLiteGallery
from facegate.gallery.access import SQLiteAccessStore
from facegate.monitor.events import EventLog
from facegate.monitor.table import outcome
from facegate.settings import Settings


def _record() -> EmbeddingRecord:
    vector = np.ones(128, dtype=np.float32) / np.sqrt(128)
    return EmbeddingRecord(vector, "m", "x.jpg", 100, 50.0, 120.0)


def test_doors_round_trip_and_versions(tmp_path: Path) -> None:
    """A door is stored, read back equal, and each change bumps its version."""
    store = SQLiteAccessStore(tmp_path / "g.db")
    rules = DoorRules(
        "server",
        level="high",
        far=1e-4,
        allow=("admins", "staff"),
        schedules={"staff": (Window.parse("Mon-Fri 07:00-19:00"),)},
    )
    stored = store.add_door(rules)
    assert stored.version == 1 and stored.schedules == rules.schedules
    with pytest.raises(DoorExistsError):
        store.add_door(rules)
    changed = store.update_door(DoorRules("server", allow=("admins",)))
    assert changed.version == 2 and changed.allow == ("admins",) and not changed.schedules
    assert [d.name for d in store.doors()] == ["server"]
    store.remove_door("server")
    assert store.door("server") is None
    with pytest.raises(UnknownDoorError):
        store.update_door(rules)


def test_person_access_is_removed_with_the_person(tmp_path: Path) -> None:
    """Groups and dates belong to an enrolled person and go when the person goes."""
    gallery = SQLiteGallery(tmp_path / "g.db")
    store = SQLiteAccessStore(tmp_path / "g.db")
    with pytest.raises(UnknownPersonError):
        store.set_person_access("ann", PersonAccess(frozenset({"staff"})))
    gallery.add_person("ann", [_record()], consent="")
    assert store.person_access("ann") == PersonAccess()
    access = PersonAccess(frozenset({"staff", "visitors"}), date(2026, 1, 1), date(2026, 2, 1))
    assert store.set_person_access("ann", access) == access
    with pytest.raises(ValueError, match="before"):
        store.set_person_access(
            "ann", PersonAccess(frozenset(), date(2026, 2, 1), date(2026, 1, 1))
        )
    gallery.remove_person("ann")
    rows = sqlite3.connect(tmp_path / "g.db").execute("SELECT COUNT(*) FROM person_groups")
    assert rows.fetchone()[0] == 0
    assert store.accesses() == {}


def test_event_log_migrates_a_version_1_file(tmp_path: Path) -> None:
    """An event log written before reason/policy_version gains both columns and keeps its rows."""
    path = tmp_path / "events.db"
    conn = sqlite3.connect(path)
    conn.executescript(
        """
        CREATE TABLE event_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
        INSERT INTO event_meta VALUES ('schema_version', '1');
        CREATE TABLE access_events (id INTEGER PRIMARY KEY, time TEXT NOT NULL, ts REAL NOT NULL,
            door TEXT NOT NULL, mode TEXT NOT NULL, track INTEGER, claimed TEXT,
            decision TEXT NOT NULL, person TEXT, distance REAL, threshold REAL NOT NULL,
            frames_used INTEGER NOT NULL, face_quality TEXT NOT NULL, liveness TEXT,
            latency_ms REAL NOT NULL, attempt INTEGER NOT NULL);
        INSERT INTO access_events VALUES (1, '2026-01-01T00:00:00+00:00', 1767225600, 'main',
            'identify', 1, NULL, 'deny', NULL, 0.9, 0.3, 5, '{}', NULL, 10.0, 1);
        """
    )
    conn.close()
    log = EventLog(path)
    old = log.query()[0]
    assert old.reason is None and old.policy_version is None
    log.append(
        AccessEvent(
            now_iso(),
            "main",
            "identify",
            2,
            None,
            "deny",
            None,
            0.9,
            0.3,
            5,
            reason="unknown",
            policy_version=3,
        )
    )
    newest = log.query()[0]
    assert (newest.reason, newest.policy_version) == ("unknown", 3)
    assert [(e.decided_offline, e.door_action) for e in log.query()] == [(False, None)] * 2
    version = sqlite3.connect(path).execute("SELECT value FROM event_meta").fetchone()[0]
    assert version == "3"
    log.close()
    EventLog(path).close()  # opening a migrated log again changes nothing


@pytest.mark.parametrize(
    ("reason", "expected"),
    [(None, "unknown"), ("unknown", "unknown"), ("not_allowed", "reject"), ("expired", "reject")],
)
def test_refusals_by_the_rules_count_as_rejects_not_unknowns(
    reason: str | None, expected: str
) -> None:
    """A recognised person the door refused is no stranger in the metrics."""
    event = AccessEvent(
        now_iso(), "d", "identify", 1, None, "deny", "ann", 0.2, 0.3, 5, reason=reason
    )
    assert outcome(event) == expected


@pytest.mark.parametrize(
    ("unconfigured", "site_has_doors", "closed"),
    [
        ("auto", False, False),  # one door, nothing configured: the open default
        ("auto", True, True),  # a site with doors: a typo in a door name admits nobody
        ("open", True, False),
        ("closed", False, True),
    ],
)
def test_an_unconfigured_door_name_is_closed_at_a_site_with_doors(
    tmp_path: Path, unconfigured: str, site_has_doors: bool, closed: bool
) -> None:
    """An enrolled, matched face at a door name nobody configured: open or unknown_door."""
    gallery = SQLiteGallery(tmp_path / "g.db")
    gallery.add_person("ann", [_record()], consent="")
    store = SQLiteAccessStore(tmp_path / "g.db")
    if site_has_doors:
        store.add_door(DoorRules("server", allow=("admins",)))
    settings = Settings.model_validate({"doors": {"unconfigured": unconfigured}})
    policy = DoorPolicy(store, "sever", "identify", settings)  # a typo of "server"
    verdict = policy.decide(Match("ann", 0.1, 0.4), live=True)
    if closed:
        assert (verdict.decision, verdict.reason, verdict.person) == ("deny", "unknown_door", None)
    else:
        assert (verdict.decision, verdict.reason) == ("unlock", "granted")
    configured = DoorPolicy(store, "server", "identify", settings) if site_has_doors else None
    if configured is not None:  # the configured door itself is unaffected by the setting
        assert configured.decide(Match("ann", 0.1, 0.4), live=True).reason == "not_allowed"
