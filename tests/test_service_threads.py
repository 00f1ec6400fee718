"""`service.threads` caps the handler thread pool (each thread holds its own connections)."""

from __future__ import annotations

from pathlib import Path

import anyio.to_thread
from fastapi.testclient import TestClient

from facegate.service.app import create_app
from facegate.settings import load_settings


def test_service_threads_caps_the_handler_pool(tmp_path: Path) -> None:
    settings = load_settings(environ={}, service={"threads": 7})
    with TestClient(create_app(settings, tmp_path / "g.db")) as client:
        assert client.get("/healthz").status_code == 200
        limiter = anyio.to_thread.current_default_thread_limiter
        assert client.portal.call(lambda: limiter().total_tokens) == 7
