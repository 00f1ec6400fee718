"""SQLite plumbing shared by the gallery and the event log: WAL connections, atomic writes."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

BUSY_TIMEOUT_MS = 15_000

ErrorFactory = Callable[[str], Exception]


def connect(path: Path, read_only: bool = False) -> sqlite3.Connection:
    """Return an autocommit connection: WAL, busy timeout, foreign keys, secure delete (or ro)."""
    if read_only:
        if not path.exists():
            raise sqlite3.OperationalError("database file does not exist")
        conn = sqlite3.connect(
            f"file:{path}?mode=ro", uri=True, timeout=BUSY_TIMEOUT_MS / 1000, isolation_level=None
        )
        conn.execute("PRAGMA query_only=ON")
        return conn
    path.parent.mkdir(parents=True, exist_ok=True)
    conn = sqlite3.connect(path, timeout=BUSY_TIMEOUT_MS / 1000, isolation_level=None)
    conn.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA foreign_keys=ON")
    conn.execute("PRAGMA secure_delete=ON")
    return conn


@contextmanager
def transaction(conn: sqlite3.Connection, fail: ErrorFactory) -> Iterator[sqlite3.Connection]:
    """Yield the connection inside one IMMEDIATE transaction: all of it commits or none.

    Database errors become fail(reason); any other exception rolls back and propagates.
    """
    try:
        conn.execute("BEGIN IMMEDIATE")
    except sqlite3.Error as exc:
        raise fail(str(exc)) from exc
    try:
        yield conn
    except sqlite3.Error as exc:
        conn.execute("ROLLBACK")
        raise fail(str(exc)) from exc
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    try:
        conn.execute("COMMIT")
    except sqlite3.Error as exc:
        conn.execute("ROLLBACK")
        raise fail(str(exc)) from exc


def apply_schema(
    conn: sqlite3.Connection, schema: str, meta_table: str, version: int, fail: ErrorFactory
) -> None:
    """Create the schema's tables and indexes (if missing) and record its version, atomically."""
    with transaction(conn, fail):
        for statement in filter(str.strip, schema.split(";")):
            conn.execute(statement)
        conn.execute(
            f"INSERT OR IGNORE INTO {meta_table}(key, value) VALUES ('schema_version', ?)",
            (str(version),),
        )
