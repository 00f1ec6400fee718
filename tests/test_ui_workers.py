"""UI sessions under `facegate serve --workers 2` on PostgreSQL: any worker knows every session."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
from service_server import TEST_CONFIG, _wait_until_up, free_port

from facegate.settings import Settings
from facegate.stores import open_key_store


def _login(base: str, token: str) -> str:
    """Log in through the form and return the session cookie's value."""
    with httpx.Client(base_url=base) as client:
        form = client.get("/ui/login").text
        login_csrf = re.search(r'name="login_csrf" value="([^"]+)"', form)
        assert login_csrf is not None
        answer = client.post("/ui/login", data={"key": token, "login_csrf": login_csrf[1]})
        assert answer.status_code == 303, answer.text
        return answer.cookies["fg_session"]


def _statuses(base: str, cookie: str, count: int) -> list[int]:
    """Return the status of `count` page loads, each on its own connection, in parallel."""

    def load(_: int) -> int:
        reply = httpx.get(base + "/ui/doors", cookies={"fg_session": cookie}, timeout=60)
        return reply.status_code

    with ThreadPoolExecutor(8) as pool:
        return list(pool.map(load, range(count)))


def test_sessions_are_shared_by_workers_on_postgres(tmp_path: Path, postgres) -> None:
    url = postgres.database()
    with open_key_store(url, Settings()) as store:
        _, token = store.create("admin", ["admin"])
    (tmp_path / "facegate.toml").write_text(TEST_CONFIG)
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
        cookie = _login(base, token)
        assert _statuses(base, cookie, 24) == [200] * 24
        pages = ("/ui/", "/ui/people", "/ui/events", "/ui/events.json", "/ui/keys", "/ui/alarms")
        for page in (*pages, "/ui/dashboard"):  # every page reads PostgreSQL
            reply = httpx.get(base + page, cookies={"fg_session": cookie}, timeout=60)
            assert reply.status_code == 200, (page, reply.text[:300])
        with httpx.Client(base_url=base, cookies={"fg_session": cookie}) as client:
            csrf = re.search(r'name="csrf" value="([^"]+)"', client.get("/ui/doors").text)
            assert csrf is not None
            assert client.post("/ui/logout", data={"csrf": csrf[1]}).status_code == 303
        assert _statuses(base, cookie, 16) == [303] * 16  # logged out on every worker
    finally:
        proc.terminate()
        proc.wait(timeout=30)
