"""The CLI surprises a newcomer met (issue 15): each one fixed, each with a test."""

from __future__ import annotations

import hashlib
import json
import math
import os
import re
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import numpy as np
import pytest
import typer
from service_server import _wait_until_up, free_port
from typer.testing import CliRunner, Result

from facegate import __version__, api
from facegate.access_event import AccessEvent
from facegate.cli import app
from facegate.cli_help import commands
from facegate.consent import NO_CONSENT_NOTE
from facegate.demo import make_views, write_views
from facegate.gallery import SQLiteGallery
from facegate.json_out import rounded
from facegate.media import encode_jpeg
from facegate.monitor.dashboard import render_dashboard
from facegate.monitor.events import EventLog
from facegate.serve_banner import serve_banner
from facegate.service.keys import KeyStore
from facegate.settings import load_settings
from facegate.stream.scene import SceneSegment, demo_scene, write_video
from facegate.stream.subjects import SUBJECTS

runner = CliRunner()


def invoke(*args: str | Path, env: dict[str, str] | None = None) -> Result:
    """Run the facegate app in this process with FACEGATE_DB unset unless env sets it."""
    return runner.invoke(app, [str(a) for a in args], env={"FACEGATE_DB": None, **(env or {})})


def digest(path: Path) -> str:
    """Return the sha256 of a file's bytes."""
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture(scope="module")
def hopper_gallery(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Return a real gallery holding only Grace Hopper (the demo scene's stranger)."""
    folder = tmp_path_factory.mktemp("real")
    loader, region = SUBJECTS["Grace Hopper"]
    photos = write_views(folder, "Grace Hopper", make_views(loader(), region, count=3, seed=1))
    settings = load_settings(environ={})
    with SQLiteGallery(folder / "site.db") as gallery:
        api.enroll(gallery, "Grace Hopper", photos, "test: generated view", settings=settings)
    return folder / "site.db"


def test_run_without_source_uses_a_temporary_gallery_even_with_facegate_db(
    hopper_gallery: Path,
) -> None:
    """The demo scene never reads, enrolls into or logs to the gallery FACEGATE_DB names."""
    before = digest(hopper_gallery)
    env = {k: v for k, v in os.environ.items() if not k.startswith("FACEGATE_")}
    env["FACEGATE_DB"] = str(hopper_gallery)
    done = subprocess.run(
        [sys.executable, "-m", "facegate", "run", "--json"],
        capture_output=True,
        text=True,
        env=env,
        timeout=600,
    )
    assert done.returncode == 0, done.stderr
    events = [json.loads(line) for line in done.stdout.splitlines()]
    walker, stranger, _replay = events
    assert (walker["decision"], walker["person"]) == ("unlock", "Eileen Collins")
    assert stranger["decision"] != "unlock" and stranger["person"] is None
    assert digest(hopper_gallery) == before
    # what it watches, then how long it took (the status line only on a terminal)
    assert "watching the demo scene at door main: gallery " in done.stderr
    assert "(temporary), 1 person, liveness on" in done.stderr
    assert re.search(r"3 decisions in \d+\.\d s \(\d+\.\d frames/s\)", done.stderr)
    assert "open tracks" not in done.stderr + done.stdout
    # the scene position beside the wall clock; floats rounded to what they mean
    positions = [e["video_s"] for e in events]
    assert positions == sorted(positions) and 0 < positions[0] < positions[-1] < 30
    for event in events:
        assert _decimals(event["distance"]) <= 4 and _decimals(event["threshold"]) <= 4
        assert _decimals(event["latency_ms"]) <= 1 and _decimals(event["video_s"]) <= 3


def _decimals(value: float) -> int:
    """Return how many decimals a JSON number was printed with."""
    text = json.dumps(value)
    return len(text.split(".")[1]) if "." in text else 0


def test_json_rounding_follows_the_quantity() -> None:
    """Distances 4 decimals, ms 1, seconds 3, tiny rates keep 3 significant digits."""
    row = {
        "distance": 0.123456789,
        "latency_ms": 12.3456,
        "video_s": 1.23456,
        "far": 3.4567e-7,
        "flag": True,
        "count": 3,
        "nested": [{"score": np.float32(0.5555555)}, 2.000049],
        "nan": float("nan"),
    }
    out = rounded(row)
    assert out["distance"] == 0.1235 and out["latency_ms"] == 12.3 and out["video_s"] == 1.235
    assert out["far"] == 3.46e-7 and out["flag"] is True and out["count"] == 3
    assert out["nested"] == [{"score": 0.5556}, 2.0] and math.isnan(out["nan"])


def test_run_on_a_terminal_shows_a_live_status_line(tmp_path: Path) -> None:
    """On a TTY `run` redraws frames / fps / tracks / decisions, then sums up; events say
    where in the video they happened."""
    video = tmp_path / "walk.mp4"
    frames = demo_scene(
        segments=(SceneSegment("street", 0.5), SceneSegment("walk", 2.0, "Eileen Collins"))
    )
    write_video((f.image for f in frames), video)
    SQLiteGallery(tmp_path / "g.db").close()
    env = {k: v for k, v in os.environ.items() if not k.startswith("FACEGATE_")}
    env |= {"TERM": "xterm", "COLUMNS": "200"}
    master, slave = os.openpty()
    command = [
        sys.executable,
        "-m",
        "facegate",
        "run",
        "--source",
        video,
        "--db",
        tmp_path / "g.db",
    ]
    process = subprocess.Popen(command, stdin=slave, stdout=slave, stderr=slave, env=env)
    os.close(slave)
    out = b""
    while chunk := _read(master):
        out += chunk
    os.close(master)
    assert process.wait(timeout=300) == 0, out
    text = re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", out.decode(errors="replace"))
    assert f"watching source {video} at door main: gallery {tmp_path / 'g.db'}, 0 people" in text
    assert re.search(r"\d+ frames, \d+\.\d fps, \d+ open tracks, \d+ decisions \(", text)
    assert re.search(r"\(video \d+\.\d\d s\) door main track 1: deny", text), text
    assert re.search(r"1 decisions in \d+\.\d s \(\d+\.\d frames/s\)", text)


def _read(fd: int) -> bytes:
    """Return the next bytes from a pty (b"" once the other side has closed)."""
    try:
        return os.read(fd, 65536)
    except OSError:  # EIO: every writer has gone
        return b""


READ_COMMANDS = [
    ("identify", "IMG"),
    ("identify", "IMG", "--door", "front"),
    ("verify", "Ada", "IMG"),
    ("people", "list"),
    ("people", "remove", "Ada"),
    ("people", "set", "Ada", "--group", "staff"),
    ("doors", "list"),
    ("doors", "show", "front"),
    ("doors", "set", "front", "--level", "low"),
    ("doors", "remove", "front"),
    ("keys", "list"),
    ("keys", "revoke", "1"),
    ("report", "--out", "OUT"),
    ("alarms", "check"),
    ("alarms", "watch"),
    ("run", "--source", "IMG"),
]


@pytest.mark.parametrize("command", READ_COMMANDS, ids=" ".join)
def test_a_read_command_refuses_a_missing_db_naming_it(tmp_path: Path, command: tuple) -> None:
    """A typo in --db is refused with exit 2 naming the path, and creates nothing."""
    image = tmp_path / "face.jpg"
    image.write_bytes(encode_jpeg(make_views(*_hopper(), count=1, seed=0)[0]))
    typo = tmp_path / "galery.db"
    args = [{"IMG": image, "OUT": tmp_path / "d.html"}.get(a, a) for a in command]
    for given in (["--db", typo], []):
        result = invoke(*args, *given, env={"FACEGATE_DB": str(typo)} if not given else None)
        assert result.exit_code == 2, result.output
        assert "facegate: error: no " in result.output
        assert str(typo) in result.output and "Traceback" not in result.output
    assert sorted(tmp_path.iterdir()) == [image]


def _hopper() -> tuple[np.ndarray, tuple[int, int, int, int]]:
    """Return Grace Hopper's photo and head region."""
    loader, region = SUBJECTS["Grace Hopper"]
    return loader(), region


def test_enroll_and_doors_add_create_a_gallery_and_people_list_names_it(
    tmp_path: Path, hopper_gallery: Path
) -> None:
    """People list says which gallery it read; doors add creates a new site's gallery."""
    listed = invoke("people", "list", "--db", hopper_gallery)
    assert listed.exit_code == 0, listed.output
    assert f"gallery {hopper_gallery}: 1 person" in listed.output.replace("\n", "")
    fresh = tmp_path / "new.db"
    assert invoke("doors", "add", "front", "--db", fresh).exit_code == 0
    assert fresh.is_file()


def test_a_missing_postgresql_database_is_an_error_not_a_create(postgres) -> None:
    """A URL to a database that does not exist, or holds no gallery, is refused with exit 2."""
    missing = postgres.url("facegate_no_such_db")
    result = invoke("people", "list", "--db", missing)
    assert result.exit_code == 2 and "facegate_no_such_db" in result.output, result.output
    assert "does not exist" in result.output
    empty = postgres.database()
    result = invoke("identify", "x.jpg", "--db", empty)
    assert result.exit_code == 2 and "no facegate gallery in" in result.output, result.output


def test_enroll_needs_a_consent_note_or_says_there_is_none(tmp_path: Path) -> None:
    """No note is refused; --no-consent-note records so; --add keeps the earlier note shown."""
    db = tmp_path / "g.db"
    loader, region = SUBJECTS["Eileen Collins"]
    photos = write_views(tmp_path, "Eileen Collins", make_views(loader(), region, count=3, seed=0))
    refused = invoke("enroll", "Eileen Collins", photos[0], "--db", db)
    assert refused.exit_code == 2 and "consent note is required" in refused.output
    assert "--no-consent-note" in refused.output and not db.exists()
    both = invoke("enroll", "X", photos[0], "--db", db, "--consent", "a", "--no-consent-note")
    assert both.exit_code == 2 and "not both" in both.output
    blank = invoke("enroll", "Eileen Collins", photos[0], "--db", db, "--consent", "  ")
    assert blank.exit_code == 2 and "consent note is required" in blank.output
    made = invoke("enroll", "Eileen Collins", photos[0], "--db", db, "--consent", "signed 1 Dec")
    assert made.exit_code == 0, made.output
    added = invoke("enroll", "Eileen Collins", photos[1], "--add", "--db", db, "--json")
    assert added.exit_code == 0, added.output
    assert json.loads(added.output)["enrolled"]["consent"] == "signed 1 Dec"
    none = invoke("enroll", "Grace Hopper", _view(tmp_path), "--db", db, "--no-consent-note")
    assert none.exit_code == 0, none.output
    listed = [
        json.loads(line)
        for line in invoke("people", "list", "--json", "--db", db).output.split("\n")
        if line
    ]
    assert {p["name"]: p["consent"] for p in listed} == {
        "Eileen Collins": "signed 1 Dec",
        "Grace Hopper": NO_CONSENT_NOTE,
    }
    assert [p["embeddings"] for p in listed] == [2, 1]


def _view(folder: Path) -> Path:
    """Return a generated photo of Grace Hopper."""
    return write_views(folder, "Grace Hopper", make_views(*_hopper(), count=1, seed=3))[0]


def test_version_and_every_option_has_help_without_bool_noise() -> None:
    """`--version` answers; no parameter of any command lacks a description; no `<bool>`."""
    version = runner.invoke(app, ["--version"])
    assert version.exit_code == 0 and version.output.strip() == f"facegate {__version__}"
    missing = [
        (" ".join(path), param.opts)
        for path, each in commands(typer.main.get_command(app))
        for param in each.params
        if not (getattr(param, "help", None) or "").strip()
    ]
    assert missing == []
    every = commands(typer.main.get_command(app))
    pages = [(path, runner.invoke(app, [*path, "--help"])) for path, _ in every]
    assert len(pages) > 30 and all(page.exit_code == 0 for _, page in pages)
    assert [" ".join(path) for path, page in pages if "<bool>" in page.output] == []
    enroll_help = runner.invoke(app, ["enroll", "--help"]).output
    assert "--no-consent-note" in enroll_help and "--consent" in enroll_help


def _events_db(tmp_path: Path, count: int) -> Path:
    """Return an event log of count unknown faces at door front in the last minutes."""
    now = datetime.now(UTC)
    with EventLog(tmp_path / "events.db") as log:
        for i in range(count):
            moment = (now - timedelta(minutes=1 + i)).isoformat()
            log.append(AccessEvent(moment, "front", "identify", i, None, "deny", None, 0.7, 0.4, 5))
    return tmp_path / "events.db"


def test_alarms_check_says_plainly_when_no_bound_is_set_and_prints_each_alarm_once(
    tmp_path: Path,
) -> None:
    """No bounds: a plain sentence (and a JSON note); a breach: its line once, not twice."""
    events = _events_db(tmp_path, 25)
    plain = invoke("alarms", "check", "--events", events)
    assert plain.exit_code == 0 and "no alarm bounds are configured" in plain.output
    assert "set [alarms.max] / [alarms.min] in the settings file" in " ".join(plain.output.split())
    as_json = invoke("alarms", "check", "--json", "--events", events)
    assert json.loads(as_json.output)["note"].startswith("no alarm bounds are configured")
    watch = invoke("alarms", "watch", "--events", events)
    assert watch.exit_code == 2 and "nothing to watch" in watch.output
    env = {k: v for k, v in os.environ.items() if not k.startswith("FACEGATE_")}
    env |= {"FACEGATE_ALARMS__MAX__UNKNOWN_RATE": "0.2", "FACEGATE_ALARMS__PER_DOOR": "false"}
    done = subprocess.run(
        [sys.executable, "-m", "facegate", "alarms", "check", "--events", str(events)],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    fired = [line for line in (done.stdout + done.stderr).splitlines() if "unknown_rate" in line]
    assert len([line for line in fired if "BREACHED" not in line]) == 1, done.stdout + done.stderr


def test_serve_says_which_database_how_many_people_and_keys_and_wants_consent(
    tmp_path: Path, hopper_gallery: Path
) -> None:
    """The start lines name the gallery, its people and its keys; POST /v1/people needs a note."""
    settings = load_settings(environ={})
    fresh = serve_banner(settings, tmp_path / "new.db")
    assert fresh[
        0
    ] == f"facegate serve: gallery {tmp_path / 'new.db'} (0 people), events in " + str(
        tmp_path / "new.db"
    )
    assert (
        "no API key" in fresh[1] and "facegate keys create --name admin --scope admin" in fresh[1]
    )
    with KeyStore(hopper_gallery) as store:
        token = store.create("kiosk", ["enroll"])[1]
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("FACEGATE_")}
    command = [sys.executable, "-m", "facegate", "serve", "--port", str(port)]
    log = tmp_path / "serve.log"
    with log.open("w") as out:
        process = subprocess.Popen(
            [*command, "--db", str(hopper_gallery)], stdout=out, stderr=subprocess.STDOUT, env=env
        )
    try:
        url = f"http://127.0.0.1:{port}"
        _wait_until_up(url, process, log)
        started = log.read_text()
        assert f"gallery {hopper_gallery} (1 person)" in started
        assert "1 API key(s)" in started and "kiosk (enroll)" in started
        photo = _view(tmp_path)
        with httpx.Client(base_url=url, headers={"Authorization": f"Bearer {token}"}) as client:
            refused = client.post(
                "/v1/people",
                data={"name": "Grace Hopper 2"},
                files=[("images", ("a.jpg", photo.read_bytes(), "image/jpeg"))],
                timeout=60,
            )
            assert refused.status_code == 422, refused.text
            body = refused.json()
            assert body["error"] == "consent_required" and "no_consent_note" in body["message"]
            names = [p["name"] for p in client.get("/v1/people").json()["people"]]
        assert names == ["Grace Hopper"]
    finally:
        process.terminate()
        process.wait(timeout=30)


def _decision(at: datetime, door: str, mode: str, threshold: float) -> AccessEvent:
    """Return one unlock decision (verify decisions name their claim)."""
    claimed = "ada" if mode == "verify" else None
    face = {"face_px": 120, "sharpness": 100.0, "focus": 1.0, "brightness": 120.0}
    return AccessEvent(
        at.isoformat(), door, mode, 1, claimed, "unlock", "ada", 0.3, threshold, 5, face
    )


def test_dashboard_tells_too_few_values_from_no_shift_and_its_numbers_add_up(
    tmp_path: Path,
) -> None:
    """Few values are 'not tested', not 'no shift'; doors' faces/h sum to the overall figure;
    identify and verify thresholds are two labelled markers."""
    now = datetime(2024, 5, 8, 12, tzinfo=UTC)
    with EventLog(tmp_path / "events.db") as log:
        for i in range(10):
            at = now - timedelta(hours=2 + i)
            log.append(_decision(at, "front", "identify", 0.356))
            log.append(_decision(at, "lab", "verify", 0.42))
        page = render_dashboard(log, load_settings(environ={}), now=now)
    assert "No feature has shifted" not in page
    assert "Not tested: too few values" in page and "too few values (20 recent, 0 reference" in page
    overall = float(re.search(r"<b>([\d.]+)</b><span>faces per hour", page).group(1))
    doors = [
        float(v)
        for v in re.findall(
            r"<td>([\d.]+)</td></tr>", page.split('id="doors"')[1].split("</section>")[0]
        )
    ]
    assert len(doors) == 2 and abs(sum(doors) - overall) <= 0.02 * overall, (doors, overall)
    assert "identify threshold 0.356" in page and "verify threshold 0.420" in page
    assert 'class="marker marker-2"' in page


def test_report_refuses_an_unknown_door(tmp_path: Path) -> None:
    """A typo in --door is refused (exit 2) naming the known doors; a known door renders."""
    events = _events_db(tmp_path, 3)
    typo = invoke("report", "--door", "frnt", "--events", events, "--out", tmp_path / "d.html")
    assert typo.exit_code == 2 and "door 'frnt' has no events" in typo.output
    assert "known doors: front" in typo.output and not (tmp_path / "d.html").exists()
    known = invoke("report", "--door", "front", "--events", events, "--out", tmp_path / "d.html")
    assert known.exit_code == 0, known.output
    assert "facegate: door front" in (tmp_path / "d.html").read_text()


def test_people_remove_refuses_a_missing_events_file(tmp_path: Path, hopper_gallery: Path) -> None:
    """A typo in --events must not tombstone an empty new file while the real log keeps names."""
    typo = tmp_path / "evnts.db"
    result = invoke("people", "remove", "Grace Hopper", "--db", hopper_gallery, "--events", typo)
    assert result.exit_code == 2 and f"no event log at {typo}" in result.output
    assert not typo.exists()
    with SQLiteGallery(hopper_gallery, read_only=True) as gallery:
        assert [p.name for p in gallery.people()] == ["Grace Hopper"]
