"""PostgreSQL plumbing shared by every store: URLs, connections, versioned table sets, a base."""

from __future__ import annotations

import zlib
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, Self

import psycopg

from facegate.db_url import redact
from facegate.settings import PostgresSettings

SCHEMA_TABLE = "facegate_schema"

ErrorFactory = Callable[[str], Exception]


@dataclass(frozen=True)
class TableSet:
    """A named group of tables with its migrations: migrations[i] takes version i to i + 1.

    Version 0 means the set is absent; a new set (doors, groups, ...) is one more TableSet.
    """

    name: str
    migrations: tuple[str, ...]

    @property
    def version(self) -> int:
        """Return the version this code needs (the number of migrations)."""
        return len(self.migrations)


class SchemaError(psycopg.Error):
    """A table set's stored version differs from what this code needs."""


def connect(url: str, settings: PostgresSettings, read_only: bool = False) -> psycopg.Connection:
    """Return an autocommit connection with the lock timeout set (and read-only if asked)."""
    conn = psycopg.connect(url, autocommit=True, connect_timeout=settings.connect_timeout_s)
    conn.execute(f"SET lock_timeout = {int(settings.busy_timeout_s * 1000)}")
    if read_only:
        conn.execute("SET default_transaction_read_only = on")
    return conn


def _lock_key(name: str) -> int:
    """Return the advisory-lock key of a table set."""
    return zlib.crc32(f"facegate:{name}".encode())


def stored_version(conn: psycopg.Connection, table_set: TableSet) -> int:
    """Return the table set's stored version (0 when it is absent)."""
    exists = conn.execute("SELECT to_regclass(%s)", (SCHEMA_TABLE,)).fetchone()
    if exists is None or exists[0] is None:
        return 0
    row = conn.execute(
        f"SELECT version FROM {SCHEMA_TABLE} WHERE table_set = %s", (table_set.name,)
    ).fetchone()
    return 0 if row is None else int(row[0])


def upgrade(conn: psycopg.Connection, table_set: TableSet) -> tuple[int, int]:
    """Apply the table set's pending migrations in one transaction; return (from, to)."""
    with conn.transaction():
        conn.execute("SELECT pg_advisory_xact_lock(%s)", (_lock_key(table_set.name),))
        conn.execute(
            f"CREATE TABLE IF NOT EXISTS {SCHEMA_TABLE}"
            " (table_set TEXT PRIMARY KEY, version INTEGER NOT NULL)"
        )
        before = stored_version(conn, table_set)
        if before > table_set.version:
            raise SchemaError(
                f"{table_set.name} tables are at version {before}, newer than this facegate"
                f" ({table_set.version})"
            )
        for step in table_set.migrations[before:]:
            for statement in filter(str.strip, step.split(";")):
                conn.execute(statement)  # type: ignore[arg-type]
        conn.execute(
            f"INSERT INTO {SCHEMA_TABLE}(table_set, version) VALUES (%s, %s)"
            " ON CONFLICT (table_set) DO UPDATE SET version = EXCLUDED.version",
            (table_set.name, table_set.version),
        )
    return before, table_set.version


def ensure(conn: psycopg.Connection, table_set: TableSet) -> None:
    """Create an absent table set; refuse one at another version (`facegate db upgrade`)."""
    version = stored_version(conn, table_set)
    if version == 0:
        upgrade(conn, table_set)
    elif version != table_set.version:
        raise SchemaError(
            f"{table_set.name} tables are at version {version}, this facegate needs"
            f" {table_set.version}: run `facegate db upgrade`"
        )


def pg_sql(sql: str) -> str:
    """Return SQL written with ? placeholders (the SQLite stores' style) in psycopg's %s style."""
    return sql.replace("%", "%%").replace("?", "%s")


class PgConnection:
    """A psycopg connection that takes ?-placeholder SQL, so the SQLite stores' queries run."""

    def __init__(self, conn: psycopg.Connection) -> None:
        self.conn = conn

    def execute(self, sql: str, params: Sequence[Any] = ()) -> psycopg.Cursor:
        """Run one statement and return its cursor."""
        return self.conn.execute(pg_sql(sql), params)  # type: ignore[arg-type]

    def executemany(self, sql: str, rows: Sequence[Sequence[Any]]) -> None:
        """Run one statement once per row of parameters."""
        with self.conn.cursor() as cursor:
            cursor.executemany(pg_sql(sql), rows)  # type: ignore[arg-type]


class PostgresStore:
    """Base of a store in PostgreSQL: tables on open, typed errors, a context manager.

    Subclasses set TABLES (their TableSet), WHAT (named in error messages) and ERROR (the
    exception type every database failure becomes). Reads and writes take ?-placeholder SQL.
    """

    TABLES: TableSet
    WHAT: str
    ERROR: type[Exception]

    def __init__(self, url: str, settings: PostgresSettings | None = None) -> None:
        self.url = url
        self.path = redact(url)
        self.pg_settings = settings or PostgresSettings()
        try:
            self._pg = connect(url, self.pg_settings)
            ensure(self._pg, self.TABLES)
        except psycopg.Error as exc:
            raise self.ERROR(f"cannot open {self.WHAT} {self.path}: {exc}") from exc
        self._conn = PgConnection(self._pg)

    def _write_error(self, reason: str) -> Exception:
        """Return the error for a failed write."""
        return self.ERROR(f"cannot write {self.WHAT} {self.path}: {reason}")

    @contextmanager
    def _write(self) -> Iterator[PgConnection]:
        """Yield the connection inside one transaction: all of it commits or none."""
        try:
            with self._pg.transaction():
                yield self._conn
        except psycopg.Error as exc:
            raise self._write_error(str(exc).strip()) from exc

    def _read(self, sql: str, params: Sequence[object] = ()) -> list[tuple]:
        """Return all rows of a query, wrapping database errors."""
        try:
            return self._conn.execute(sql, params).fetchall()
        except psycopg.Error as exc:
            raise self.ERROR(f"cannot read {self.WHAT} {self.path}: {exc}") from exc

    def _insert(self, conn: PgConnection, sql: str, params: Sequence[object]) -> int:
        """Run one INSERT and return the new row's id."""
        row = conn.execute(sql + " RETURNING id", params).fetchone()
        return int(row[0]) if row else 0

    def close(self) -> None:
        """Close the database connection."""
        self._pg.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
