"""The service app built inside each `facegate serve --workers N` process, from the environment.

uvicorn starts N processes and calls `app_from_environment` in each: settings come from
FACEGATE_CONFIG and FACEGATE_* variables (the CLI sets FACEGATE_DB and FACEGATE_CONFIG from its
options), and every worker loads its own face models once, before it answers.
"""

from __future__ import annotations

from fastapi import FastAPI

from facegate.service.app import create_app
from facegate.settings import Settings, load_settings

FACTORY = "facegate.service.factory:app_from_environment"


def warm(settings: Settings) -> None:
    """Load the face models this process will use (once per process)."""
    from facegate.vision.models import warm_up

    warm_up(
        cnn="cnn" in settings.vision.fallback_detectors or settings.vision.detector == "cnn",
        native_encoder=settings.vision.embedder_engine == "dlib",
    )


def app_from_environment() -> FastAPI:
    """Return one worker's app over FACEGATE_DB, its face models loaded."""
    settings = load_settings()
    app = create_app(settings, settings.db)
    warm(settings)
    return app
