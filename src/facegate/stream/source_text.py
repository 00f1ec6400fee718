"""How a frame source is named in messages and logs: never with a URL's user or password."""

from __future__ import annotations

import urllib.parse
from pathlib import Path


def shown_source(source: str | int | Path) -> str:
    """Return the source as it may be printed: a URL's user and password left out."""
    text = str(source)
    parts = urllib.parse.urlsplit(text)
    if parts.username is None and parts.password is None:
        return text
    host = parts.hostname or ""
    netloc = f"{host}:{parts.port}" if parts.port else host
    return urllib.parse.urlunsplit(parts._replace(netloc=f"***@{netloc}"))
