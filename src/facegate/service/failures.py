"""Failed door attempts in the database, so every service worker counts the same failures.

One row per subject (an API key, a door) of each attempt: in flight (failed = 0, holding a
place while it is decided) or a counted failure (failed = 1) at its time. Reserving a place is
one write transaction that first drops expired rows, then counts and inserts; SQLite's
BEGIN IMMEDIATE, and on PostgreSQL an advisory lock per subject, serialise it across
processes, so N workers together stop at exactly the limit. A worker killed mid-attempt leaves
an in-flight row, which stops holding its place after doors.rate_limit_stale_seconds.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from facegate.db_url import is_postgres_url
from facegate.errors import FacegateError
from facegate.settings import Settings
from facegate.sqlite_db import SQLiteStore

SCHEMA = """
CREATE TABLE IF NOT EXISTS failure_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS attempt_slots (
    id INTEGER PRIMARY KEY,
    subject TEXT NOT NULL,
    ts REAL NOT NULL,
    failed INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS attempt_slots_subject ON attempt_slots(subject, ts);
"""


class FailureStoreError(FacegateError):
    """The failed-attempt counts cannot be read or written."""

    code = "failure_store_unavailable"


@dataclass(frozen=True)
class Reservation:
    """A reservation's outcome: the subjects over the limit, or the places held (ids)."""

    over: list[str]
    ids: list[int]


def _marks(values: Sequence[object]) -> str:
    """Return one ? placeholder per value, comma-separated."""
    return ", ".join("?" * len(values))


class FailureStore(SQLiteStore):
    """Attempts in flight and recent failures per subject in one SQLite file."""

    SCHEMA = SCHEMA
    META_TABLE = "failure_meta"
    SCHEMA_VERSION = 1
    WHAT = "failure counts"
    ERROR = FailureStoreError

    def _serialise(self, conn: Any, subjects: Sequence[str]) -> None:
        """Hold the subjects for this transaction (SQLite: BEGIN IMMEDIATE already does)."""

    def failures(self, subjects: Sequence[str], since: float) -> dict[str, int]:
        """Return each subject's failures after `since` (epoch seconds)."""
        rows = self._read(
            f"SELECT subject, COUNT(*) FROM attempt_slots WHERE failed = 1 AND ts > ?"
            f" AND subject IN ({_marks(subjects)}) GROUP BY subject",
            [since, *subjects],
        )
        return {str(s): int(n) for s, n in rows}

    def reserve(
        self, subjects: Sequence[str], limit: int, since: float, stale: float, now: float
    ) -> Reservation:
        """Hold a place per subject unless failures reach the limit (over) or places are full.

        since: failures at or before it have expired; stale: places held since before it are
        dropped (their attempt died). Full (neither over nor ids): wait and ask again.
        """
        marks = _marks(subjects)
        with self._write() as conn:
            self._serialise(conn, subjects)
            conn.execute(
                f"DELETE FROM attempt_slots WHERE subject IN ({marks})"
                " AND ((failed = 1 AND ts <= ?) OR (failed = 0 AND ts <= ?))",
                [*subjects, since, stale],
            )
            rows = conn.execute(
                f"SELECT subject, SUM(failed), COUNT(*) FROM attempt_slots"
                f" WHERE subject IN ({marks}) GROUP BY subject",
                list(subjects),
            ).fetchall()
            failed = {str(s): int(f) for s, f, _ in rows}
            held = {str(s): int(n) for s, _, n in rows}
            over = [s for s in subjects if failed.get(s, 0) >= limit]
            if over or any(held.get(s, 0) >= limit for s in subjects):
                return Reservation(over, [])
            ids = [
                self._insert(
                    conn,
                    "INSERT INTO attempt_slots(subject, ts, failed) VALUES (?, ?, 0)",
                    (s, now),
                )
                for s in subjects
            ]
        return Reservation([], ids)

    def record(self, subjects: Sequence[str], at: float) -> None:
        """Store one counted failure per subject at `at` (an attempt decided elsewhere)."""
        with self._write() as conn:
            self._serialise(conn, subjects)
            for subject in subjects:
                self._insert(
                    conn,
                    "INSERT INTO attempt_slots(subject, ts, failed) VALUES (?, ?, 1)",
                    (subject, at),
                )

    def finish(self, ids: Sequence[int], failed: bool, now: float) -> None:
        """End an attempt: its places become failures at `now`, or are given back."""
        with self._write() as conn:
            if failed:
                conn.execute(
                    f"UPDATE attempt_slots SET failed = 1, ts = ? WHERE id IN ({_marks(ids)})",
                    [now, *ids],
                )
            else:
                conn.execute(f"DELETE FROM attempt_slots WHERE id IN ({_marks(ids)})", list(ids))


def open_failure_store(target: str | Path, settings: Settings) -> FailureStore:
    """Return the failure counts at a SQLite path or a PostgreSQL URL."""
    if is_postgres_url(target):
        from facegate.service.failures_postgres import PostgresFailureStore

        return PostgresFailureStore(str(target), settings.postgres)
    return FailureStore(target)
