"""API keys: random tokens stored only as SHA-256 hashes, each with a name and scopes."""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from facegate.errors import FacegateError
from facegate.sqlite_db import SQLiteStore

SCOPES = ("admin", "enroll", "door", "read")
TOKEN_PREFIX = "fg_"
SCHEMA_VERSION = 1

SCHEMA = """
CREATE TABLE IF NOT EXISTS key_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS api_keys (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL,
    hash TEXT NOT NULL UNIQUE,
    scopes TEXT NOT NULL,
    created_at TEXT NOT NULL,
    revoked_at TEXT
);
"""

KEY_COLUMNS = "id, name, scopes, created_at, revoked_at"


class KeyStoreError(FacegateError):
    """The key store cannot be opened, read or written."""

    code = "key_store_unavailable"


class UnknownKeyError(FacegateError, ValueError):
    """No API key has that id."""

    code = "unknown_key"


@dataclass(frozen=True)
class ApiKey:
    """A stored API key as listed (never the token): id, name, scopes, times."""

    id: int
    name: str
    scopes: tuple[str, ...]
    created_at: str
    revoked_at: str | None

    def grants(self, scope: str) -> bool:
        """Return True when the key holds the scope (admin holds every scope)."""
        return self.revoked_at is None and ("admin" in self.scopes or scope in self.scopes)

    def as_dict(self) -> dict[str, object]:
        """Return the key as a JSON-ready dict."""
        return {
            "id": self.id,
            "name": self.name,
            "scopes": list(self.scopes),
            "created_at": self.created_at,
            "revoked_at": self.revoked_at,
        }


def hash_token(token: str) -> str:
    """Return the hex SHA-256 of a token (tokens are 256-bit random, so no slow hash is needed)."""
    return hashlib.sha256(token.encode()).hexdigest()


def check_scopes(scopes: Iterable[str]) -> tuple[str, ...]:
    """Return the scopes sorted and de-duplicated, refusing unknown or no scopes."""
    chosen = tuple(sorted(set(scopes)))
    unknown = [s for s in chosen if s not in SCOPES]
    if unknown or not chosen:
        raise ValueError(f"scopes must be some of {', '.join(SCOPES)}, not {unknown or 'none'}")
    return chosen


def _row_key(row: Sequence[object]) -> ApiKey:
    """Return the key stored in one row (KEY_COLUMNS order)."""
    key_id, name, scopes, created_at, revoked_at = row
    return ApiKey(int(key_id), str(name), tuple(str(scopes).split()), str(created_at), revoked_at)  # type: ignore[arg-type]


class KeyStore(SQLiteStore):
    """API keys in one SQLite file (its own or the gallery's)."""

    SCHEMA = SCHEMA
    META_TABLE = "key_meta"
    SCHEMA_VERSION = SCHEMA_VERSION
    WHAT = "key store"
    ERROR = KeyStoreError

    def create(self, name: str, scopes: Iterable[str]) -> tuple[ApiKey, str]:
        """Store a new key and return it with its token (the only time the token is known)."""
        if not name.strip():
            raise ValueError("a key needs a name")
        chosen = check_scopes(scopes)
        token = TOKEN_PREFIX + secrets.token_urlsafe(32)
        now = datetime.now(UTC).isoformat(timespec="seconds")
        with self._write() as conn:
            key_id = self._insert(
                conn,
                "INSERT INTO api_keys(name, hash, scopes, created_at) VALUES (?, ?, ?, ?)",
                (name, hash_token(token), " ".join(chosen), now),
            )
        return ApiKey(key_id, name, chosen, now, None), token

    def keys(self) -> list[ApiKey]:
        """Return every key, revoked ones included, oldest first."""
        rows = self._read(f"SELECT {KEY_COLUMNS} FROM api_keys ORDER BY id")
        return [_row_key(row) for row in rows]

    def revoke(self, key_id: int) -> ApiKey:
        """Mark a key revoked (it stops working at once) and return it."""
        now = datetime.now(UTC).isoformat(timespec="seconds")
        with self._write() as conn:
            conn.execute(
                "UPDATE api_keys SET revoked_at = COALESCE(revoked_at, ?) WHERE id = ?",
                (now, key_id),
            )
        rows = self._read(f"SELECT {KEY_COLUMNS} FROM api_keys WHERE id = ?", (key_id,))
        if not rows:
            raise UnknownKeyError(f"no API key has id {key_id}")
        return _row_key(rows[0])

    def lookup(self, token: str) -> ApiKey | None:
        """Return the live (not revoked) key whose token this is, or None."""
        rows = self._read(
            f"SELECT {KEY_COLUMNS} FROM api_keys WHERE hash = ? AND revoked_at IS NULL",
            (hash_token(token),),
        )
        return _row_key(rows[0]) if rows else None
