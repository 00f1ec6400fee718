"""The dashboard page, `facegate report`, and the router under a real uvicorn, in headless Chromium.

The browser tests need Debian's chromium (scripts/system-deps.sh installs it; CI runs that).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from facegate.monitor.dashboard import render_dashboard
from facegate.monitor.events import EventLog
from facegate.monitor.simulate import Shift, simulate
from facegate.settings import load_settings

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
needs_chromium = pytest.mark.skipif(
    CHROMIUM is None, reason="chromium not installed (scripts/system-deps.sh installs it)"
)
T0 = datetime(2024, 5, 6, tzinfo=UTC)
NOW = T0 + timedelta(days=8)
SHIFT = Shift(brightness=-35, blur=0.45, face_scale=0.7, distance=0.06)
WAIT_S = 30.0


@pytest.fixture(scope="module")
def events_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Return an event log: a normal week at two doors, then a shifted day at the front door."""
    path = tmp_path_factory.mktemp("dashboard") / "events.db"
    with EventLog(path) as log:
        log.append_many(simulate("front", T0, 7, seed=1))
        log.append_many(simulate("front", T0 + timedelta(days=7), 1, seed=2, shift=SHIFT))
        log.append_many(simulate("back", T0, 8, seed=3))
    return path


def page(events_db: Path, door: str | None = None) -> str:
    """Return the dashboard at NOW with an unknown-rate bound set."""
    settings = load_settings(environ={}, alarms={"max": {"psi_brightness": 0.25}})
    with EventLog(events_db) as log:
        return render_dashboard(log, settings, now=NOW, door=door)


def test_page_has_every_panel_and_flags_the_shift(events_db: Path) -> None:
    html = page(events_db)
    for text in (
        "Outcomes and re-authentication",
        "Latency (ms)",
        "Faces per hour",
        "Distance: accepted vs not accepted",
        "Drift",
        "Alarms",
        "door back",
        "door front",
    ):
        assert text in html
    shifted = re.search(r'<p class="flag">Shifted: ([^<]*)</p>', html)
    assert shifted is not None
    assert set(shifted.group(1).split(", ")) >= {"brightness", "sharpness", "face_px"}
    assert "BREACHED" in html
    assert html.count("<svg") >= 4 * 3 + 5


def test_page_is_self_contained(events_db: Path) -> None:
    html = page(events_db)
    assert "Content-Security-Policy" in html and "default-src 'none'" in html
    assert "<script" not in html
    assert not re.search(r"""(src|href)=["']?(https?:)?//""", html)
    assert "<link" not in html and "@import" not in html


def test_one_door_and_an_empty_log(events_db: Path, tmp_path: Path) -> None:
    back = page(events_db, door="back")
    assert "facegate: door back" in back and "No feature has shifted." in back
    assert "door front" not in back
    with EventLog(tmp_path / "empty.db") as log:
        empty = render_dashboard(log, load_settings(environ={}), now=NOW)
    assert "too few values" in empty and "No bounds are set" in empty


def test_door_names_are_escaped(tmp_path: Path) -> None:
    with EventLog(tmp_path / "e.db") as log:
        log.append_many(simulate("<script>x</script>", T0, 1, seed=1))
        html = render_dashboard(log, load_settings(environ={}), now=T0 + timedelta(days=1))
    assert "<script>x" not in html and "&lt;script&gt;x" in html


def chromium_load(url: str, folder: Path) -> tuple[Path, list[str]]:
    """Load url in headless Chromium with no network; return its screenshot and console lines."""
    assert CHROMIUM is not None
    shot = folder / "shot.png"
    done = subprocess.run(
        [
            CHROMIUM,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            f"--user-data-dir={folder / 'profile'}",
            "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1",
            "--window-size=1280,1600",
            "--enable-logging=stderr",
            "--v=0",
            f"--screenshot={shot}",
            url,
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert shot.exists(), done.stderr[-2000:]
    return shot, [line for line in done.stderr.splitlines() if ":CONSOLE" in line]


def assert_not_blank(shot: Path) -> None:
    """Fail unless the screenshot shows a drawn page (not one flat colour)."""
    grey = np.asarray(Image.open(shot).convert("L"), dtype=np.float64)
    assert grey.shape == (1600, 1280)
    assert grey.std() > 20
    assert np.mean(grey < 200) > 0.05  # header, text, chart lines: not a white page


@needs_chromium
def test_report_loads_in_headless_chromium(events_db: Path, tmp_path: Path) -> None:
    out = tmp_path / "dashboard.html"
    env = {k: v for k, v in os.environ.items() if not k.startswith("FACEGATE_")}
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "facegate",
            "report",
            "--json",
            "--events",
            str(events_db),
            "--until",
            NOW.isoformat(),
            "--out",
            str(out),
        ],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["report"] == str(out)
    assert "Shifted: " in out.read_text()
    shot, console = chromium_load(out.as_uri(), tmp_path)
    assert console == []
    assert_not_blank(shot)


def free_port() -> int:
    """Return a loopback port nothing listens on."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="module")
def server(events_db: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """Return the base URL of a uvicorn process serving only the dashboard router."""
    port = free_port()
    log = tmp_path_factory.mktemp("uvicorn") / "uvicorn.log"
    env = {k: v for k, v in os.environ.items() if not k.startswith("FACEGATE_")}
    env["DASHBOARD_TEST_EVENTS"] = str(events_db)
    with log.open("wb") as sink:
        process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "uvicorn",
                "dashboard_app:create_app",
                "--factory",
                "--app-dir",
                str(Path(__file__).parent),
                "--host",
                "127.0.0.1",
                "--port",
                str(port),
            ],
            stdout=sink,
            stderr=subprocess.STDOUT,
            env=env,
        )
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + WAIT_S
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            break
        except OSError:
            if process.poll() is not None or time.monotonic() > deadline:
                process.kill()
                raise RuntimeError(f"uvicorn did not start: {log.read_text()}") from None
            time.sleep(0.1)
    yield base
    process.terminate()
    process.wait(timeout=WAIT_S)


def test_router_serves_the_page_and_the_drift_json(server: str) -> None:
    with urllib.request.urlopen(f"{server}/dashboard?door=back", timeout=WAIT_S) as response:
        assert response.status == 200
        assert response.headers["content-type"].startswith("text/html")
        assert "facegate: door back" in response.read().decode()
    with urllib.request.urlopen(f"{server}/v1/drift", timeout=WAIT_S) as response:
        report = json.load(response)
    assert set(report) == {"door", "reference", "recent", "flagged", "features"}
    assert [f["feature"] for f in report["features"]] == list(
        load_settings(environ={}).drift.features
    )


def test_an_unknown_door_is_refused_not_shown_empty(server: str) -> None:
    """A mistyped door gets 404 naming it (as `report --door` exits 2), not an empty page."""
    for path in ("/dashboard?door=bakc", "/v1/drift?door=bakc"):
        with pytest.raises(urllib.error.HTTPError) as refused:
            urllib.request.urlopen(f"{server}{path}", timeout=WAIT_S)
        assert refused.value.code == 404
        assert "'bakc'" in json.load(refused.value)["detail"]


@needs_chromium
def test_served_dashboard_loads_in_headless_chromium(server: str, tmp_path: Path) -> None:
    shot, console = chromium_load(f"{server}/dashboard", tmp_path)
    assert console == []
    assert_not_blank(shot)
