"""Dashboard routes: GET /dashboard (the HTML page) and GET /v1/drift (the drift report).

The app that mounts this router provides `app.state.settings` (Settings),
`app.state.event_log_path` (the event log's SQLite file or PostgreSQL URL),
`app.state.resources` (door rules; optional), and puts its own authentication in front (e.g.
`app.include_router(router, dependencies=[...])`).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from fastapi import APIRouter, HTTPException, Query, Request
from fastapi.responses import HTMLResponse

from facegate import api
from facegate.monitor.dashboard import render_dashboard
from facegate.monitor.drift import drift_report
from facegate.service.schemas import error_responses
from facegate.stores import open_event_log

router = APIRouter(tags=["dashboard"])

# the page is HTML, its refusal JSON (ErrorBody, which the service's other routes document)
UNKNOWN_DOOR_PAGE = {
    "description": "The door has no events and is not configured.",
    "content": {"application/json": {"schema": {"$ref": "#/components/schemas/ErrorBody"}}},
}
DoorQuery = Query(None, description="One door (default: all doors, then each one).")


@router.get(
    "/dashboard",
    response_class=HTMLResponse,
    responses={404: UNKNOWN_DOOR_PAGE},
)
def dashboard(request: Request, door: str | None = DoorQuery) -> HTMLResponse:
    """Return the dashboard page (self-contained HTML: no script, nothing fetched)."""
    state = request.app.state
    resources = getattr(state, "resources", None)  # None: mounted without door rules
    policies = []
    if resources is not None:
        store = resources.policy_store()
        policies = [
            api.describe_door(resources.gallery(), store, rules, state.settings)
            for rules in store.doors()
        ]
    with open_event_log(state.event_log_path, state.settings) as log:
        refuse_unknown_door(door, {*log.doors(), *(str(p["name"]) for p in policies)})
        page = render_dashboard(log, state.settings, door=door, policies=policies)
    return HTMLResponse(page)


def refuse_unknown_door(door: str | None, known: set[str]) -> None:
    """Raise 404 when a door is asked for that has no events and is not configured."""
    if door is not None and door not in known:
        raise HTTPException(404, f"door {door!r} has no events and is not configured")


@router.get("/v1/drift", responses=error_responses(404))
def drift(request: Request, door: str | None = DoorQuery) -> dict[str, Any]:
    """Return the drift report: each feature's PSI, KS and flag, recent vs reference window."""
    state = request.app.state
    resources = getattr(state, "resources", None)
    configured = [] if resources is None else resources.policy_store().doors()
    with open_event_log(state.event_log_path, state.settings) as log:
        refuse_unknown_door(door, {*log.doors(), *(rules.name for rules in configured)})
        report = drift_report(log, state.settings.drift, datetime.now(UTC), door)
    return report.as_dict()
