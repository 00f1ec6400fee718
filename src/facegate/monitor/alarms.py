"""Alarms: bounds on the monitored metrics; a breach fires once, a recovery when it clears.

The state (which alarm is firing, since when) lives in the table `alarm_state` beside the event
log (its SQLite file, or its PostgreSQL database), so a restarted checker, or a second one, does
not fire the same alarm again.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from facegate.access_event import to_utc
from facegate.db_url import is_postgres_url
from facegate.errors import EventLogUnavailableError
from facegate.monitor.drift import drift_report
from facegate.monitor.events import EventLog
from facegate.monitor.stats import summarize
from facegate.monitor.table import load_table
from facegate.settings import RATE_METRICS, Settings
from facegate.sqlite_db import SQLiteStore

ALL_DOORS = "*"
SCHEMA_VERSION = 1
SCHEMA = """
CREATE TABLE IF NOT EXISTS alarm_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS alarm_state (
    metric TEXT NOT NULL,
    scope TEXT NOT NULL,
    bound TEXT NOT NULL,
    since TEXT NOT NULL,
    value REAL,
    PRIMARY KEY (metric, scope, bound)
);
"""


@dataclass(frozen=True)
class Check:
    """One bound checked once: the measured value (None: not enough data) and its verdict."""

    metric: str
    scope: str
    bound: str
    limit: float
    value: float | None

    @property
    def breached(self) -> bool:
        """Return whether the value is beyond the bound."""
        if self.value is None:
            return False
        return self.value > self.limit if self.bound == "max" else self.value < self.limit

    @property
    def key(self) -> tuple[str, str, str]:
        """Return what identifies this alarm: metric, scope (door or *), bound."""
        return self.metric, self.scope, self.bound

    def as_dict(self) -> dict[str, Any]:
        """Return the check as a JSON-ready dict."""
        return {**asdict(self), "breached": self.breached}


@dataclass(frozen=True)
class Notice:
    """An alarm that fired or recovered: what is sent to the outputs."""

    kind: str  # "alarm" or "recovery"
    check: Check
    time: str
    since: str

    @property
    def message(self) -> str:
        """Return one human line about the notice."""
        c = self.check
        where = "all doors" if c.scope == ALL_DOORS else f"door {c.scope}"
        value = "no data" if c.value is None else f"{c.value:.4g}"
        side = "above max" if c.bound == "max" else "below min"
        if self.kind == "alarm":
            return f"ALARM {c.metric} at {where}: {value}, {side} {c.limit:g}"
        return f"RECOVERED {c.metric} at {where}: {value} (bound {c.bound} {c.limit:g})"

    def as_dict(self) -> dict[str, Any]:
        """Return the payload sent to webhooks, MQTT and commands."""
        c = self.check
        return {
            "type": self.kind,
            "alarm": c.metric,
            "door": None if c.scope == ALL_DOORS else c.scope,
            "scope": c.scope,
            "bound": c.bound,
            "limit": c.limit,
            "value": c.value,
            "time": self.time,
            "since": self.since,
            "message": self.message,
        }


def _bounds(settings: Settings) -> list[tuple[str, str, float]]:
    """Return (bound, metric, limit) for every configured bound."""
    alarms = settings.alarms
    return [("max", m, v) for m, v in alarms.max.items()] + [
        ("min", m, v) for m, v in alarms.min.items()
    ]


def measure(log: EventLog, settings: Settings, now: datetime) -> list[Check]:
    """Return every configured bound checked at time now, for all doors and (per_door) each."""
    now = to_utc(now)
    alarms = settings.alarms
    bounds = _bounds(settings)
    if not bounds:
        return []
    since = now - timedelta(minutes=alarms.window_minutes)
    window = load_table(log, since, now)
    scopes: list[str | None] = [None, *(log.doors() if alarms.per_door else [])]
    checks = []
    for door in scopes:
        rows = window.for_door(door)
        summary = summarize(rows, alarms.window_minutes / 60.0).as_dict()
        drift: dict[str, float | None] = {}
        if any(metric.startswith("psi_") for _, metric, _ in bounds):
            report = drift_report(log, settings.drift, now, door)
            drift = {f.feature: f.psi for f in report.features}
        for bound, metric, limit in bounds:
            if metric in RATE_METRICS:
                enough = metric == "faces_per_hour" or len(rows) >= alarms.min_events
                value = summary[metric] if enough else None
            else:
                value = drift.get(metric.removeprefix("psi_"))
            checks.append(Check(metric, door or ALL_DOORS, bound, limit, value))
    return checks


class AlarmState(SQLiteStore):
    """Which alarms are firing, in the event log's SQLite file; safe across processes."""

    SCHEMA = SCHEMA
    META_TABLE = "alarm_meta"
    SCHEMA_VERSION = SCHEMA_VERSION
    WHAT = "alarm state"
    ERROR = EventLogUnavailableError

    def _serialise(self, conn: Any) -> None:
        """Make concurrent updates take turns (SQLite: BEGIN IMMEDIATE already does)."""

    def firing(self) -> dict[tuple[str, str, str], str]:
        """Return the firing alarms: (metric, scope, bound) -> time it fired."""
        rows = self._read("SELECT metric, scope, bound, since FROM alarm_state")
        return {(m, s, b): since for m, s, b, since in rows}

    def update(self, checks: list[Check], now: datetime) -> list[Notice]:
        """Record the checks and return the alarms that start and the ones that cleared.

        Atomic: of two checkers at once, only one sees a transition, so each fires once. A
        check without a value (not enough data) changes nothing. A firing alarm whose bound was
        removed from the settings is forgotten without a message.
        """
        stamp = to_utc(now).isoformat(timespec="seconds")
        notices = []
        with self._write() as conn:
            self._serialise(conn)
            rows = conn.execute("SELECT metric, scope, bound, since, value FROM alarm_state")
            firing = {(m, s, b): (since, v) for m, s, b, since, v in rows.fetchall()}
            configured = {(c.metric, c.bound) for c in checks}
            for check in checks:
                if check.value is None:
                    continue
                was = firing.get(check.key)
                if check.breached and was is None:
                    conn.execute(
                        "INSERT INTO alarm_state VALUES (?, ?, ?, ?, ?)",
                        (*check.key, stamp, check.value),
                    )
                    notices.append(Notice("alarm", check, stamp, stamp))
                elif not check.breached and was is not None:
                    conn.execute(
                        "DELETE FROM alarm_state WHERE metric = ? AND scope = ? AND bound = ?",
                        check.key,
                    )
                    notices.append(Notice("recovery", check, stamp, was[0]))
            for metric, scope, bound in firing.keys() - {c.key for c in checks}:
                if (metric, bound) not in configured:
                    conn.execute(
                        "DELETE FROM alarm_state WHERE metric = ? AND scope = ? AND bound = ?",
                        (metric, scope, bound),
                    )
        return notices


def open_alarm_state(target: str | Path, settings: Settings) -> AlarmState:
    """Return the alarm state beside the event log at a SQLite path or a PostgreSQL URL."""
    if is_postgres_url(target):
        from facegate.monitor.alarms_postgres import PostgresAlarmState

        return PostgresAlarmState(str(target), settings.postgres)
    return AlarmState(target)


def check_alarms(
    log: EventLog, state: AlarmState, settings: Settings, now: datetime
) -> tuple[list[Check], list[Notice]]:
    """Return every bound's check at time now and the notices to send (fired / recovered)."""
    checks = measure(log, settings, now)
    return checks, state.update(checks, now)
