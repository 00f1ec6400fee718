"""API keys: random tokens stored only as SHA-256 hashes, each with a name and scopes."""

from __future__ import annotations

import hashlib
import re
import secrets
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from facegate.errors import FacegateError
from facegate.sqlite_db import SQLiteStore

SCOPES = ("admin", "enroll", "door", "read")
TOKEN_PREFIX = "fg_"
SCHEMA_VERSION = 2
DOOR_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")  # as the HTTP door fields

SCHEMA = """
CREATE TABLE IF NOT EXISTS key_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS api_keys (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL,
    hash TEXT NOT NULL UNIQUE,
    scopes TEXT NOT NULL,
    created_at TEXT NOT NULL,
    revoked_at TEXT,
    doors TEXT
);
"""

KEY_COLUMNS = "id, name, scopes, created_at, revoked_at, doors"


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
    doors: tuple[str, ...] = ()  # bound to these doors (door checks elsewhere: 403); () = any

    def grants(self, scope: str) -> bool:
        """Return True when the key holds the scope (admin holds every scope)."""
        return self.revoked_at is None and ("admin" in self.scopes or scope in self.scopes)

    def serves(self, door: str) -> bool:
        """Return True when the key may check this door (an unbound key may check any)."""
        return not self.doors or door in self.doors

    def as_dict(self) -> dict[str, object]:
        """Return the key as a JSON-ready dict."""
        return {
            "id": self.id,
            "name": self.name,
            "scopes": list(self.scopes),
            "created_at": self.created_at,
            "revoked_at": self.revoked_at,
            "doors": list(self.doors),
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


def check_doors(doors: Iterable[str], scopes: Sequence[str]) -> tuple[str, ...]:
    """Return the door names a key is bound to, refusing bad names or a key without door scope."""
    chosen = tuple(dict.fromkeys(doors))
    bad = [d for d in chosen if not DOOR_NAME.match(d)]
    if bad:
        raise ValueError(f"door names are 1-64 of A-Z a-z 0-9 _ . - , not {bad[0]!r}")
    if chosen and "door" not in scopes:
        raise ValueError("only a key with the door scope can be bound to doors")
    return chosen


def _row_key(row: Sequence[object]) -> ApiKey:
    """Return the key stored in one row (KEY_COLUMNS order)."""
    key_id, name, scopes, created_at, revoked_at, doors = row
    return ApiKey(
        int(key_id),
        str(name),
        tuple(str(scopes).split()),
        str(created_at),
        revoked_at,  # type: ignore[arg-type]
        tuple(str(doors or "").split()),
    )


class KeyStore(SQLiteStore):
    """API keys in one SQLite file (its own or the gallery's)."""

    SCHEMA = SCHEMA
    META_TABLE = "key_meta"
    SCHEMA_VERSION = SCHEMA_VERSION
    WHAT = "key store"
    ERROR = KeyStoreError

    def __init__(self, path: str | Path) -> None:
        super().__init__(path)
        self._migrate()

    def _migrate(self) -> None:
        """Bring a version 1 key store up to 2 (the doors column of door-bound keys)."""
        with self._write() as conn:
            have = {r[1] for r in conn.execute("PRAGMA table_info(api_keys)")}
            if "doors" not in have:
                conn.execute("ALTER TABLE api_keys ADD COLUMN doors TEXT")
            conn.execute(
                "UPDATE key_meta SET value = ?"
                " WHERE key = 'schema_version' AND CAST(value AS INTEGER) < ?",
                (str(SCHEMA_VERSION), SCHEMA_VERSION),
            )

    def create(
        self, name: str, scopes: Iterable[str], doors: Iterable[str] = ()
    ) -> tuple[ApiKey, str]:
        """Store a new key and return it with its token (the only time the token is known).

        doors: bind a door-scope key to these doors (none: it may check any door).
        """
        if not name.strip():
            raise ValueError("a key needs a name")
        chosen = check_scopes(scopes)
        bound = check_doors(doors, chosen)
        token = TOKEN_PREFIX + secrets.token_urlsafe(32)
        now = datetime.now(UTC).isoformat(timespec="seconds")
        with self._write() as conn:
            key_id = self._insert(
                conn,
                "INSERT INTO api_keys(name, hash, scopes, created_at, doors)"
                " VALUES (?, ?, ?, ?, ?)",
                (name, hash_token(token), " ".join(chosen), now, " ".join(bound) or None),
            )
        return ApiKey(key_id, name, chosen, now, None, bound), token

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
