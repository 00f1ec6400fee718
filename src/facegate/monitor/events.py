"""The event log: every access decision in SQLite (WAL), appendable from several processes."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import timedelta
from pathlib import Path
from typing import Any

from facegate.access_event import AccessEvent, TimeLike, to_utc
from facegate.errors import EventLogUnavailableError
from facegate.sqlite_db import SQLiteStore

SCHEMA_VERSION = 3

SCHEMA = """
CREATE TABLE IF NOT EXISTS event_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS access_events (
    id INTEGER PRIMARY KEY,
    time TEXT NOT NULL,
    ts REAL NOT NULL,
    door TEXT NOT NULL,
    mode TEXT NOT NULL,
    track INTEGER,
    claimed TEXT,
    decision TEXT NOT NULL,
    person TEXT,
    distance REAL,
    threshold REAL NOT NULL,
    frames_used INTEGER NOT NULL,
    face_quality TEXT NOT NULL,
    liveness TEXT,
    latency_ms REAL NOT NULL,
    attempt INTEGER NOT NULL,
    reason TEXT,
    policy_version INTEGER,
    decided_offline INTEGER NOT NULL DEFAULT 0,
    door_action TEXT
);
CREATE INDEX IF NOT EXISTS access_events_ts ON access_events(ts);
CREATE INDEX IF NOT EXISTS access_events_door_ts ON access_events(door, ts);
CREATE TABLE IF NOT EXISTS event_receipts (
    key TEXT PRIMARY KEY,
    door TEXT NOT NULL,
    event_id INTEGER
);
"""

COLUMNS = (
    "time, door, mode, track, claimed, decision, person, distance, threshold, frames_used,"
    " face_quality, liveness, latency_ms, attempt, reason, policy_version, decided_offline,"
    " door_action"
)
PLACEHOLDERS = ", ".join("?" * 19)

# Explicit migrations: version -> the statements that bring the previous version up to it.
MIGRATIONS: dict[int, tuple[str, ...]] = {
    2: (
        "ALTER TABLE access_events ADD COLUMN reason TEXT",
        "ALTER TABLE access_events ADD COLUMN policy_version INTEGER",
    ),
    3: (
        "ALTER TABLE access_events ADD COLUMN decided_offline INTEGER NOT NULL DEFAULT 0",
        "ALTER TABLE access_events ADD COLUMN door_action TEXT",
    ),
}


def _event_row(event: AccessEvent) -> tuple[object, ...]:
    """Return the column values of one event, in COLUMNS order plus ts at the end."""
    moment = to_utc(event.time)
    liveness = None if event.liveness is None else json.dumps(event.liveness, sort_keys=True)
    return (
        event.time,
        event.door,
        event.mode,
        event.track,
        event.claimed,
        event.decision,
        event.person,
        event.distance,
        float(event.threshold),
        int(event.frames_used),
        json.dumps(event.face_quality, sort_keys=True),
        liveness,
        float(event.latency_ms),
        int(event.attempt),
        event.reason,
        event.policy_version,
        int(event.decided_offline),
        event.door_action,
        moment.timestamp(),
    )


def _row_event(row: Sequence[Any]) -> AccessEvent:
    """Return the event stored in one row (COLUMNS order)."""
    values = list(row)
    values[10] = json.loads(values[10])
    values[11] = None if values[11] is None else json.loads(values[11])
    *fields, offline, action = values
    return AccessEvent(*fields, decided_offline=bool(offline), door_action=action)


def _filters(
    door: str | None,
    person: str | None,
    decision: str | None,
    since: TimeLike | None,
    until: TimeLike | None,
    reason: str | None = None,
) -> tuple[str, list[object]]:
    """Return a WHERE clause (possibly empty) and its parameters; since <= time < until."""
    clauses: list[str] = []
    params: list[object] = []
    pairs = (("door", door), ("person", person), ("decision", decision), ("reason", reason))
    for column, value in pairs:
        if value is not None:
            clauses.append(f"{column} = ?")
            params.append(value)
    if since is not None:
        clauses.append("ts >= ?")
        params.append(to_utc(since).timestamp())
    if until is not None:
        clauses.append("ts < ?")
        params.append(to_utc(until).timestamp())
    return (" WHERE " + " AND ".join(clauses)) if clauses else "", params


def _stored(conn: Any, key: str, door: str) -> AccessEvent | None:
    """Return the event stored under a key (None when unseen); ValueError for another door's."""
    found = conn.execute("SELECT door, event_id FROM event_receipts WHERE key = ?", (key,))
    receipt = found.fetchone()
    if receipt is None or receipt[1] is None:
        return None
    if receipt[0] != door:
        raise ValueError(f"event key {key!r} belongs to another door")
    row = conn.execute(f"SELECT {COLUMNS} FROM access_events WHERE id = ?", (receipt[1],))
    return _row_event(row.fetchone())


class EventLog(SQLiteStore):
    """Access events in one SQLite file (its own or the gallery's); safe across processes."""

    SCHEMA = SCHEMA
    META_TABLE = "event_meta"
    SCHEMA_VERSION = SCHEMA_VERSION
    WHAT = "event log"
    ERROR = EventLogUnavailableError

    def __init__(self, path: str | Path) -> None:
        super().__init__(path)
        self._migrate()

    def _migrate(self) -> None:
        """Bring an older event log up to SCHEMA_VERSION, one recorded step at a time."""
        with self._write() as conn:
            row = conn.execute(
                "SELECT value FROM event_meta WHERE key = 'schema_version'"
            ).fetchone()
            version = int(row[0])
            have = {r[1] for r in conn.execute("PRAGMA table_info(access_events)")}
            for step in range(version + 1, SCHEMA_VERSION + 1):
                for statement in MIGRATIONS[step]:
                    column = statement.split("ADD COLUMN ")[1].split()[0]
                    if column not in have:  # a fresh log was created with it already
                        conn.execute(statement)
            conn.execute(
                "UPDATE event_meta SET value = ? WHERE key = 'schema_version'",
                (str(max(version, SCHEMA_VERSION)),),
            )

    def forget_person(self, name: str, tombstone: str) -> int:
        """Replace a removed person's name in every event by a tombstone; return rows changed.

        Then checkpoint the WAL (TRUNCATE), so with secure_delete the name is in no file.
        """
        with self._write() as conn:
            changed = conn.execute(
                "UPDATE access_events SET person = ? WHERE person = ?", (tombstone, name)
            ).rowcount
            changed += conn.execute(
                "UPDATE access_events SET claimed = ? WHERE claimed = ?", (tombstone, name)
            ).rowcount
        self._read("PRAGMA wal_checkpoint(TRUNCATE)")
        return changed

    def append(self, event: AccessEvent) -> int:
        """Store one event in its own transaction and return its id."""
        with self._write() as conn:
            return self._insert(
                conn,
                f"INSERT INTO access_events({COLUMNS}, ts) VALUES ({PLACEHOLDERS})",
                _event_row(event),
            )

    def append_once(self, event: AccessEvent, key: str) -> tuple[AccessEvent, bool]:
        """Store an event under an idempotency key once; return the stored event and if it is new.

        A key seen before returns the event first stored under it (and stores nothing), so a
        retried delivery is logged once. The receipt row is claimed before the event is written:
        a concurrent writer with the same key waits for this transaction, then finds it.
        A key first seen at another door raises ValueError.
        """
        with self._write() as conn:
            claimed = conn.execute(
                "INSERT INTO event_receipts(key, door) VALUES (?, ?) ON CONFLICT (key) DO NOTHING",
                (key, event.door),
            ).rowcount
            if claimed:
                event_id = self._insert(
                    conn,
                    f"INSERT INTO access_events({COLUMNS}, ts) VALUES ({PLACEHOLDERS})",
                    _event_row(event),
                )
                conn.execute(
                    "UPDATE event_receipts SET event_id = ? WHERE key = ?", (event_id, key)
                )
                return event, True
            stored = _stored(conn, key, event.door)
            if stored is None:
                raise self.ERROR(f"event key {key!r} has a receipt but no event")
            return stored, False

    def record_door_action(self, key: str, door: str, action: str) -> AccessEvent | None:
        """Note what the door did instead of the event stored under the key (first note wins).

        For an answer the door never got: the centre decided and logged, the door, cut off,
        acted otherwise (e.g. "deny:centre_unreachable"). Return the event (None: unseen key).
        """
        with self._write() as conn:
            if _stored(conn, key, door) is None:
                return None
            conn.execute(
                "UPDATE access_events SET door_action = ? WHERE door_action IS NULL AND id ="
                " (SELECT event_id FROM event_receipts WHERE key = ?)",
                (action, key),
            )
            return _stored(conn, key, door)

    def logged(self, key: str, door: str) -> AccessEvent | None:
        """Return the event stored under an idempotency key (None: unseen; another door: error)."""
        try:
            return _stored(self._conn, key, door)
        except ValueError:
            raise
        except Exception as exc:
            raise self.ERROR(f"cannot read {self.WHAT} {self.path}: {exc}") from exc

    def append_many(self, events: Sequence[AccessEvent]) -> int:
        """Store events in one transaction (all or none) and return how many were stored."""
        with self._write() as conn:
            conn.executemany(
                f"INSERT INTO access_events({COLUMNS}, ts) VALUES ({PLACEHOLDERS})",
                [_event_row(event) for event in events],
            )
        return len(events)

    def query(
        self,
        door: str | None = None,
        person: str | None = None,
        decision: str | None = None,
        since: TimeLike | None = None,
        until: TimeLike | None = None,
        limit: int = 100,
        offset: int = 0,
        reason: str | None = None,
    ) -> list[AccessEvent]:
        """Return matching events, newest first, one page of at most limit."""
        page = self.query_ids(door, person, decision, since, until, limit, offset, reason)
        return [event for _, event in page]

    def query_ids(
        self,
        door: str | None = None,
        person: str | None = None,
        decision: str | None = None,
        since: TimeLike | None = None,
        until: TimeLike | None = None,
        limit: int = 100,
        offset: int = 0,
        reason: str | None = None,
    ) -> list[tuple[int, AccessEvent]]:
        """Return (id, event) of matching events, newest first, one page of at most limit."""
        if limit < 0 or offset < 0:
            raise ValueError("limit and offset must not be negative")
        where, params = _filters(door, person, decision, since, until, reason)
        sql = (
            f"SELECT id, {COLUMNS} FROM access_events{where}"
            " ORDER BY ts DESC, id DESC LIMIT ? OFFSET ?"
        )
        rows = self._read(sql, [*params, limit, offset])
        return [(int(row[0]), _row_event(row[1:])) for row in rows]

    def count(
        self,
        door: str | None = None,
        person: str | None = None,
        decision: str | None = None,
        since: TimeLike | None = None,
        until: TimeLike | None = None,
        reason: str | None = None,
    ) -> int:
        """Return how many events match the filters."""
        where, params = _filters(door, person, decision, since, until, reason)
        return int(self._read(f"SELECT COUNT(*) FROM access_events{where}", params)[0][0])

    def scan(
        self,
        door: str | None = None,
        since: TimeLike | None = None,
        until: TimeLike | None = None,
    ) -> list[AccessEvent]:
        """Return every matching event, oldest first (no paging: for metrics over a window)."""
        where, params = _filters(door, None, None, since, until)
        sql = f"SELECT {COLUMNS} FROM access_events{where} ORDER BY ts, id"
        return [_row_event(row) for row in self._read(sql, params)]

    def refusals_by_reason(
        self, since: TimeLike | None = None, until: TimeLike | None = None
    ) -> dict[tuple[str, str], int]:
        """Return how many deny / retry decisions each (door, reason) had in the range."""
        where, params = _filters(None, None, None, since, until)
        clause = (where + " AND" if where else " WHERE") + " decision != 'unlock'"
        sql = (
            "SELECT door, COALESCE(reason, 'unrecorded'), COUNT(*) FROM access_events"
            f"{clause} GROUP BY 1, 2"
        )
        return {(door, reason): int(n) for door, reason, n in self._read(sql, params)}

    def doors(self) -> list[str]:
        """Return the names of every door with an event, sorted."""
        return [row[0] for row in self._read("SELECT DISTINCT door FROM access_events ORDER BY 1")]

    def attempt_number(
        self, door: str, person_or_track_key: str | int, now: TimeLike, window_seconds: float
    ) -> int:
        """Return 1 + the events at this door for this person/claim (str) or track (int) lately.

        "Lately" is the window (now - window_seconds, now]; a second try within it is attempt 2.
        """
        end = to_utc(now)
        start = end - timedelta(seconds=window_seconds)
        if isinstance(person_or_track_key, int):
            who, key = "track = ?", [person_or_track_key]
        else:
            who, key = "(person = ? OR claimed = ?)", [person_or_track_key] * 2
        sql = f"SELECT COUNT(*) FROM access_events WHERE door = ? AND {who} AND ts > ? AND ts <= ?"
        rows = self._read(sql, [door, *key, start.timestamp(), end.timestamp()])
        return 1 + int(rows[0][0])
