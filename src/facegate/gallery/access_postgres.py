"""Doors and who may use them in PostgreSQL: the SQLite access store's queries on a server."""

from __future__ import annotations

from facegate.errors import GalleryUnavailableError
from facegate.gallery.access import SQLiteAccessStore
from facegate.pg_db import PostgresStore, TableSet

ACCESS_TABLES = TableSet(
    "access",
    (
        """
CREATE TABLE doors (
    name TEXT PRIMARY KEY,
    mode TEXT NOT NULL,
    level TEXT NOT NULL,
    far DOUBLE PRECISION NOT NULL,
    allow TEXT NOT NULL,
    schedules TEXT NOT NULL,
    liveness TEXT NOT NULL,
    version INTEGER NOT NULL,
    updated_at TEXT NOT NULL
);
CREATE TABLE person_access (
    person_id BIGINT PRIMARY KEY REFERENCES people(id) ON DELETE CASCADE,
    valid_from TEXT,
    valid_until TEXT
);
CREATE TABLE person_groups (
    person_id BIGINT NOT NULL REFERENCES people(id) ON DELETE CASCADE,
    grp TEXT NOT NULL,
    PRIMARY KEY (person_id, grp)
)
""",
    ),
)


class PostgresAccessStore(PostgresStore, SQLiteAccessStore):  # type: ignore[misc]
    """Door rules and people's access records beside a PostgreSQL gallery (same queries)."""

    TABLES = ACCESS_TABLES
    WHAT = "access store"
    ERROR = GalleryUnavailableError
