"""SQLite plumbing shared by every store: WAL connections, atomic writes, a store base class."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Self

from facegate.db_url import is_postgres_url, redact

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


class SQLiteStore:
    """Base of a store in one SQLite file: schema on open, typed errors, a context manager.

    Subclasses set SCHEMA, META_TABLE, SCHEMA_VERSION, WHAT (named in error messages) and
    ERROR (the exception type every database failure becomes).
    """

    SCHEMA: str
    META_TABLE: str
    SCHEMA_VERSION: int
    WHAT: str
    ERROR: type[Exception]

    def __init__(self, path: str | Path) -> None:
        if is_postgres_url(path):
            raise self.ERROR(f"{self.WHAT} needs a SQLite file here, not {redact(str(path))}")
        self.path = Path(path)
        try:
            self._conn = connect(self.path)
            apply_schema(
                self._conn, self.SCHEMA, self.META_TABLE, self.SCHEMA_VERSION, self._write_error
            )
        except (sqlite3.Error, OSError) as exc:
            raise self.ERROR(f"cannot open {self.WHAT} {self.path}: {exc}") from exc

    def _write_error(self, reason: str) -> Exception:
        """Return the error for a failed write."""
        return self.ERROR(f"cannot write {self.WHAT} {self.path}: {reason}")

    @contextmanager
    def _write(self) -> Iterator[sqlite3.Connection]:
        """Yield the connection inside one IMMEDIATE transaction: all of it commits or none."""
        with transaction(self._conn, self._write_error) as conn:
            yield conn

    def _read(self, sql: str, params: Sequence[object] = ()) -> list[tuple]:
        """Return all rows of a query, wrapping database errors."""
        try:
            return self._conn.execute(sql, params).fetchall()
        except sqlite3.Error as exc:
            raise self.ERROR(f"cannot read {self.WHAT} {self.path}: {exc}") from exc

    def _insert(self, conn: sqlite3.Connection, sql: str, params: Sequence[object]) -> int:
        """Run one INSERT and return the new row's id."""
        return int(conn.execute(sql, params).lastrowid or 0)

    def close(self) -> None:
        """Close the database connection."""
        self._conn.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
