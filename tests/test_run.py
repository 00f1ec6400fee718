"""`facegate run` end to end: the generated demo scene, a video file, the crowd video, a webhook."""

from __future__ import annotations

import json
import os
import re
import signal
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from json_receiver import JsonReceiver

from facegate.gallery import SQLiteGallery
from facegate.stream.scene import SceneSegment, demo_scene, write_video
from facegate.stream.sources import SceneSource


def run(*args: str | Path, db: Path | None = None) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "FACEGATE_DB"}
    if db is not None:
        env["FACEGATE_DB"] = str(db)
    return subprocess.run(
        [sys.executable, "-m", "facegate", "run", "--json", *map(str, args)],
        capture_output=True,
        text=True,
        env=env,
        timeout=600,
    )


def empty_gallery(path: Path) -> Path:
    """Create an empty gallery file (`run --source` refuses a missing one) and return it."""
    SQLiteGallery(path).close()
    return path


def decisions(result: subprocess.CompletedProcess[str]) -> list[dict]:
    return [json.loads(line) for line in result.stdout.splitlines() if line.strip()]


@pytest.fixture
def receiver() -> Iterator[JsonReceiver]:
    with JsonReceiver("/events") as running:
        yield running


def test_demo_scene_decides_once_per_person_and_posts_events(receiver: JsonReceiver) -> None:
    result = run("--webhook", receiver.url)
    assert result.returncode == 0, result.stderr
    events = decisions(result)
    for key in (
        "time",
        "door",
        "track",
        "decision",
        "person",
        "distance",
        "frames_used",
        "liveness",
        "latency_ms",
    ):
        assert all(key in e for e in events)
    walker, stranger, replay = events
    assert (walker["decision"], walker["person"]) == ("unlock", "Eileen Collins")
    assert walker["liveness"]["live"] is True
    assert stranger["decision"] != "unlock" and stranger["person"] is None
    assert (replay["decision"], replay["liveness"]["live"]) == ("deny", False)
    assert len({e["track"] for e in events}) == len(events)
    assert [e["track"] for e in receiver.received] == [e["track"] for e in events]
    assert "decisions" in result.stderr


def test_video_file_source_and_event_log(tmp_path: Path) -> None:
    frames = demo_scene(
        segments=(SceneSegment("street", 1.0), SceneSegment("walk", 3.0, "Eileen Collins"))
    )
    video = tmp_path / "walk.mp4"
    write_video((f.image for f in frames), video)
    db = tmp_path / "g.db"
    enrolled = subprocess.run(
        [sys.executable, "-m", "facegate", "demo", "--db", str(db)], capture_output=True, text=True
    )
    assert enrolled.returncode == 0, enrolled.stderr
    result = run("--source", video, "--door", "lab", db=db)
    assert result.returncode == 0, result.stderr
    events = decisions(result)
    assert [(e["door"], e["decision"], e["person"]) for e in events] == [
        ("lab", "unlock", "Eileen Collins")
    ]
    rows = sqlite3.connect(db).execute("SELECT door, decision FROM access_events").fetchall()
    assert rows == [("lab", "unlock")]


def test_crowd_video_unlocks_no_stranger(crowd_video: Path, tmp_path: Path) -> None:
    db = tmp_path / "g.db"
    enrolled = subprocess.run(
        [sys.executable, "-m", "facegate", "demo", "--db", str(db)], capture_output=True, text=True
    )
    assert enrolled.returncode == 0, enrolled.stderr
    result = run("--source", crowd_video, db=db)
    assert result.returncode == 0, result.stderr
    events = decisions(result)
    assert events, "the people walking towards the camera get decisions"
    for event in events:
        assert event["decision"] in {"deny", "retry"} and event["person"] is None
        assert event["threshold"] < 0.42  # the 1:N threshold for the enrolled vectors


def test_crowd_video_stops_at_max_seconds(crowd_video: Path, tmp_path: Path) -> None:
    db = empty_gallery(tmp_path / "g.db")
    result = run("--source", crowd_video, "--max-seconds", "1", db=db)
    assert result.returncode == 0, result.stderr
    frames = int(result.stderr.split("facegate: ")[1].split(" frames")[0])
    assert 25 <= frames <= 28  # 1 s of a 25 fps video, not its 105 frames


def test_bad_source_exits_2(tmp_path: Path) -> None:
    result = run("--source", tmp_path / "missing.mp4", db=empty_gallery(tmp_path / "g.db"))
    assert result.returncode == 2 and "missing.mp4" in result.stderr


def test_unreachable_camera_url_never_prints_its_password(tmp_path: Path) -> None:
    """A camera URL's user and password stay out of every message the operator sees."""
    source = "rtsp://admin:s3cret-pw@127.0.0.1:9/live"
    result = run("--source", source, db=empty_gallery(tmp_path / "g.db"))
    assert result.returncode == 2
    assert "rtsp://***@127.0.0.1:9/live" in result.stderr
    assert "s3cret-pw" not in result.stdout + result.stderr
    assert "admin" not in result.stdout + result.stderr


def test_ctrl_c_stops_cleanly_and_keeps_every_decision(tmp_path: Path) -> None:
    db = tmp_path / "g.db"
    enrolled = subprocess.run(
        [sys.executable, "-m", "facegate", "demo", "--db", str(db)], capture_output=True, text=True
    )
    assert enrolled.returncode == 0, enrolled.stderr
    env = {**os.environ, "FACEGATE_DB": str(db)}
    process = subprocess.Popen(
        [sys.executable, "-m", "facegate", "run", "--json", "--realtime", "--events", str(db)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
        # a shell without job control starts background jobs with SIGINT ignored, and Python
        # then installs no KeyboardInterrupt handler: give the child a terminal's default
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )
    assert process.stdout is not None
    first = process.stdout.readline()  # the walker's decision, a few seconds into the scene
    process.send_signal(signal.SIGINT)
    rest, stderr = process.communicate(timeout=60)
    assert process.returncode == 0, stderr
    printed = [json.loads(line) for line in [first, *rest.splitlines()] if line.strip()]
    assert printed[0]["decision"] == "unlock"
    assert "decisions" in stderr and "Traceback" not in stderr
    logged = sqlite3.connect(db).execute("SELECT track, decision FROM access_events").fetchall()
    assert logged == [(e["track"], e["decision"]) for e in printed]
    # stopped before the scene's end (tracks open at Ctrl-C are decided, so count frames)
    looked_at = int(re.search(r"facegate: (\d+) frames", stderr).group(1))
    assert looked_at < sum(1 for _ in SceneSource())
