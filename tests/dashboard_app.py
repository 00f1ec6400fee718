"""A test app that mounts only the dashboard router (the event log from DASHBOARD_TEST_EVENTS)."""

from __future__ import annotations

import os
from pathlib import Path

from fastapi import FastAPI

from facegate.service.dashboard_routes import router
from facegate.settings import load_settings


def create_app() -> FastAPI:
    """Return an app serving /dashboard and /v1/drift over the test event log."""
    app = FastAPI()
    app.state.settings = load_settings()
    app.state.event_log_path = Path(os.environ["DASHBOARD_TEST_EVENTS"])
    app.include_router(router)
    return app
