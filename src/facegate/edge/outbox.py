"""The door's outbox: events it could not deliver to the centre, on disk, oldest first.

Each row is one track's template body as it will be sent (the fused embedding, the liveness
evidence, the offline decision the door took) under its idempotency key. A delivered row is
deleted (SQLite secure_delete overwrites it); a row the centre refused (4xx) stays, marked
refused, so nothing is lost silently. Until delivery the file holds those templates: they are
biometric data of whoever stood at the door.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import platformdirs

from facegate.errors import FacegateError
from facegate.sqlite_db import SQLiteStore

SCHEMA = """
CREATE TABLE IF NOT EXISTS outbox_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS edge_outbox (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    key TEXT NOT NULL UNIQUE,
    body TEXT NOT NULL,
    refused TEXT
);
"""


class OutboxError(FacegateError):
    """The door's outbox cannot be opened, read or written."""

    code = "outbox_unavailable"


def default_outbox_path() -> Path:
    """Return the default outbox file in the user's data directory."""
    return Path(platformdirs.user_data_dir("facegate")) / "edge-outbox.db"


class EdgeOutbox(SQLiteStore):
    """Undelivered door events in one SQLite file, delivered in the order they were queued."""

    SCHEMA = SCHEMA
    META_TABLE = "outbox_meta"
    SCHEMA_VERSION = 1
    WHAT = "door outbox"
    ERROR = OutboxError

    def put(self, key: str, body: dict[str, Any], refused: str | None = None) -> None:
        """Queue one event body under its key (a key queued before is kept as it was)."""
        with self._write() as conn:
            conn.execute(
                "INSERT INTO edge_outbox(key, body, refused) VALUES (?, ?, ?)"
                " ON CONFLICT (key) DO NOTHING",
                (key, json.dumps(body), refused),
            )

    def pending(self, limit: int = 100) -> list[tuple[int, dict[str, Any]]]:
        """Return up to limit events to deliver (sequence number, body), oldest first."""
        rows = self._read(
            "SELECT seq, body FROM edge_outbox WHERE refused IS NULL ORDER BY seq LIMIT ?", (limit,)
        )
        return [(int(seq), json.loads(body)) for seq, body in rows]

    def delivered(self, seq: int) -> None:
        """Forget a delivered event."""
        with self._write() as conn:
            conn.execute("DELETE FROM edge_outbox WHERE seq = ?", (seq,))

    def refuse(self, seq: int, why: str) -> None:
        """Keep an event the centre refused, marked with why, out of the delivery queue."""
        with self._write() as conn:
            conn.execute("UPDATE edge_outbox SET refused = ? WHERE seq = ?", (why, seq))

    def counts(self) -> dict[str, int]:
        """Return how many events wait for delivery and how many the centre refused."""
        rows = self._read("SELECT COUNT(*) - COUNT(refused), COUNT(refused) FROM edge_outbox")
        waiting, refused = rows[0]
        return {"waiting": int(waiting), "refused": int(refused)}
