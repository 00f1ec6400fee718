"""API keys in PostgreSQL: the same hashed tokens and scopes as the SQLite key store."""

from __future__ import annotations

from facegate.pg_db import PostgresStore, TableSet
from facegate.service.keys import KeyStore, KeyStoreError

KEY_TABLES = TableSet(
    "keys",
    (
        """
CREATE TABLE api_keys (
    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    name TEXT NOT NULL,
    hash TEXT NOT NULL UNIQUE,
    scopes TEXT NOT NULL,
    created_at TEXT NOT NULL,
    revoked_at TEXT
)
""",
        "ALTER TABLE api_keys ADD COLUMN doors TEXT",
    ),
)


class PostgresKeyStore(PostgresStore, KeyStore):  # type: ignore[misc]
    """API keys in PostgreSQL (only SHA-256 hashes of the tokens are stored)."""

    TABLES = KEY_TABLES
    WHAT = "key store"
    ERROR = KeyStoreError
