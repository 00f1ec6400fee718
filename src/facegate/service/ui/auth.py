"""UI logins: an API key (admin or read) exchanged for a session cookie; CSRF on every POST.

The cookie is HttpOnly, SameSite=Strict, limited to /ui and as long-lived as the session.
Each request looks its session up (expired, logged out or its key revoked: back to login).
Every POST carries the session's CSRF token in a `csrf` field; the login form, before any
session, carries a random token that must equal its short-lived cookie (double submit).
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Form, Request
from fastapi.responses import Response

from facegate.service.keys import ApiKey
from facegate.service.ui.sessions import Session
from facegate.service.ui.state import UiState

SESSION_COOKIE = "fg_session"
LOGIN_COOKIE = "fg_login"
COOKIE_PATH = "/ui"


class LoginRequired(Exception):
    """The request has no live session: the browser is sent to the login page."""


class UiForbidden(Exception):
    """The request may not do this (bad CSRF token, or a read key asking to write)."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


@dataclass(frozen=True)
class UiUser:
    """The logged-in operator: the API key acting, and the session."""

    key: ApiKey
    session: Session
    token: str

    @property
    def can_write(self) -> bool:
        """Return whether the key may change things (admin scope)."""
        return self.key.grants("admin")


def ui_state(request: Request) -> UiState:
    """Return the UI's shared state."""
    return request.app.state.ui


def set_cookie(request: Request, response: Response, name: str, value: str, max_age: int) -> None:
    """Set an HttpOnly, SameSite=Strict cookie under /ui (Secure when served over https)."""
    response.set_cookie(
        name,
        value,
        max_age=max_age,
        path=COOKIE_PATH,
        httponly=True,
        samesite="strict",
        secure=request.url.scheme == "https",
    )


def live_key(state: UiState, key_id: int) -> ApiKey | None:
    """Return the key with this id when it is not revoked and may log in (read or admin)."""
    listed = state.resources.keys().keys()
    key = next((k for k in listed if k.id == key_id), None)
    return key if key is not None and key.grants("read") else None


def current_user(request: Request) -> UiUser:
    """Return the operator behind the session cookie, or raise LoginRequired."""
    token = request.cookies.get(SESSION_COOKIE)
    state = ui_state(request)
    session = state.sessions().lookup(token) if token else None
    key = live_key(state, session.key_id) if session else None
    if session is None or key is None or token is None:
        raise LoginRequired()
    user = UiUser(key, session, token)
    request.state.ui_user = user
    return user


def check_csrf(user: UiUser, token: str) -> None:
    """Raise UiForbidden unless the token is the session's CSRF token."""
    if not secrets.compare_digest(token.encode(), user.session.csrf.encode()):
        raise UiForbidden("the form's security token is missing or stale: reload the page")


User = Annotated[UiUser, Depends(current_user)]
CsrfField = Annotated[str, Form(max_length=200)]


def poster(user: User, csrf: CsrfField = "") -> UiUser:
    """Return the operator of a POST whose CSRF token is right (any scope that logs in)."""
    check_csrf(user, csrf)
    return user


def writer(user: User, csrf: CsrfField = "") -> UiUser:
    """Return the operator of a changing POST: right CSRF token and the admin scope."""
    check_csrf(user, csrf)
    if not user.can_write:
        raise UiForbidden("this key has read access only")
    return user


Poster = Annotated[UiUser, Depends(poster)]
Writer = Annotated[UiUser, Depends(writer)]


def admin_page(user: User) -> UiUser:
    """Return the operator of an admin-only page (keys), else raise UiForbidden."""
    if not user.can_write:
        raise UiForbidden("this page needs an admin key")
    return user


Admin = Annotated[UiUser, Depends(admin_page)]
