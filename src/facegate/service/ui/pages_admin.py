"""Keys (create with the token shown once, revoke), alarms (what fires) and the dashboard."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import Response

from facegate.monitor.alarms import measure
from facegate.service import dashboard_routes
from facegate.service.keys import SCOPES, UnknownKeyError
from facegate.service.ui.auth import Admin, User, Writer, ui_state
from facegate.service.ui.render import page, redirect, secure

router = APIRouter(prefix="/ui", include_in_schema=False)

# The dashboard is facegate's own static page (no script); it styles with inline CSS.
DASHBOARD_CSP = (
    "default-src 'none'; style-src 'unsafe-inline'; img-src data:; form-action 'self'; "
    "frame-ancestors 'none'; base-uri 'none'"
)


def _keys_page(
    request: Request,
    status: int = 200,
    error: str | None = None,
    created: tuple[str, str] | None = None,
) -> Response:
    """Return the key list with the create form (and a new token, shown this once)."""
    keys = ui_state(request).resources.keys().keys()
    return page(
        request, "keys.html", status, keys=keys, scopes=SCOPES, error=error, created=created
    )


@router.get("/keys")
def keys(request: Request, user: Admin) -> Response:
    """Every API key (never a token), the create form and revoke buttons."""
    return _keys_page(request)


@router.post("/keys")
def create_key(
    request: Request,
    user: Writer,
    name: Annotated[str, Form(max_length=200)] = "",
    scope: Annotated[list[str], Form()] = [],  # noqa: B006 (FastAPI copies defaults)
) -> Response:
    """Create a key; its token is on this page only (it is stored as a hash)."""
    try:
        key, token = ui_state(request).resources.keys().create(name.strip(), scope)
    except ValueError as exc:
        return _keys_page(request, 422, str(exc))
    return _keys_page(request, 201, created=(key.name, token))


@router.post("/keys/{key_id}/revoke")
def revoke_key(request: Request, user: Writer, key_id: int) -> Response:
    """Revoke a key: it stops working at once and its UI sessions end."""
    state = ui_state(request)
    try:
        state.resources.keys().revoke(key_id)
    except UnknownKeyError as exc:
        return _keys_page(request, 404, str(exc))
    state.sessions().end_for_key(key_id)
    return redirect("/ui/login" if key_id == user.key.id else "/ui/keys")


@router.get("/alarms")
def alarms(request: Request, user: User) -> Response:
    """The alarm bounds, their values now, and the rate-limit alarm of the door checks."""
    settings = ui_state(request).settings
    checks = measure(ui_state(request).resources.events(), settings, datetime.now(UTC))
    return page(request, "alarms.html", checks=checks, alarms=settings.alarms, doors=settings.doors)


@router.get("/dashboard")
def dashboard(request: Request, user: User) -> Response:
    """The existing monitoring dashboard, behind the UI's login."""
    response = dashboard_routes.dashboard(request, None)
    return secure(response, DASHBOARD_CSP)
