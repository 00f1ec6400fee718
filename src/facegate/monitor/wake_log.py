"""The wake log: every wake-phrase detection at a door, in SQLite beside the access events."""

from __future__ import annotations

from typing import Any

from facegate.access_event import to_utc
from facegate.errors import EventLogUnavailableError
from facegate.sqlite_db import SQLiteStore

SCHEMA = """
CREATE TABLE IF NOT EXISTS wake_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS wake_events (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    time TEXT NOT NULL,
    ts REAL NOT NULL,
    door TEXT NOT NULL,
    phrase TEXT NOT NULL,
    score REAL NOT NULL,
    offset_s REAL NOT NULL,
    latency_ms REAL NOT NULL,
    open_seconds REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS wake_events_door_ts ON wake_events(door, ts);
"""
FIELDS = ("time", "door", "phrase", "score", "offset_s", "latency_ms", "open_seconds")


class WakeLog(SQLiteStore):
    """Wake-phrase detections (the door woke its camera loop), one row each."""

    SCHEMA = SCHEMA
    META_TABLE = "wake_meta"
    SCHEMA_VERSION = 1
    WHAT = "wake log"
    ERROR = EventLogUnavailableError

    def append(self, event: dict[str, Any]) -> int:
        """Store one wake (a dict with FIELDS) and return its id."""
        values = [event[name] for name in FIELDS]
        with self._write() as conn:
            cursor = conn.execute(
                "INSERT INTO wake_events (time, door, phrase, score, offset_s, latency_ms, "
                "open_seconds, ts) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (*values, to_utc(event["time"]).timestamp()),
            )
            return int(cursor.lastrowid or 0)

    def wakes(self, door: str | None = None) -> list[dict[str, Any]]:
        """Return the stored wakes (of one door, or all) in time order."""
        where, params = (" WHERE door = ?", [door]) if door is not None else ("", [])
        rows = self._read(
            f"SELECT {', '.join(FIELDS)} FROM wake_events{where} ORDER BY ts, id", params
        )
        return [dict(zip(FIELDS, row, strict=True)) for row in rows]
