"""Login sessions of the admin UI: random tokens stored only as SHA-256 hashes, with expiry.

The table lives in the key store's database (SQLite file or PostgreSQL), so every service
worker sees the same sessions; the browser holds the token in an HttpOnly cookie.
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from facegate.db_url import is_postgres_url
from facegate.pg_db import PostgresStore, TableSet
from facegate.service.keys import KeyStoreError, hash_token
from facegate.settings import Settings
from facegate.sqlite_db import SQLiteStore

SCHEMA = """
CREATE TABLE IF NOT EXISTS ui_session_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS ui_sessions (
    id INTEGER PRIMARY KEY,
    hash TEXT NOT NULL UNIQUE,
    key_id INTEGER NOT NULL,
    csrf TEXT NOT NULL,
    created REAL NOT NULL,
    expires REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS ui_sessions_key ON ui_sessions(key_id)
"""

PG_TABLES = TableSet(
    "ui_sessions",
    (
        """
CREATE TABLE ui_sessions (
    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    hash TEXT NOT NULL UNIQUE,
    key_id BIGINT NOT NULL,
    csrf TEXT NOT NULL,
    created DOUBLE PRECISION NOT NULL,
    expires DOUBLE PRECISION NOT NULL
);
CREATE INDEX ui_sessions_key ON ui_sessions(key_id)
""",
    ),
)


@dataclass(frozen=True)
class Session:
    """A live login session: the API key it acts for, its CSRF token and its end (Unix time)."""

    key_id: int
    csrf: str
    expires: float


class SessionStore(SQLiteStore):
    """UI sessions in the key store's SQLite file."""

    SCHEMA = SCHEMA
    META_TABLE = "ui_session_meta"
    SCHEMA_VERSION = 1
    WHAT = "session store"
    ERROR = KeyStoreError
    clock: Callable[[], float] = staticmethod(time.time)

    def create(self, key_id: int, lifetime_s: float) -> tuple[str, Session]:
        """Start a session for a key and return its token (known only now) and the session."""
        token = secrets.token_urlsafe(32)
        now = self.clock()
        session = Session(key_id, secrets.token_urlsafe(32), now + lifetime_s)
        with self._write() as conn:
            conn.execute("DELETE FROM ui_sessions WHERE expires <= ?", (now,))
            conn.execute(
                "INSERT INTO ui_sessions(hash, key_id, csrf, created, expires)"
                " VALUES (?, ?, ?, ?, ?)",
                (hash_token(token), key_id, session.csrf, now, session.expires),
            )
        return token, session

    def lookup(self, token: str) -> Session | None:
        """Return the unexpired session of a token, or None."""
        rows = self._read(
            "SELECT key_id, csrf, expires FROM ui_sessions WHERE hash = ? AND expires > ?",
            (hash_token(token), self.clock()),
        )
        return Session(int(rows[0][0]), str(rows[0][1]), float(rows[0][2])) if rows else None

    def end(self, token: str) -> None:
        """End the session of a token (logout)."""
        with self._write() as conn:
            conn.execute("DELETE FROM ui_sessions WHERE hash = ?", (hash_token(token),))

    def end_for_key(self, key_id: int) -> None:
        """End every session of a key (it was revoked)."""
        with self._write() as conn:
            conn.execute("DELETE FROM ui_sessions WHERE key_id = ?", (key_id,))


class PostgresSessionStore(PostgresStore, SessionStore):  # type: ignore[misc]
    """UI sessions in PostgreSQL (only SHA-256 hashes of the tokens are stored)."""

    TABLES = PG_TABLES
    WHAT = "session store"
    ERROR = KeyStoreError


def open_session_store(target: str | Path, settings: Settings) -> SessionStore:
    """Return the session store at a SQLite path or a PostgreSQL URL (the key store's)."""
    if is_postgres_url(target):
        return PostgresSessionStore(str(target), settings.postgres)
    return SessionStore(target)
