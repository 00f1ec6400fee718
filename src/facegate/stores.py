"""Open the gallery, event log or key store named by a SQLite path or a postgresql:// URL."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from facegate.db_url import is_postgres_url
from facegate.gallery.sqlite import SQLiteGallery
from facegate.monitor.events import EventLog
from facegate.settings import Settings

if TYPE_CHECKING:
    from facegate.gallery.access import AccessStore
    from facegate.gallery.postgres import PostgresGallery
    from facegate.service.keys import KeyStore

Target = str | Path


def open_gallery(
    target: Target, settings: Settings, read_only: bool = False
) -> SQLiteGallery | PostgresGallery:
    """Return the gallery at a SQLite path or a PostgreSQL URL."""
    if is_postgres_url(target):
        from facegate.gallery.postgres import PostgresGallery

        return PostgresGallery(str(target), read_only, settings.postgres)
    return SQLiteGallery(target, read_only)


def open_event_log(target: Target, settings: Settings) -> EventLog:
    """Return the event log at a SQLite path or a PostgreSQL URL."""
    if is_postgres_url(target):
        from facegate.monitor.events_postgres import PostgresEventLog

        return PostgresEventLog(str(target), settings.postgres)
    return EventLog(target)


def open_key_store(target: Target, settings: Settings) -> KeyStore:
    """Return the API key store at a SQLite path or a PostgreSQL URL."""
    if is_postgres_url(target):
        from facegate.service.keys_postgres import PostgresKeyStore

        return PostgresKeyStore(str(target), settings.postgres)
    from facegate.service.keys import KeyStore

    return KeyStore(target)


def open_access_store(target: Target, settings: Settings) -> AccessStore:
    """Return the door rules and access records beside the gallery at a path or URL."""
    if is_postgres_url(target):
        from facegate.gallery.access_postgres import PostgresAccessStore

        return PostgresAccessStore(str(target), settings.postgres)
    from facegate.gallery.access import SQLiteAccessStore

    return SQLiteAccessStore(target)


def access_store_of(gallery: SQLiteGallery | PostgresGallery, settings: Settings) -> AccessStore:
    """Return the access store kept beside an open gallery (its file, or its server)."""
    return open_access_store(getattr(gallery, "url", gallery.path), settings)


def event_log_of(gallery: SQLiteGallery | PostgresGallery, settings: Settings) -> EventLog:
    """Return the event log kept beside an open gallery (its file, or its server)."""
    return open_event_log(getattr(gallery, "url", gallery.path), settings)
