"""Database administration: schema upgrades, and moving a site from SQLite to PostgreSQL."""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from facegate.db_url import is_postgres_url, redact
from facegate.errors import GalleryUnavailableError
from facegate.settings import Settings

if TYPE_CHECKING:
    import psycopg

    from facegate.gallery.postgres import PostgresGallery

SQLITE_PREFIX = "sqlite:///"

# (table, columns) per table set, in the order rows must be copied (parents first)
COPY_PLAN: dict[str, tuple[tuple[str, tuple[str, ...]], ...]] = {
    "gallery": (
        ("people", ("id", "name", "created_at")),
        ("enrollments", ("id", "person_id", "consent", "created_at")),
        (
            "embeddings",
            (
                "id",
                "person_id",
                "enrollment_id",
                "model",
                "vector",
                "source",
                "face_px",
                "sharpness",
                "brightness",
                "created_at",
            ),
        ),
    ),
    "access": (
        (
            "doors",
            (
                "name",
                "mode",
                "level",
                "far",
                "allow",
                "schedules",
                "liveness",
                "version",
                "updated_at",
            ),
        ),
        ("person_access", ("person_id", "valid_from", "valid_until")),
        ("person_groups", ("person_id", "grp")),
    ),
    "events": (
        (
            "access_events",
            (
                "id",
                "time",
                "ts",
                "door",
                "mode",
                "track",
                "claimed",
                "decision",
                "person",
                "distance",
                "threshold",
                "frames_used",
                "face_quality",
                "liveness",
                "latency_ms",
                "attempt",
                "reason",
                "policy_version",
                "decided_offline",
                "door_action",
            ),
        ),
    ),
    "keys": (("api_keys", ("id", "name", "hash", "scopes", "created_at", "revoked_at", "doors")),),
    "crops": (("event_crops", ("event_id", "ts", "jpeg")),),
}


# table sets that are created on first use and never copied (service state: counts, alarms,
# UI sessions), with their SQLite meta tables; `db upgrade` still brings them up to date
STATE_SETS = {"failures": "failure_meta", "alarms": "alarm_meta", "ui_sessions": "ui_session_meta"}
UPGRADE_ORDER = (*COPY_PLAN, *STATE_SETS)


@dataclass(frozen=True)
class Upgrade:
    """One table set's schema version before and after an upgrade."""

    table_set: str
    before: int
    after: int

    def as_dict(self) -> dict[str, object]:
        """Return the upgrade as a JSON-ready dict."""
        return {"table_set": self.table_set, "before": self.before, "after": self.after}


def sqlite_path(target: str) -> Path:
    """Return the SQLite file a path or sqlite:/// URL names, refusing a PostgreSQL URL."""
    if is_postgres_url(target):
        raise ValueError(f"expected a SQLite file, not {redact(target)}")
    return Path(target[len(SQLITE_PREFIX) - 1 :] if target.startswith(SQLITE_PREFIX) else target)


def upgrade(target: str, settings: Settings) -> list[Upgrade]:
    """Bring every table set at target (SQLite file or PostgreSQL URL) to this code's version."""
    if not is_postgres_url(target):
        return _upgrade_sqlite(sqlite_path(target))
    import psycopg

    from facegate import pg_db
    from facegate.gallery.access_postgres import ACCESS_TABLES
    from facegate.gallery.postgres import GALLERY_TABLES
    from facegate.monitor.alarms_postgres import ALARM_TABLES
    from facegate.monitor.crops_postgres import CROP_TABLES
    from facegate.monitor.events_postgres import EVENT_TABLES
    from facegate.service.failures_postgres import FAILURE_TABLES
    from facegate.service.keys_postgres import KEY_TABLES
    from facegate.service.ui.sessions import PG_TABLES as SESSION_TABLES

    sets = (
        *(GALLERY_TABLES, ACCESS_TABLES, EVENT_TABLES, KEY_TABLES, CROP_TABLES),
        *(FAILURE_TABLES, ALARM_TABLES, SESSION_TABLES),
    )
    try:
        with pg_db.connect(target, settings.postgres) as conn:
            return [Upgrade(tables.name, *pg_db.upgrade(conn, tables)) for tables in sets]
    except psycopg.Error as exc:
        raise GalleryUnavailableError(f"cannot upgrade {redact(target)}: {exc}") from exc


def _sqlite_versions(path: Path) -> dict[str, int]:
    """Return the stored schema version of each table set in a SQLite file (0: absent)."""
    if not path.exists():
        return dict.fromkeys(UPGRADE_ORDER, 0)
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        out = {}
        metas = (
            ("gallery", "meta"),
            ("access", "access_meta"),
            ("events", "event_meta"),
            ("keys", "key_meta"),
            ("crops", "crop_meta"),
            *STATE_SETS.items(),
        )
        for name, meta in metas:
            try:
                row = conn.execute(
                    f"SELECT value FROM {meta} WHERE key = 'schema_version'"
                ).fetchone()
            except sqlite3.OperationalError:
                row = None
            out[name] = int(row[0]) if row else 0
        return out
    finally:
        conn.close()


def _upgrade_sqlite(path: Path) -> list[Upgrade]:
    """Create any missing SQLite table set (each store does so on open) and report versions."""
    from facegate.gallery.access import SQLiteAccessStore
    from facegate.gallery.sqlite import SQLiteGallery
    from facegate.monitor.alarms import AlarmState
    from facegate.monitor.crops import CropStore
    from facegate.monitor.events import EventLog
    from facegate.service.failures import FailureStore
    from facegate.service.keys import KeyStore
    from facegate.service.ui.sessions import SessionStore

    before = _sqlite_versions(path)
    SQLiteGallery(path).close()
    SQLiteAccessStore(path).close()
    EventLog(path).close()
    KeyStore(path).close()
    CropStore(path).close()
    for state in (FailureStore, AlarmState, SessionStore):
        state(path).close()
    after = _sqlite_versions(path)
    return [Upgrade(name, before[name], after[name]) for name in UPGRADE_ORDER]


def _read_source(path: Path) -> dict[str, list[tuple]]:
    """Return every row to copy from a SQLite file, per table (absent tables give none)."""
    if not path.exists():
        raise ValueError(f"no SQLite file at {path}")
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        present = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
        rows: dict[str, list[tuple]] = {}
        for plan in COPY_PLAN.values():
            for table, columns in plan:
                if table in present:
                    # an event log older than v2 lacks the policy columns: copied as NULL
                    have = {r[1] for r in conn.execute(f"PRAGMA table_info({table})")}
                    picked = ", ".join(c if c in have else "NULL" for c in columns)
                    sql = f"SELECT {picked} FROM {table} ORDER BY {columns[0]}"
                    rows[table] = conn.execute(sql).fetchall()
        return rows
    except sqlite3.Error as exc:
        raise GalleryUnavailableError(f"cannot read {path}: {exc}") from exc
    finally:
        conn.close()


def copy_site(source: str, dest: str, settings: Settings) -> dict[str, int]:
    """Copy the gallery, events, keys and crops of a SQLite file into an empty PostgreSQL database.

    Everything is copied in one transaction (all or nothing), ids kept; returns rows per table.
    """
    if not is_postgres_url(dest):
        raise ValueError(f"the destination must be a postgresql:// URL, not {dest!r}")
    rows = _read_source(sqlite_path(source))
    upgrade(dest, settings)
    import psycopg

    from facegate.gallery.postgres import PostgresGallery

    try:
        with PostgresGallery(dest, settings=settings.postgres) as gallery:
            conn = gallery._conn
            with conn.transaction():
                _refuse_non_empty(conn, dest)
                _register_models(gallery, rows.get("embeddings", []))
                for plan in COPY_PLAN.values():
                    for table, columns in plan:
                        _insert_rows(conn, table, columns, rows.get(table, []))
    except psycopg.Error as exc:
        raise GalleryUnavailableError(f"cannot copy into {redact(dest)}: {exc}") from exc
    return {table: len(rows.get(table, [])) for plan in COPY_PLAN.values() for table, _ in plan}


def _refuse_non_empty(conn: psycopg.Connection, dest: str) -> None:
    """Refuse a destination that already holds people, events or keys."""
    for plan in COPY_PLAN.values():
        for table, _ in plan:
            if conn.execute(f"SELECT EXISTS (SELECT 1 FROM {table})").fetchone()[0]:
                raise ValueError(f"{redact(dest)} is not empty ({table} has rows): nothing copied")


def _register_models(gallery: PostgresGallery, embeddings: list[tuple]) -> None:
    """Record each model's vector length (and its HNSW index) before its vectors are copied."""
    dims = {(row[3], len(row[4]) // 4) for row in embeddings}
    for model, dim in sorted(dims):
        gallery.register_model(gallery._conn, model, dim)


def _insert_rows(
    conn: psycopg.Connection, table: str, columns: tuple[str, ...], rows: list[tuple]
) -> None:
    """Insert rows with their ids kept, then move the table's id sequence past them."""
    if not rows:
        return
    if table == "embeddings":
        rows = [(*r[:4], np.frombuffer(r[4], dtype=np.float32), *r[5:]) for r in rows]
    placeholders = ", ".join(["%s"] * len(columns))
    with conn.cursor() as cursor:
        cursor.executemany(
            f"INSERT INTO {table}({', '.join(columns)}) OVERRIDING SYSTEM VALUE"
            f" VALUES ({placeholders})",
            rows,
        )
    if columns[0] == "id":
        conn.execute(
            f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), (SELECT MAX(id) FROM {table}))"
        )
