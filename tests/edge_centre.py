"""A central `facegate serve` for edge-door tests that can be killed and restarted on its port."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

from service_server import TEST_CONFIG, _wait_until_up, free_port


class Centre:
    """`facegate serve` over one gallery file on one port: start, kill -9, start again."""

    def __init__(
        self, root: Path, db: str | Path, config: str = TEST_CONFIG, workers: int = 1
    ) -> None:
        self.root = root
        self.workers = workers
        self.db = db
        self.config = root / "centre.toml"
        self.config.write_text(config)
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.proc: subprocess.Popen | None = None

    def start(self) -> None:
        """Start the server and return once /healthz answers."""
        log = self.root / "centre.log"
        env = {k: v for k, v in os.environ.items() if not k.startswith("FACEGATE_")}
        command = [sys.executable, "-m", "facegate", "serve", "--port", str(self.port)]
        command += ["--db", str(self.db), "--config", str(self.config)]
        command += ["--workers", str(self.workers)]
        with log.open("a") as out:
            self.proc = subprocess.Popen(
                command, stdout=out, stderr=subprocess.STDOUT, env=env, start_new_session=True
            )
        _wait_until_up(self.url, self.proc, log, seconds=120)

    def kill(self) -> None:
        """Kill the server and its workers at once (SIGKILL: nothing is shut down gracefully)."""
        if self.proc is not None and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGKILL)  # its own session: the workers too
            self.proc.wait()
        self.proc = None

    def stop(self) -> None:
        """Stop the server gracefully (SIGTERM), killing it if it does not stop."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.kill()
        self.proc = None
