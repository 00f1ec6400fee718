"""Event crops (opt-in): a small JPEG of each decided face beside its event, with retention."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable
from pathlib import Path

import numpy as np
from PIL import Image

from facegate.errors import EventLogUnavailableError
from facegate.media import encode_jpeg
from facegate.monitor.events import EventLog
from facegate.settings import CropsSettings, PostgresSettings
from facegate.sqlite_db import SQLiteStore

SCHEMA = """
CREATE TABLE IF NOT EXISTS crop_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS event_crops (
    event_id INTEGER PRIMARY KEY,
    ts REAL NOT NULL,
    jpeg BLOB NOT NULL
);
CREATE INDEX IF NOT EXISTS event_crops_ts ON event_crops(ts)
"""

DAY_S = 86400.0

log = logging.getLogger(__name__)


def crop_jpeg(chip: np.ndarray, size: int, quality: int) -> bytes:
    """Return JPEG bytes of an RGB chip scaled to size x size."""
    image = Image.fromarray(np.ascontiguousarray(chip, dtype=np.uint8))
    if image.size != (size, size):
        image = image.resize((size, size), Image.Resampling.LANCZOS)
    return encode_jpeg(np.asarray(image), quality)


class CropStore(SQLiteStore):
    """Event crops in the event log's SQLite file, keyed by event id."""

    SCHEMA = SCHEMA
    META_TABLE = "crop_meta"
    SCHEMA_VERSION = 1
    WHAT = "event crops"
    ERROR = EventLogUnavailableError

    def add(self, event_id: int, ts: float, jpeg: bytes) -> None:
        """Store the crop of one event (its decision time as a UNIX timestamp)."""
        with self._write() as conn:
            conn.execute(
                "INSERT INTO event_crops(event_id, ts, jpeg) VALUES (?, ?, ?)"
                " ON CONFLICT (event_id) DO UPDATE SET ts = excluded.ts, jpeg = excluded.jpeg",
                (event_id, ts, jpeg),
            )

    def purge(self, before_ts: float, batch: int) -> int:
        """Delete at most batch crops older than before_ts (oldest first); return how many."""
        with self._write() as conn:
            return conn.execute(
                "DELETE FROM event_crops WHERE event_id IN (SELECT event_id FROM event_crops"
                " WHERE ts < ? ORDER BY ts LIMIT ?)",
                (before_ts, batch),
            ).rowcount

    def get(self, event_id: int, since_ts: float) -> bytes | None:
        """Return the JPEG of an event's crop, or None when it has none or it is expired."""
        rows = self._read(
            "SELECT jpeg FROM event_crops WHERE event_id = ? AND ts >= ?", (event_id, since_ts)
        )
        return bytes(rows[0][0]) if rows else None

    def having(self, event_ids: Iterable[int], since_ts: float) -> set[int]:
        """Return which of these events have an unexpired crop."""
        ids = [int(i) for i in event_ids]
        if not ids:
            return set()
        marks = ", ".join("?" * len(ids))
        sql = f"SELECT event_id FROM event_crops WHERE ts >= ? AND event_id IN ({marks})"
        return {int(row[0]) for row in self._read(sql, [since_ts, *ids])}

    def count(self) -> int:
        """Return how many crops are stored (expired ones not yet purged included)."""
        return int(self._read("SELECT COUNT(*) FROM event_crops")[0][0])

    def forget_person(self, name: str) -> int:
        """Delete the crop of every event naming this person (matched or claimed); return count.

        Run before the event log replaces the name by a tombstone.
        """
        with self._write() as conn:
            removed = conn.execute(
                "DELETE FROM event_crops WHERE event_id IN"
                " (SELECT id FROM access_events WHERE person = ? OR claimed = ?)",
                (name, name),
            ).rowcount
        self._checkpoint()
        return removed

    def _checkpoint(self) -> None:
        """Move the WAL into the file and truncate it, so deleted bytes leave no copy there."""
        self._read("PRAGMA wal_checkpoint(TRUNCATE)")


class CropKeeper:
    """Encodes and stores a decided chip beside its event, purging expired crops as it goes."""

    def __init__(
        self, store: CropStore, settings: CropsSettings, clock: Callable[[], float] = time.time
    ) -> None:
        if settings.retention_days is None:
            raise ValueError("crops need crops.retention_days")
        self.store = store
        self.settings = settings
        self.clock = clock

    def cutoff(self) -> float:
        """Return the UNIX time before which a crop is expired."""
        return self.clock() - float(self.settings.retention_days or 0.0) * DAY_S

    def keep(self, event_id: int, chip: np.ndarray) -> bool:
        """Store the chip as the event's crop, then purge a bounded batch; False if it failed.

        A crop is secondary to the decision (already logged): a database failure here is
        logged as a warning and the door carries on.
        """
        jpeg = crop_jpeg(chip, self.settings.size, self.settings.quality)
        try:
            self.store.add(event_id, self.clock(), jpeg)
            self.purge()
        except EventLogUnavailableError as exc:
            log.warning("event %d: crop not stored: %s", event_id, exc)
            return False
        return True

    def purge(self) -> int:
        """Delete at most purge_batch expired crops; return how many."""
        return self.store.purge(self.cutoff(), self.settings.purge_batch)


def open_crop_store(target: str | Path, postgres: PostgresSettings | None = None) -> CropStore:
    """Return the crop store at a SQLite path or a PostgreSQL URL (beside the event log)."""
    from facegate.db_url import is_postgres_url

    if is_postgres_url(target):
        from facegate.monitor.crops_postgres import PostgresCropStore

        return PostgresCropStore(str(target), postgres)
    return CropStore(target)


def crops_beside(events: EventLog) -> CropStore:
    """Return the crop store kept beside an open event log (its file, or its server)."""
    target = getattr(events, "url", events.path)
    return open_crop_store(target, getattr(events, "pg_settings", None))


def forget_person_crops(events: EventLog, name: str) -> int:
    """Delete the crops of every event naming a person, beside this event log; return count."""
    with crops_beside(events) as store:
        return store.forget_person(name)
