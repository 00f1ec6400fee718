"""Checking the alarms once or on a schedule and sending what fires: wires monitor and actions."""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

from facegate.actions import Dispatcher, OutputResult
from facegate.monitor.alarms import AlarmState, Check, Notice, check_alarms
from facegate.monitor.events import EventLog
from facegate.settings import Settings


@dataclass(frozen=True)
class AlarmRun:
    """One check of every bound: the checks, the notices sent and how each delivery went."""

    time: datetime
    checks: list[Check]
    sent: list[tuple[Notice, list[OutputResult]]]


def run_alarm_check(
    log: EventLog,
    state: AlarmState,
    settings: Settings,
    dispatcher: Dispatcher,
    now: datetime | None = None,
) -> AlarmRun:
    """Check every bound at now (default: the current time) and send each notice to the outputs."""
    now = now or datetime.now(UTC)
    checks, notices = check_alarms(log, state, settings, now)
    return AlarmRun(now, checks, [(n, dispatcher.dispatch(n.as_dict())) for n in notices])


def watch_alarms(
    log: EventLog,
    state: AlarmState,
    settings: Settings,
    dispatcher: Dispatcher,
    stop: threading.Event,
    on_run: Callable[[AlarmRun], None] = lambda _run: None,
) -> None:
    """Check the alarms every alarms.interval_seconds until stop is set."""
    while not stop.is_set():
        on_run(run_alarm_check(log, state, settings, dispatcher))
        stop.wait(settings.alarms.interval_seconds)
