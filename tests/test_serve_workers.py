"""`facegate serve --workers 2` on PostgreSQL: health names the database, shutdown drops nothing."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import psutil
from conftest import lfw_image
from service_server import TEST_CONFIG, _wait_until_up, free_port

from facegate.settings import Settings
from facegate.stores import open_event_log, open_key_store


def test_two_workers_share_postgres_and_finish_in_flight_requests(
    tmp_path: Path, postgres, lfw: Path
) -> None:
    url = postgres.database()
    with open_key_store(url, Settings()) as store:
        _, token = store.create("door", ["door"])
    # Every check here is a deny (nobody is enrolled); this test is about shutdown, so the
    # failure limit must not refuse any of the seven, however the workers share them.
    (tmp_path / "facegate.toml").write_text(TEST_CONFIG + "\n[doors]\nrate_limit_failures = 100\n")
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("FACEGATE_")}
    command = [sys.executable, "-m", "facegate", "serve", "--port", str(port), "--db", url]
    command += ["--workers", "2", "--config", str(tmp_path / "facegate.toml")]
    log = tmp_path / "server.log"
    with log.open("w") as out:
        proc = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT, env=env)
    base = f"http://127.0.0.1:{port}"
    try:
        _wait_until_up(base, proc, log, seconds=120)
        health = httpx.get(base + "/healthz").json()
        assert health["status"] == "ok" and health["database"] == "postgresql"
        workers = [c for c in psutil.Process(proc.pid).children() if "python" in c.name()]
        assert len(workers) >= 2, [c.cmdline() for c in workers]
        photo = lfw_image("Colin_Powell", 1).read_bytes()

        def identify(_: int) -> int | str:
            try:
                reply = httpx.post(
                    base + "/v1/identify",
                    headers={"Authorization": f"Bearer {token}"},
                    files={"image": ("p.jpg", photo, "image/jpeg")},
                    data={"door": "front"},
                    timeout=120,
                )
                return reply.status_code
            except httpx.TransportError as exc:
                return type(exc).__name__

        assert identify(0) == 200  # both workers are up and the models are loaded
        with ThreadPoolExecutor(6) as pool:
            replies = pool.map(identify, range(6))
            time.sleep(1.0)  # all six are sent and being worked on
            stopped_at = time.monotonic()
            proc.send_signal(signal.SIGTERM)
            codes = list(replies)
        assert proc.wait(timeout=120) == 0, log.read_text()
        assert time.monotonic() - stopped_at < 60
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert codes == [200] * 6, f"in-flight requests were dropped: {codes}\n{log.read_text()}"
    with open_event_log(url, Settings()) as events:
        assert events.count() == 7  # every request in flight at SIGTERM left its event
        assert {e.door for e in events.query()} == {"front"}
