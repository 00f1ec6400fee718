"""Event crops in PostgreSQL: the same store as the SQLite one, beside the event log's tables."""

from __future__ import annotations

from facegate.errors import EventLogUnavailableError
from facegate.monitor.crops import CropStore
from facegate.pg_db import PostgresStore, TableSet

CROP_TABLES = TableSet(
    "crops",
    (
        """
CREATE TABLE event_crops (
    event_id BIGINT PRIMARY KEY,
    ts DOUBLE PRECISION NOT NULL,
    jpeg BYTEA NOT NULL
);
CREATE INDEX event_crops_ts ON event_crops(ts)
""",
    ),
)


class PostgresCropStore(PostgresStore, CropStore):  # type: ignore[misc]
    """Event crops in PostgreSQL, keyed by event id; deleted rows are gone once vacuumed."""

    TABLES = CROP_TABLES
    WHAT = "event crops"
    ERROR = EventLogUnavailableError

    def _checkpoint(self) -> None:
        """PostgreSQL has no WAL file of ours to truncate: nothing to do."""
