"""A real `facegate serve` in a subprocess on a free port, with one API key per scope."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx

from facegate.service.keys import SCOPES, KeyStore

TEST_CONFIG = """
[service]
max_upload_bytes = 300000
max_images = 4

[media]
max_pixels = 2000000

[vision]
fallback_detectors = []
"""


@dataclass(frozen=True)
class Server:
    """A running service: its URL, files and a token per scope."""

    url: str
    db: Path
    tokens: dict[str, str]

    def client(self, scope: str | None = None, timeout: float = 60.0) -> httpx.Client:
        """Return an HTTP client sending the scope's key as a bearer token (None: no key)."""
        headers = {"Authorization": f"Bearer {self.tokens[scope]}"} if scope else {}
        return httpx.Client(base_url=self.url, headers=headers, timeout=timeout)


def free_port() -> int:
    """Return a TCP port nobody listens on now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _wait_until_up(url: str, proc: subprocess.Popen, log: Path, seconds: float = 60.0) -> None:
    """Return once /healthz answers; raise with the server's log if it dies or never answers."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited with {proc.returncode}:\n{log.read_text()}")
        try:
            if httpx.get(url + "/healthz", timeout=2).status_code == 200:
                return
        except httpx.TransportError:
            time.sleep(0.2)
    raise RuntimeError(f"server did not answer within {seconds} s:\n{log.read_text()}")


@contextmanager
def running_server(root: Path, config: str = TEST_CONFIG) -> Iterator[Server]:
    """Start `facegate serve` on a fresh gallery in root, yield it, stop it at the end."""
    db = root / "gallery.db"
    (root / "facegate.toml").write_text(config)
    with KeyStore(db) as store:
        tokens = {scope: store.create(f"test-{scope}", [scope])[1] for scope in SCOPES}
    port = free_port()
    log = root / "server.log"
    env = {k: v for k, v in os.environ.items() if not k.startswith("FACEGATE_")}
    command = [sys.executable, "-m", "facegate", "serve", "--port", str(port), "--db", str(db)]
    command += ["--config", str(root / "facegate.toml")]
    with log.open("w") as out:
        proc = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT, env=env)
    url = f"http://127.0.0.1:{port}"
    try:
        _wait_until_up(url, proc, log)
        yield Server(url=url, db=db, tokens=tokens)
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
