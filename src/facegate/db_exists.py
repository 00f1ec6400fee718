"""Refuse a database that does not exist, for commands that only read (a typo is not a gallery)."""

from __future__ import annotations

from pathlib import Path

import psycopg

from facegate.db_url import is_postgres_url, redact
from facegate.errors import MissingDatabaseError
from facegate.pg_db import SCHEMA_TABLE, connect
from facegate.settings import Settings

CREATE_HINT = "`facegate enroll` or `facegate db upgrade` creates one"


def require_database(target: str | Path, settings: Settings, what: str = "gallery") -> str | Path:
    """Return target when its SQLite file or PostgreSQL database holds facegate's tables."""
    if is_postgres_url(target):
        return _require_postgres(str(target), settings, what)
    path = Path(target)
    if path.is_dir():
        raise MissingDatabaseError(f"{what} {path} is a folder, not a database file")
    if not path.is_file():
        raise MissingDatabaseError(f"no {what} at {path} (a typo? {CREATE_HINT})")
    return target


def _require_postgres(url: str, settings: Settings, what: str) -> str:
    """Return url when the database exists and facegate's schema table is in it."""
    try:
        with connect(url, settings.postgres, read_only=True) as conn:
            row = conn.execute("SELECT to_regclass(%s)", (SCHEMA_TABLE,)).fetchone()
    except psycopg.Error as exc:
        reason = str(exc).strip().splitlines()[-1] if str(exc).strip() else type(exc).__name__
        raise MissingDatabaseError(f"cannot open {what} {redact(url)}: {reason}") from None
    if row is None or row[0] is None:
        raise MissingDatabaseError(f"no facegate {what} in {redact(url)} ({CREATE_HINT})")
    return url
