"""The admin web UI under /ui/: server-rendered pages over the service's stores and functions.

`install(app)` mounts it on the service app (after `app.state.resources` is set).
"""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import Response
from starlette.types import ExceptionHandler

from facegate.service.ui import (
    pages_admin,
    pages_crops,
    pages_doors,
    pages_events,
    pages_login,
    pages_people,
)
from facegate.service.ui.auth import LoginRequired, UiForbidden
from facegate.service.ui.render import page, redirect
from facegate.service.ui.state import UiState


async def _login_required(request: Request, exc: Exception) -> Response:
    """Send a browser without a live session to the login page."""
    return redirect("/ui/login")


async def _forbidden(request: Request, exc: Exception) -> Response:
    """Answer a refused UI request with 403 and a page that says why."""
    message = exc.message if isinstance(exc, UiForbidden) else "forbidden"
    return page(request, "forbidden.html", 403, error=message)


def _invalid_form(json_answer: ExceptionHandler) -> ExceptionHandler:
    """Return a handler that answers a UI request's invalid field with a page, others as JSON."""

    async def answer(request: Request, exc: Exception) -> Response:
        if not request.url.path.startswith("/ui/") or not isinstance(exc, RequestValidationError):
            return await json_answer(request, exc)  # type: ignore[misc]
        fields = sorted({str(item.get("loc", ("", "?"))[-1]) for item in exc.errors()})
        message = f"Not accepted: {', '.join(fields)} (too long or not valid). Nothing was changed."
        return page(request, "invalid.html", 422, error=message)

    return answer


def install(app: FastAPI) -> None:
    """Mount the UI's routes on the app, with its session store and error pages."""
    app.state.ui = UiState(app.state.resources)
    for module in (pages_login, pages_people, pages_doors, pages_events, pages_crops, pages_admin):
        app.include_router(module.router)
    app.add_exception_handler(LoginRequired, _login_required)
    app.add_exception_handler(UiForbidden, _forbidden)
    json_answer = app.exception_handlers[RequestValidationError]
    app.add_exception_handler(RequestValidationError, _invalid_form(json_answer))
