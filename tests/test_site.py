"""`facegate run --site`: several cameras and doors in one process, sharing the face models."""

from __future__ import annotations

import json
import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from json_receiver import JsonReceiver

from facegate.errors import SettingsError
from facegate.settings import load_settings
from facegate.site import (
    CameraSpec,
    SiteError,
    _LockedDetector,
    _LockedEmbedder,
    camera_settings,
    load_site,
    shared_pipeline,
)
from facegate.stream.scene import SceneSegment, demo_scene, write_video
from facegate.stream.source_text import shown_source

WALKERS = {"front": "Eileen Collins", "back": "Grace Hopper"}


def site_file(folder: Path, text: str) -> Path:
    path = folder / "site.toml"
    path.write_text(text)
    return path


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            '[[cameras]]\ndoor = "a"\nsource = "0"\ncolour = "red"\n',
            "cameras.0.colour: unknown key",
        ),
        ('db = "g.db"\nport = 1\n[[cameras]]\ndoor = "a"\nsource = "0"\n', "port: unknown key"),
        ('[[cameras]]\ndoor = "a"\n', "cameras.0.source: missing (required)"),
        ('db = "g.db"\n', "cameras: missing (required)"),
        ("cameras = []\n", "cameras: Tuple should have at least 1 item"),
        (
            '[[cameras]]\ndoor = "a"\nsource = "x.mp4"\n[[cameras]]\ndoor = "a"\nsource = "0"\n',
            "door 'a' is listed twice",
        ),
        ('[[cameras]]\ndoor = ""\nsource = "0"\n', "cameras.0.door: String should have at least"),
        (
            '[[cameras]]\ndoor = "a"\nsource = "0"\n[cameras.settings.vision]\ndetector = "hog"\n',
            "[vision] is not a per-camera section",
        ),
        (
            '[[cameras]]\ndoor = "a"\nsource = "0"\n[cameras.settings.loop]\ndoor = "b"\n',
            "loop.door is the same for every camera",
        ),
        ('[[cameras]]\ndoor = "a"\nsource = "0"\nmax_seconds = -1\n', "max_seconds: Input should"),
        ("[[cameras]\n", "cannot read site file"),
    ],
)
def test_bad_site_files_name_the_problem(tmp_path: Path, text: str, message: str) -> None:
    with pytest.raises(SiteError) as caught:
        load_site(site_file(tmp_path, text))
    assert message in str(caught.value) and str(tmp_path / "site.toml") in str(caught.value)


def test_missing_site_file_and_single_door_flags_exit_2(tmp_path: Path) -> None:
    missing = run_cli("--site", tmp_path / "nope.toml")
    assert missing.returncode == 2 and "nope.toml" in missing.stderr
    assert "Traceback" not in missing.stderr
    path = site_file(tmp_path, '[[cameras]]\ndoor = "a"\nsource = "0"\n')
    mixed = run_cli("--site", path, "--door", "x", "--max-seconds", "3")
    assert mixed.returncode == 2 and "not --door, --max-seconds" in mixed.stderr
    duplicate = site_file(tmp_path, '[[cameras]]\ndoor="a"\nsource="0"\n' * 2)
    twice = run_cli("--site", duplicate)
    assert twice.returncode == 2 and "door 'a' is listed twice" in twice.stderr


def test_relative_paths_are_read_from_the_site_files_folder(tmp_path: Path) -> None:
    """A site file's relative paths mean the same from any working directory."""
    folder = tmp_path / "site"
    folder.mkdir()
    text = (
        'db = "people.db"\nevents = "logs/events.db"\n'
        '[[cameras]]\ndoor = "a"\nsource = "videos/front.mp4"\nevents = "a.db"\n'
        '[[cameras]]\ndoor = "b"\nsource = 0\n'
        '[[cameras]]\ndoor = "c"\nsource = "rtsp://cam.lan/live"\nevents = "/var/c.db"\n'
    )
    site = load_site(site_file(folder, text))
    assert site.db == str(folder / "people.db")
    assert site.events == folder / "logs" / "events.db"
    front, webcam, stream = site.cameras
    assert front.source == str(folder / "videos" / "front.mp4") and front.events == folder / "a.db"
    assert webcam.source == "0" and webcam.events is None
    assert stream.source == "rtsp://cam.lan/live" and stream.events == Path("/var/c.db")
    url = site_file(
        folder, 'db = "postgresql://door@db.lan/site"\n[[cameras]]\ndoor="a"\nsource="0"\n'
    )
    assert load_site(url).db == "postgresql://door@db.lan/site"


def test_printed_sources_hide_credentials() -> None:
    assert shown_source("rtsp://admin:s3cret@cam.lan:554/live") == "rtsp://***@cam.lan:554/live"
    assert shown_source("/videos/front.mp4") == "/videos/front.mp4"
    assert shown_source("0") == "0"


def test_camera_settings_are_its_own_and_the_rest_is_the_sites() -> None:
    base = load_settings(environ={}, gate={"epsilon": 0.01})
    camera = CameraSpec(
        door="lab",
        source="0",
        settings={"liveness": {"enabled": False}, "gate": {"pixel_threshold": 40}},
    )
    mine = camera_settings(base, camera)
    assert mine.loop.door == "lab" and mine.liveness.enabled is False
    assert mine.gate.pixel_threshold == 40 and mine.gate.epsilon == 0.01  # merged
    assert mine.vision == base.vision and base.liveness.enabled is True
    bad = CameraSpec(door="lab", source=0, settings={"track": {"max_missed_seconds": -3}})
    assert bad.source == "0"
    with pytest.raises(
        SettingsError, match=r"door 'lab': invalid settings: track\.max_missed_seconds"
    ):
        camera_settings(base, bad)


def test_models_are_shared_and_locked_only_when_not_thread_safe() -> None:
    safe = shared_pipeline(load_settings(environ={}))
    assert not isinstance(safe.detector, _LockedDetector)
    unsafe = shared_pipeline(load_settings(environ={}, vision={"detector": "hog"}))
    assert isinstance(unsafe.detector, _LockedDetector)
    assert isinstance(unsafe.embedder, _LockedEmbedder)
    assert unsafe.detector._lock is unsafe.embedder._lock  # one lock over all the models
    assert unsafe.embedder.name == safe.embedder.name


def run_cli(*args: str | Path, **popen: object) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("FACEGATE_")}
    command = [sys.executable, "-m", "facegate", "run", "--json", *map(str, args)]
    return subprocess.run(command, capture_output=True, text=True, env=env, timeout=300)


@pytest.fixture(scope="module")
def site_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Return a folder with the demo gallery, a walker video per door and a broken video."""
    folder = tmp_path_factory.mktemp("site")
    for door, person in WALKERS.items():
        segments = (
            SceneSegment("street", 1.0),
            SceneSegment("walk", 3.0, person),
            SceneSegment("street", 4.0),
        )
        write_video((f.image for f in demo_scene(segments=segments)), folder / f"{door}.mp4")
    (folder / "broken.mp4").write_bytes(b"\x00\x00\x00\x18ftypmp42 not a video" * 50)
    env = {k: v for k, v in os.environ.items() if not k.startswith("FACEGATE_")}
    demo = [sys.executable, "-m", "facegate", "demo", "--db", str(folder / "g.db")]
    enrolled = subprocess.run(demo, capture_output=True, text=True, env=env, timeout=300)
    assert enrolled.returncode == 0, enrolled.stderr
    return folder


def two_door_site(folder: Path, db: Path, webhook: str, realtime: bool, broken: bool) -> Path:
    """Write a site file of the two walker doors (and the broken camera) over a copy of db."""
    shutil.copy(folder / "g.db", db)
    text = f'db = "{db}"\n'
    for door in WALKERS:
        text += f'[[cameras]]\ndoor = "{door}"\nsource = "{folder / door}.mp4"\n'
        text += f'webhooks = ["{webhook}"]\nrealtime = {str(realtime).lower()}\n'
    if broken:
        text += f'[[cameras]]\ndoor = "garage"\nsource = "{folder / "broken.mp4"}"\n'
    return site_file(db.parent, text)


@pytest.fixture
def receiver() -> Iterator[JsonReceiver]:
    with JsonReceiver("/events") as running:
        yield running


def logged(db: Path) -> list[tuple[str, str, str | None]]:
    query = "SELECT door, decision, person FROM access_events ORDER BY door"
    with sqlite3.connect(db) as connection:
        return connection.execute(query).fetchall()


def test_two_cameras_run_at_once_and_a_broken_one_stops_only_itself(
    site_dir: Path, receiver: JsonReceiver, tmp_path: Path
) -> None:
    db = tmp_path / "g.db"
    result = run_cli("--site", two_door_site(site_dir, db, receiver.url, False, broken=True))
    assert result.returncode == 1, result.stderr  # a camera failed; the others ran to their end
    printed = [json.loads(line) for line in result.stdout.splitlines()]
    assert sorted((e["door"], e["decision"], e["person"]) for e in printed) == [
        ("back", "unlock", "Grace Hopper"),
        ("front", "unlock", "Eileen Collins"),
    ]
    assert logged(db) == [
        ("back", "unlock", "Grace Hopper"),
        ("front", "unlock", "Eileen Collins"),
    ]
    assert sorted(e["door"] for e in receiver.received) == ["back", "front"]
    assert "door garage (" in result.stderr and "failed: cannot open video file" in result.stderr
    assert "door front: 120 frames" in result.stderr and "door back: 120 frames" in result.stderr


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM])
def test_a_signal_stops_every_door_and_flushes_events_and_outputs(
    site_dir: Path, receiver: JsonReceiver, tmp_path: Path, signum: int
) -> None:
    db = tmp_path / "g.db"
    env = {k: v for k, v in os.environ.items() if not k.startswith("FACEGATE_")}
    site = two_door_site(site_dir, db, receiver.url, True, broken=False)
    process = subprocess.Popen(
        [sys.executable, "-m", "facegate", "run", "--json", "--site", str(site)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),  # see test_run.py
    )
    assert process.stdout is not None
    # both walkers decided, a few seconds into their 8 s videos
    first = [process.stdout.readline(), process.stdout.readline()]
    timer = threading.Timer(60, process.kill)
    timer.start()
    process.send_signal(signum)
    rest, stderr = process.communicate()
    timer.cancel()
    assert process.returncode == 0, stderr
    assert "Traceback" not in stderr
    printed = [json.loads(line) for line in [*first, *rest.splitlines()] if line.strip()]
    assert sorted(e["door"] for e in printed) == ["back", "front"]
    assert logged(db) == sorted((e["door"], e["decision"], e["person"]) for e in printed)
    assert sorted(e["door"] for e in receiver.received) == ["back", "front"]  # outputs flushed
    for door in WALKERS:
        assert f"door {door}: " in stderr, stderr
        frames = int(stderr.split(f"door {door}: ")[1].split(" frames")[0])
        assert frames < 120  # stopped before the end of its video
