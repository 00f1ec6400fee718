"""The alarm state on PostgreSQL: `facegate alarms check --db URL` fires once across processes."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta

from facegate.access_event import AccessEvent
from facegate.monitor.alarms import Check, open_alarm_state
from facegate.settings import Settings
from facegate.stores import open_event_log

NOW = datetime(2024, 5, 6, 12, 0, tzinfo=UTC)


def _deny(minute: int) -> AccessEvent:
    """Return an unknown-face deny at NOW - 60 min + minute."""
    return AccessEvent(
        time=(NOW - timedelta(minutes=60 - minute)).isoformat(),
        door="front",
        mode="identify",
        track=minute,
        claimed=None,
        decision="deny",
        person=None,
        distance=0.7,
        threshold=0.42,
        frames_used=5,
        face_quality={"face_px": 100, "sharpness": 100.0, "focus": 1.0, "brightness": 120.0},
        liveness={"live": True},
        latency_ms=400.0,
        reason="unknown",
    )


def test_alarm_check_on_postgres_fires_once_across_processes(postgres) -> None:
    url = postgres.database()
    with open_event_log(url, Settings()) as log:
        log.append_many([_deny(m) for m in range(10)])
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("FACEGATE_")},
        "FACEGATE_ALARMS__MAX__UNKNOWN_RATE": "0.3",
        "FACEGATE_ALARMS__LOG": "false",
        "FACEGATE_ALARMS__MIN_EVENTS": "5",
        "FACEGATE_ALARMS__PER_DOOR": "false",
    }
    args = [sys.executable, "-m", "facegate", "alarms", "check", "--json", "--db", url]
    args += ["--at", NOW.isoformat()]
    outputs = [
        subprocess.run(args, capture_output=True, text=True, env=env, timeout=120) for _ in range(2)
    ]
    assert [o.returncode for o in outputs] == [0, 0], outputs[0].stderr
    first, second = ([json.loads(line) for line in o.stdout.splitlines()] for o in outputs)
    assert [line.get("type") for line in first] == ["alarm", None]
    assert len(second) == 1 and second[0]["checks"][0]["breached"] is True
    with open_alarm_state(url, Settings()) as state:
        assert list(state.firing()) == [("unknown_rate", "*", "max")]


def test_concurrent_checkers_on_postgres_see_one_transition(postgres) -> None:
    url = postgres.database()
    check = Check("unknown_rate", "*", "max", 0.3, 0.5)

    def update(_: int) -> int:
        with open_alarm_state(url, Settings()) as state:
            return len(state.update([check], NOW))

    with ThreadPoolExecutor(6) as pool:
        fired = list(pool.map(update, range(6)))
    assert sorted(fired) == [0] * 5 + [1]
