"""Database targets: a SQLite file path, or a postgresql:// URL (told apart, and redacted)."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlsplit

URL_SCHEMES = ("postgresql://", "postgres://")


def is_postgres_url(target: str | Path | None) -> bool:
    """Return True when target names a PostgreSQL database (postgresql:// or postgres://)."""
    return isinstance(target, str) and target.startswith(URL_SCHEMES)


def redact(url: str) -> str:
    """Return the URL without its password, for messages and logs."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    user = f"{parts.username}@" if parts.username else ""
    port = f":{parts.port}" if parts.port else ""
    query = f"?{parts.query}" if parts.query else ""
    return f"{parts.scheme}://{user}{host}{port}{parts.path}{query}"
