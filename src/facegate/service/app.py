"""The FastAPI app: `create_app(settings, db_path)` wires routes, keys, limits and metrics."""

from __future__ import annotations

from pathlib import Path

from fastapi import Depends, FastAPI

from facegate import __version__, api
from facegate.service import dashboard_routes, ui
from facegate.service.api_docs import install_api_docs
from facegate.service.auth import require_scope
from facegate.service.errors import install_error_handlers
from facegate.service.limits import BodyLimitMiddleware
from facegate.service.metrics import MetricsMiddleware, ServiceMetrics
from facegate.service.resources import Resources, ServicePaths
from facegate.service.routes import door_rules, doors, events, ops, people, templates
from facegate.service.threads import thread_limit
from facegate.settings import Settings

DESCRIPTION = """Face-recognition access control over HTTP.

Send an API key as `Authorization: Bearer <token>` or `X-API-Key: <token>` (create one with
`facegate keys create`). Scopes: `admin` (everything, incl. the door rules under `/v1/doors`),
`enroll` (add, list, remove people), `door` (verify, identify: the answer is the decision and
its reason only), `read` (events, people list, `/dashboard`, `/v1/drift`; read routes also
take `?api_key=`, which then shows up in URLs and logs).
`/healthz` and `/metrics` need no key. Errors are `{"error": code, "message": text}`.
The admin web UI is at `/ui/` (log in with an admin or read key).
"""


def service_paths(settings: Settings, db_path: str | Path | None) -> ServicePaths:
    """Return the gallery, event log and key files (the last two default to the gallery's)."""
    gallery = db_path or settings.db or api.default_db_path()
    return ServicePaths(
        gallery=gallery,
        events=settings.service.events or gallery,
        keys=settings.service.keys or gallery,
    )


def create_app(settings: Settings, db_path: str | Path | None = None) -> FastAPI:
    """Return the service app over the gallery at db_path (else settings.db, else the default)."""
    paths = service_paths(settings, db_path)
    resources = Resources(settings, paths)
    model = api.get_pipeline(settings.vision).embedder.name
    metrics = ServiceMetrics(
        people=lambda: len(resources.gallery().people()),
        vectors=lambda: resources.cached_gallery().count(model),
    )
    lifespan = thread_limit(settings.service.threads)
    app = FastAPI(
        title="facegate",
        version=__version__,
        description=DESCRIPTION,
        lifespan=lifespan,
        docs_url=None,
        redoc_url=None,
    )
    app.state.settings = settings
    app.state.gallery_path = paths.gallery
    app.state.event_log_path = paths.events
    app.state.resources = resources
    app.state.metrics = metrics
    install_error_handlers(app)
    install_api_docs(app)
    for module in (people, doors, door_rules, events, ops, templates):
        app.include_router(module.router)
    app.include_router(dashboard_routes.router, dependencies=[Depends(require_scope("read"))])
    ui.install(app)  # the admin web UI under /ui/
    app.add_middleware(BodyLimitMiddleware, max_bytes=settings.service.max_upload_bytes)
    app.add_middleware(MetricsMiddleware, metrics=metrics)
    return app
