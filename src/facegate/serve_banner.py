"""What `facegate serve` says at start: its database, how many people, whether a key exists."""

from __future__ import annotations

from pathlib import Path

from facegate import api
from facegate.db_url import is_postgres_url, redact
from facegate.service.app import service_paths
from facegate.settings import Settings
from facegate.stores import open_key_store
from facegate.wording import people_count


def serve_banner(settings: Settings, db: str | Path | None) -> list[str]:
    """Return the start lines: gallery and people, event log, API keys (or how to make one)."""
    paths = service_paths(settings, db)
    with api.open_gallery(paths.gallery, settings) as gallery:
        people, where = len(gallery.people()), gallery.path
    with open_key_store(paths.keys, settings) as store:
        keys = store.keys()
    active = [k for k in keys if k.revoked_at is None]
    events = _name(paths.events)
    lines = [f"facegate serve: gallery {where} ({people_count(people)}), events in {events}"]
    if active:
        names = ", ".join(f"{k.name} ({' '.join(k.scopes)})" for k in active)
        lines.append(f"facegate serve: {len(active)} API key(s) in {_name(paths.keys)}: {names}")
    else:
        lines.append(
            f"facegate serve: no API key in {_name(paths.keys)} yet, so every route that needs "
            "one answers 401; create one with: facegate keys create --name admin --scope admin "
            f"--db {_name(paths.keys)}"
        )
    return lines


def _name(target: str | Path) -> str:
    """Return a database target as it may be shown (a URL without its password)."""
    return redact(str(target)) if is_postgres_url(target) else str(target)
