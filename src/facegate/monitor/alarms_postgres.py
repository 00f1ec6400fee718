"""The alarm state in PostgreSQL: the SQLite state's queries, one checker at a time."""

from __future__ import annotations

import zlib
from typing import Any

from facegate.errors import EventLogUnavailableError
from facegate.monitor.alarms import AlarmState
from facegate.pg_db import PostgresStore, TableSet

ALARM_TABLES = TableSet(
    "alarms",
    (
        """
CREATE TABLE alarm_state (
    metric TEXT NOT NULL,
    scope TEXT NOT NULL,
    bound TEXT NOT NULL,
    since TEXT NOT NULL,
    value DOUBLE PRECISION,
    PRIMARY KEY (metric, scope, bound)
)
""",
    ),
)
LOCK_KEY = zlib.crc32(b"facegate:alarm_state")


class PostgresAlarmState(PostgresStore, AlarmState):  # type: ignore[misc]
    """Which alarms are firing, in PostgreSQL; of two checkers only one sees a transition."""

    TABLES = ALARM_TABLES
    WHAT = "alarm state"
    ERROR = EventLogUnavailableError

    def _serialise(self, conn: Any) -> None:
        """Hold the alarm state's advisory lock for this transaction."""
        conn.execute("SELECT pg_advisory_xact_lock(?)", (LOCK_KEY,))
