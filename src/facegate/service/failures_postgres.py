"""Failed door attempts in PostgreSQL: the SQLite store's queries, serialised per subject."""

from __future__ import annotations

import zlib
from collections.abc import Sequence
from typing import Any

from facegate.pg_db import PostgresStore, TableSet
from facegate.service.failures import FailureStore, FailureStoreError

FAILURE_TABLES = TableSet(
    "failures",
    (
        """
CREATE TABLE attempt_slots (
    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    subject TEXT NOT NULL,
    ts DOUBLE PRECISION NOT NULL,
    failed INTEGER NOT NULL
);
CREATE INDEX attempt_slots_subject ON attempt_slots(subject, ts)
""",
    ),
)


class PostgresFailureStore(PostgresStore, FailureStore):  # type: ignore[misc]
    """Attempts in flight and recent failures in PostgreSQL, shared by every worker."""

    TABLES = FAILURE_TABLES
    WHAT = "failure counts"
    ERROR = FailureStoreError

    def _serialise(self, conn: Any, subjects: Sequence[str]) -> None:
        """Take each subject's advisory lock for this transaction (sorted: no deadlock)."""
        for subject in sorted(set(subjects)):
            key = zlib.crc32(f"facegate:failures:{subject}".encode())
            conn.execute("SELECT pg_advisory_xact_lock(?)", (key,))
