"""Health and metrics: open without a key (they expose counts, never names)."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response

from facegate import __version__
from facegate.db_url import is_postgres_url
from facegate.service.resources import Resources
from facegate.service.schemas import Health, error_responses

router = APIRouter(tags=["operations"])

PROMETHEUS_TYPE = "text/plain; version=0.0.4; charset=utf-8"


@router.get("/healthz", responses=error_responses(503))
def healthz(request: Request) -> Health:
    """Answer ok when the gallery and the event log can be read."""
    resources: Resources = request.app.state.resources
    resources.gallery().people()
    resources.events().count()
    database = "postgresql" if is_postgres_url(resources.paths.gallery) else "sqlite"
    return Health(status="ok", version=__version__, database=database)


@router.get(
    "/metrics",
    response_class=Response,
    responses={200: {"content": {PROMETHEUS_TYPE: {"schema": {"type": "string"}}}}},
)
def metrics(request: Request) -> Response:
    """Prometheus metrics: requests and latency by route, decisions by door, gallery size."""
    return Response(request.app.state.metrics.render(), media_type=PROMETHEUS_TYPE)
