"""Alarms: bounds checked on the event log, fired once into a real HTTP receiver, then recovered."""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from json_receiver import JsonReceiver

from facegate.access_event import AccessEvent
from facegate.actions import LogOutput, build_alarm_dispatcher
from facegate.errors import SettingsError
from facegate.monitor.alarms import AlarmState, measure
from facegate.monitor.events import EventLog
from facegate.monitor.simulate import Shift, simulate
from facegate.settings import Settings, load_settings
from facegate.watch import run_alarm_check

NOW = datetime(2024, 5, 6, 12, 0, tzinfo=UTC)


@pytest.fixture
def receiver() -> Iterator[JsonReceiver]:
    with JsonReceiver("/alarms") as running:
        yield running


def decision(minute: float, kind: str, door: str = "front") -> AccessEvent:
    """Return an identify decision at NOW - 60 min + minute: unlock, deny (unknown) or retry."""
    return AccessEvent(
        time=(NOW - timedelta(minutes=60 - minute)).isoformat(),
        door=door,
        mode="identify",
        track=int(minute),
        claimed=None,
        decision=kind,
        person="ada" if kind == "unlock" else None,
        distance=0.3 if kind == "unlock" else 0.7,
        threshold=0.42,
        frames_used=5,
        face_quality={"face_px": 100, "sharpness": 100.0, "focus": 1.0, "brightness": 120.0},
        liveness={"live": True},
        latency_ms=400.0,
    )


def alarm_settings(url: str, **alarms: object) -> Settings:
    """Return settings whose alarms post to url only."""
    base = {"webhooks": [url], "log": False, "min_events": 5, "per_door": False}
    return load_settings(environ={}, alarms={**base, **alarms})


def test_breach_fires_once_then_recovers(tmp_path: Path, receiver: JsonReceiver) -> None:
    settings = alarm_settings(receiver.url, max={"unknown_rate": 0.3})
    dispatcher = build_alarm_dispatcher(settings.alarms, settings.actions)
    path = tmp_path / "events.db"
    with EventLog(path) as log, AlarmState(path) as state:
        log.append_many([decision(m, "deny" if m % 2 else "unlock") for m in range(10)])
        first = run_alarm_check(log, state, settings, dispatcher, NOW)
        assert [c.value for c in first.checks] == [0.5]
        assert [(n.kind, [r.ok for r in results]) for n, results in first.sent] == [
            ("alarm", [True])
        ]
        assert (
            run_alarm_check(log, state, settings, dispatcher, NOW + timedelta(minutes=1)).sent == []
        )
        assert len(receiver.received) == 1
        assert list(state.firing()) == [("unknown_rate", "*", "max")]

        log.append_many([decision(10 + m / 10, "unlock") for m in range(30)])
        # two minutes on, the window has lost minutes 0 and 1: 4 unknown of 38
        later = NOW + timedelta(minutes=2)
        assert [
            n.kind for n, _ in run_alarm_check(log, state, settings, dispatcher, later).sent
        ] == ["recovery"]
        assert state.firing() == {}
    alarm, recovery = receiver.received
    assert alarm["type"] == "alarm" and alarm["alarm"] == "unknown_rate"
    assert (alarm["bound"], alarm["limit"], alarm["value"], alarm["door"]) == (
        "max",
        0.3,
        0.5,
        None,
    )
    assert alarm["message"] == "ALARM unknown_rate at all doors: 0.5, above max 0.3"
    assert recovery["type"] == "recovery" and recovery["value"] == round(4 / 38, 4)
    assert recovery["since"] == alarm["time"]


def test_too_few_events_change_nothing_but_faces_per_hour_counts_zero(tmp_path: Path) -> None:
    settings = load_settings(
        environ={}, alarms={"max": {"unknown_rate": 0.1}, "min": {"faces_per_hour": 2}}
    )
    with EventLog(tmp_path / "e.db") as log:
        log.append(decision(30, "deny", door="back"))
        checks = {(c.metric, c.scope): c for c in measure(log, settings, NOW)}
    assert checks[("unknown_rate", "*")].value is None
    assert not checks[("unknown_rate", "back")].breached
    assert checks[("faces_per_hour", "back")].value == 1.0
    assert checks[("faces_per_hour", "back")].breached


def test_drift_psi_alarm_per_door(tmp_path: Path) -> None:
    settings = load_settings(environ={}, alarms={"max": {"psi_brightness": 0.25}, "log": False})
    start = NOW - timedelta(days=3)
    with EventLog(tmp_path / "e.db") as log:
        log.append_many(simulate("front", start, 2, seed=1))
        log.append_many(simulate("front", start + timedelta(days=2), 1, 2, Shift(brightness=-40)))
        log.append_many(simulate("back", start, 3, seed=3))
        checks = {c.scope: c for c in measure(log, settings, NOW)}
    assert checks["front"].breached and checks["front"].value is not None
    assert not checks["back"].breached


def test_unknown_metric_is_refused() -> None:
    with pytest.raises(SettingsError, match="unknown alarm metrics"):
        load_settings(environ={}, alarms={"max": {"unknown_rat": 0.2}})


def test_environment_sets_bounds() -> None:
    env = {"FACEGATE_ALARMS__MAX__REAUTH_RATE": "0.15", "FACEGATE_ALARMS__WEBHOOKS": "http://a"}
    alarms = load_settings(environ=env).alarms
    assert alarms.max == {"reauth_rate": 0.15} and alarms.webhooks == ("http://a",)


def test_log_output_writes_the_message(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING, logger="facegate.alarms"):
        LogOutput().send({"message": "ALARM x"})
    assert caplog.messages == ["ALARM x"]


def test_cli_check_fires_once_across_processes(tmp_path: Path, receiver: JsonReceiver) -> None:
    path = tmp_path / "events.db"
    with EventLog(path) as log:
        log.append_many([decision(m, "deny") for m in range(10)])
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("FACEGATE_")},
        "FACEGATE_ALARMS__MAX__UNKNOWN_RATE": "0.3",
        "FACEGATE_ALARMS__WEBHOOKS": receiver.url,
        "FACEGATE_ALARMS__LOG": "false",
        "FACEGATE_ALARMS__MIN_EVENTS": "5",
    }
    args = [sys.executable, "-m", "facegate", "alarms", "check", "--json", "--events", str(path)]
    at = ["--at", NOW.isoformat()]
    outputs = [
        subprocess.run([*args, *at], capture_output=True, text=True, env=env, timeout=120)
        for _ in range(2)
    ]
    assert [o.returncode for o in outputs] == [0, 0], outputs[0].stderr
    first = [json.loads(line) for line in outputs[0].stdout.splitlines()]
    second = [json.loads(line) for line in outputs[1].stdout.splitlines()]
    assert [line.get("type") for line in first] == ["alarm", "alarm", None]
    assert {line["scope"] for line in first[:2]} == {"*", "front"}
    assert first[0]["outputs"][0]["ok"] is True
    assert len(second) == 1 and second[0]["checks"][0]["breached"] is True
    assert len(receiver.received) == 2
