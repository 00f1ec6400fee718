"""Event crops: off by default, one per loop decision when on, retention, deletion, both stores."""

from __future__ import annotations

import os
import re
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import numpy as np
import pytest
from service_server import TEST_CONFIG, Server, running_server

from facegate import api
from facegate.access_event import AccessEvent, now_iso
from facegate.gallery import EmbeddingRecord, SQLiteGallery
from facegate.monitor.crops import DAY_S, CropKeeper, crop_jpeg, crops_beside, open_crop_store
from facegate.monitor.events import EventLog
from facegate.settings import CropsSettings, Settings
from facegate.stores import open_event_log, open_gallery


def run_demo(events: Path, **env: str) -> subprocess.CompletedProcess[str]:
    """Run the demo scene with its events written to a file (and extra environment)."""
    base = {k: v for k, v in os.environ.items() if not k.startswith("FACEGATE_CROPS")}
    return subprocess.run(
        [sys.executable, "-m", "facegate", "run", "--json", "--events", str(events)],
        capture_output=True,
        text=True,
        env={**base, **env},
        timeout=600,
    )


def tables(path: Path) -> set[str]:
    """Return the table names in a SQLite file."""
    rows = sqlite3.connect(path).execute("SELECT name FROM sqlite_master WHERE type = 'table'")
    return {row[0] for row in rows}


def test_crops_are_off_by_default_and_stored_once_per_decision_when_on(tmp_path: Path) -> None:
    """A default run stores no face image; with crops on each decision has a 150 px JPEG."""
    off = run_demo(tmp_path / "off.db")
    assert off.returncode == 0, off.stderr
    assert "event_crops" not in tables(tmp_path / "off.db")
    on_db = tmp_path / "on.db"
    with EventLog(on_db) as log, open_crop_store(on_db) as store:  # one crop 8 days old
        store.add(log.append(_event(None)), time.time() - 8 * DAY_S, b"\xff\xd8old")
    on = run_demo(on_db, FACEGATE_CROPS__ENABLED="true", FACEGATE_CROPS__RETENTION_DAYS="7")
    assert on.returncode == 0, on.stderr
    conn = sqlite3.connect(on_db)
    ids = [row[0] for row in conn.execute("SELECT id FROM access_events ORDER BY id")]
    crops = dict(conn.execute("SELECT event_id, jpeg FROM event_crops").fetchall())
    assert len(ids) >= 3 and sorted(crops) == ids[1:]  # the expired one was purged
    from facegate.media import load_image

    for jpeg in crops.values():
        assert jpeg[:2] == b"\xff\xd8"
        assert load_image(jpeg).shape == (150, 150, 3)


def test_crops_on_without_retention_is_a_settings_error() -> None:
    """Turning crops on without a retention limit is refused; a limit must be positive."""
    with pytest.raises(ValueError, match="retention_days"):
        CropsSettings(enabled=True)
    with pytest.raises(ValueError):
        CropsSettings(enabled=True, retention_days=0)
    assert not Settings().crops.enabled


def _event(person: str | None, claimed: str | None = None) -> AccessEvent:
    """Return one access event naming a person (matched) or a claim."""
    return AccessEvent(now_iso(), "main", "verify", None, claimed, "deny", person, 0.5, 0.4, 1)


def _targets(tmp_path: Path, request: pytest.FixtureRequest) -> str:
    """Return the database for a backend: a SQLite file or a fresh PostgreSQL database."""
    if request.param == "sqlite":
        return str(tmp_path / "g.db")
    return request.getfixturevalue("postgres").database()


@pytest.fixture(params=["sqlite", "postgres"])
def target(tmp_path: Path, request: pytest.FixtureRequest) -> str:
    """A gallery + event log database on each backend."""
    return _targets(tmp_path, request)


def test_retention_purges_old_crops_and_expired_ones_are_never_served(target: str) -> None:
    """Crops past retention_days are not returned, and an append deletes a bounded batch."""
    settings = Settings()
    now = [1_800_000_000.0]
    crops_settings = CropsSettings(enabled=True, retention_days=2, purge_batch=2)
    chip = np.full((150, 150, 3), 128, np.uint8)
    with open_event_log(target, settings) as log, crops_beside(log) as store:
        keeper = CropKeeper(store, crops_settings, clock=lambda: now[0])
        old = [log.append(_event(None)) for _ in range(3)]
        for event_id in old:
            keeper.keep(event_id, chip)
        now[0] += 3 * DAY_S  # the three are now past retention
        assert store.get(old[0], keeper.cutoff()) is None
        assert store.having(old, keeper.cutoff()) == set()
        fresh = log.append(_event(None))
        keeper.keep(fresh, chip)  # deletes at most purge_batch = 2 expired crops
        assert store.count() == 2
        assert keeper.purge() == 1 and store.count() == 1
        assert store.get(fresh, keeper.cutoff()) == crop_jpeg(chip, 150, 80)
        assert store.having([*old, fresh], keeper.cutoff()) == {fresh}


def test_removing_a_person_deletes_the_crops_of_their_events(target: str) -> None:
    """api.remove_person deletes crops of events that matched or claimed them, only those."""
    settings = Settings()
    name = "Ottoline Vexbridge"
    vector = np.ones(128, np.float32) / np.sqrt(128)
    with (
        open_gallery(target, settings) as gallery,
        open_event_log(target, settings) as log,
        open_crop_store(target, settings.postgres) as store,
    ):
        gallery.add_person(name, [EmbeddingRecord(vector, "m", "a.jpg", 90, 50.0, 120.0)], "")
        theirs = [log.append(_event(name)), log.append(_event(None, claimed=name))]
        other = log.append(_event("Someone Else"))
        for event_id in (*theirs, other):
            store.add(event_id, 1e12, b"\xff\xd8crop-%d" % event_id)
        api.remove_person(gallery, name, log)
        assert store.having([*theirs, other], 0.0) == {other}


def test_a_sqlite_removal_leaves_no_crop_bytes_in_any_file(tmp_path: Path) -> None:
    """With secure_delete and a WAL checkpoint the deleted JPEG's bytes are in no file."""
    db = tmp_path / "g.db"
    marker = b"\xff\xd8" + b"UNIQUE-CROP-BYTES-" * 20
    name = "Perpetua Lindqvist"
    vector = np.ones(128, np.float32) / np.sqrt(128)
    with SQLiteGallery(db) as gallery, EventLog(db) as log, open_crop_store(db) as store:
        gallery.add_person(name, [EmbeddingRecord(vector, "m", "a.jpg", 90, 50.0, 120.0)], "")
        store.add(log.append(_event(name)), 1e12, marker)
        api.remove_person(gallery, name, log)
    for path in tmp_path.iterdir():
        assert marker[2:40] not in path.read_bytes(), path


@contextmanager
def _session(server: Server, scope: str) -> Iterator[httpx.Client]:
    """Yield a client logged in to the UI with the scope's key (session cookie only)."""
    with httpx.Client(base_url=server.url, timeout=60) as client:
        form = client.get("/ui/login").text
        token = re.search(r'name="login_csrf" value="([^"]+)"', form)
        assert token is not None
        data = {"key": server.tokens[scope], "login_csrf": token[1]}
        answer = client.post("/ui/login", data=data)
        assert answer.status_code == 303 and "fg_session" in client.cookies, answer.text
        yield client


CROPS_ON = TEST_CONFIG + "\n[crops]\nenabled = true\nretention_days = 2\n"


def test_the_ui_serves_crops_only_to_a_session_and_never_expired_ones(tmp_path: Path) -> None:
    """/ui/events/{id}/crop: a session (read key too) gets the JPEG, uncached; else not."""
    with running_server(tmp_path, CROPS_ON) as server:
        jpeg = crop_jpeg(np.full((150, 150, 3), 90, np.uint8), 150, 80)
        with EventLog(server.db) as log, open_crop_store(server.db) as store:
            fresh, old, bare = (log.append(_event(None)) for _ in range(3))
            store.add(fresh, time.time(), jpeg)
            store.add(old, time.time() - 3 * DAY_S, jpeg)  # past retention_days = 2
        url = f"/ui/events/{fresh}/crop"
        with server.client("admin") as bearer:  # an API key is no session
            assert bearer.get(url).status_code == 303
        with httpx.Client(base_url=server.url) as anonymous:
            answer = anonymous.get(url)
            assert answer.status_code == 303 and answer.headers["location"] == "/ui/login"
        with _session(server, "read") as reader:
            got = reader.get(url)
            assert got.status_code == 200 and got.content == jpeg
            assert got.headers["content-type"] == "image/jpeg"
            assert got.headers["cache-control"] == "no-store"
            for missing in (old, bare, 10**6):
                assert reader.get(f"/ui/events/{missing}/crop").status_code == 404
            assert reader.get(f"/ui/events/{2**64}/crop").status_code == 422
            listed = reader.get("/ui/events.json").json()["events"]
            assert [row["crop"] for row in listed] == [None, None, url]  # newest first
            html = reader.get("/ui/events").text
            assert f'src="{url}"' in html and html.count('class="crop"') == 1


def test_with_crops_off_the_ui_shows_and_serves_none(tmp_path: Path) -> None:
    """Crops off (default): no thumbnail column, no crop key, and the crop URL is 404."""
    with running_server(tmp_path) as server:
        with EventLog(server.db) as log, open_crop_store(server.db) as store:
            event_id = log.append(_event(None))
            store.add(event_id, time.time(), b"\xff\xd8left-from-when-crops-were-on")
        with _session(server, "admin") as admin:
            assert admin.get(f"/ui/events/{event_id}/crop").status_code == 404
            assert "crop" not in admin.get("/ui/events.json").json()["events"][0]
            html = admin.get("/ui/events").text
            assert "<th>Face</th>" not in html and "never shown or stored" in html


def test_a_crop_that_cannot_be_stored_does_not_stop_the_door(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """A crop write that fails (here: its table is gone) is a warning, not an exception."""
    db = tmp_path / "e.db"
    with EventLog(db) as log, open_crop_store(db) as store:
        keeper = CropKeeper(store, CropsSettings(enabled=True, retention_days=1))
        event_id = log.append(_event(None))
        assert keeper.keep(event_id, np.zeros((150, 150, 3), np.uint8))
        sqlite3.connect(db).execute("DROP TABLE event_crops")
        assert not keeper.keep(event_id, np.zeros((150, 150, 3), np.uint8))
    assert "crop not stored" in caplog.text


def test_db_purge_crops_deletes_every_expired_crop_while_no_camera_runs(tmp_path: Path) -> None:
    """`facegate db purge-crops` empties past-retention crops in batches; fresh ones stay."""
    db = tmp_path / "g.db"
    jpeg = crop_jpeg(np.full((150, 150, 3), 90, np.uint8), 150, 80)
    with open_event_log(str(db), Settings()) as log, crops_beside(log) as store:
        for age_days in (10, 9, 8, 7, 6, 0.1):
            store.add(log.append(_event(None)), time.time() - age_days * DAY_S, jpeg)
    config = tmp_path / "facegate.toml"
    config.write_text("[crops]\nretention_days = 2\npurge_batch = 2\n")
    env = {k: v for k, v in os.environ.items() if not k.startswith("FACEGATE_")}
    command = [sys.executable, "-m", "facegate", "db", "purge-crops", "--db", str(db), "--json"]
    done = subprocess.run(
        [*command, "--config", str(config)], capture_output=True, text=True, env=env, timeout=60
    )
    assert done.returncode == 0, done.stderr
    assert '"purged": 5' in done.stdout and '"left": 1' in done.stdout
    unset = subprocess.run(command, capture_output=True, text=True, env=env, timeout=60)
    assert unset.returncode == 2 and "crops.retention_days is not set" in unset.stderr
    missing = [*command[:-3], "--db", str(tmp_path / "typo.db")]
    refused = subprocess.run(
        [*missing, "--config", str(config)], capture_output=True, text=True, env=env, timeout=60
    )
    assert refused.returncode == 2 and not (tmp_path / "typo.db").exists()
