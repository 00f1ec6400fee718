"""The event log in PostgreSQL: the same queries as the SQLite log, on a shared server."""

from __future__ import annotations

from facegate.errors import EventLogUnavailableError
from facegate.monitor.events import EventLog
from facegate.pg_db import PostgresStore, TableSet

EVENT_TABLES = TableSet(
    "events",
    (
        """
CREATE TABLE access_events (
    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    time TEXT NOT NULL,
    ts DOUBLE PRECISION NOT NULL,
    door TEXT NOT NULL,
    mode TEXT NOT NULL,
    track BIGINT,
    claimed TEXT,
    decision TEXT NOT NULL,
    person TEXT,
    distance DOUBLE PRECISION,
    threshold DOUBLE PRECISION NOT NULL,
    frames_used INTEGER NOT NULL,
    face_quality TEXT NOT NULL,
    liveness TEXT,
    latency_ms DOUBLE PRECISION NOT NULL,
    attempt INTEGER NOT NULL
);
CREATE INDEX access_events_ts ON access_events(ts);
CREATE INDEX access_events_door_ts ON access_events(door, ts)
""",
        "ALTER TABLE access_events ADD COLUMN reason TEXT, ADD COLUMN policy_version INTEGER",
        "CREATE TABLE event_receipts (key TEXT PRIMARY KEY, door TEXT NOT NULL, event_id BIGINT)",
        "ALTER TABLE access_events ADD COLUMN decided_offline INTEGER NOT NULL DEFAULT 0,"
        " ADD COLUMN door_action TEXT",
    ),
)


class PostgresEventLog(PostgresStore, EventLog):  # type: ignore[misc]
    """Access events in PostgreSQL; every EventLog query, many writers across machines."""

    TABLES = EVENT_TABLES
    WHAT = "event log"
    ERROR = EventLogUnavailableError

    def forget_person(self, name: str, tombstone: str) -> int:
        """Replace a removed person's name in every event by a tombstone; return rows changed."""
        with self._write() as conn:
            changed = conn.execute(
                "UPDATE access_events SET person = ? WHERE person = ?", (tombstone, name)
            ).rowcount
            changed += conn.execute(
                "UPDATE access_events SET claimed = ? WHERE claimed = ?", (tombstone, name)
            ).rowcount
        return changed
