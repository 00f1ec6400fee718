"""Login, logout, the overview page and the UI's own static files."""

from __future__ import annotations

import secrets
from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import Response

from facegate.service.rate_limit import RateLimited
from facegate.service.ui.auth import (
    LOGIN_COOKIE,
    SESSION_COOKIE,
    Poster,
    UiForbidden,
    User,
    set_cookie,
    ui_state,
)
from facegate.service.ui.render import HERE, page, redirect, secure

router = APIRouter(prefix="/ui", include_in_schema=False)

STATIC_TYPES = {"ui.css": "text/css; charset=utf-8", "ui.js": "text/javascript; charset=utf-8"}


def _login_page(request: Request, status: int = 200, error: str | None = None) -> Response:
    """Return the login form with a fresh double-submit token in its field and cookie."""
    token = secrets.token_urlsafe(24)
    response = page(request, "login.html", status, login_csrf=token, error=error, user=None)
    seconds = ui_state(request).settings.ui.login_form_seconds
    set_cookie(request, response, LOGIN_COOKIE, token, seconds)
    return response


@router.get("")
def root() -> Response:
    """Send /ui to /ui/."""
    return redirect("/ui/")


@router.get("/login")
def login_form(request: Request) -> Response:
    """The login page."""
    return _login_page(request)


@router.post("/login")
def login(
    request: Request,
    key: Annotated[str, Form(max_length=200)] = "",
    login_csrf: Annotated[str, Form(max_length=200)] = "",
) -> Response:
    """Exchange an admin or read API key for a session cookie; the same answer for any bad key."""
    expected = request.cookies.get(LOGIN_COOKIE, "")
    if not expected or not secrets.compare_digest(expected.encode(), login_csrf.encode()):
        raise UiForbidden("the login form's security token is missing or stale: reload the page")
    state = ui_state(request)
    client = request.client.host if request.client else "unknown"
    try:
        with state.logins.attempt([f"login:{client}"]) as attempt:
            found = state.resources.keys().lookup(key.strip()) if key.strip() else None
            if found is None or not found.grants("read"):
                attempt.failed()
    except RateLimited:
        return _login_page(request, 429, "too many failed logins from here: try again later")
    if found is None or not found.grants("read"):
        return _login_page(request, 401, "that key was not accepted (an admin or read key)")
    lifetime = state.settings.ui.session_seconds
    token, _ = state.sessions().create(found.id, lifetime)
    response = redirect("/ui/")
    set_cookie(request, response, SESSION_COOKIE, token, int(lifetime))
    response.delete_cookie(LOGIN_COOKIE, path="/ui", httponly=True, samesite="strict")
    return response


@router.post("/logout")
def logout(request: Request, user: Poster) -> Response:
    """End the session and forget the cookie."""
    ui_state(request).sessions().end(user.token)
    response = redirect("/ui/login")
    response.delete_cookie(SESSION_COOKIE, path="/ui", httponly=True, samesite="strict")
    return response


@router.get("/")
def overview(request: Request, user: User) -> Response:
    """The overview: how many people, doors and events, and where to go."""
    resources = ui_state(request).resources
    counts = {
        "people": len(resources.gallery().people()),
        "doors": len(resources.policy_store().doors()),
        "events": resources.events().count(),
    }
    return page(request, "overview.html", counts=counts)


@router.get("/static/{name}")
def static(request: Request, name: str) -> Response:
    """The UI's stylesheet and script, served from the package (nothing from elsewhere)."""
    kind = STATIC_TYPES.get(name)
    if kind is None:
        return secure(Response("not found", status_code=404, media_type="text/plain"))
    response = secure(Response((HERE / "static" / name).read_bytes(), media_type=kind))
    seconds = ui_state(request).settings.ui.static_cache_seconds
    response.headers["Cache-Control"] = f"max-age={seconds}"
    return response
