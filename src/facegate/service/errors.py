"""Errors as JSON: {"error": code, "message": ...} with the HTTP status each kind deserves."""

from __future__ import annotations

import logging
from http import HTTPStatus

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from starlette.exceptions import HTTPException

from facegate.errors import (
    EventLogUnavailableError,
    FaceError,
    FacegateError,
    GalleryError,
    GalleryUnavailableError,
    ImageError,
    ImageTooLargeError,
    NotAnImageError,
    PersonExistsError,
    UnknownDoorError,
    UnknownPersonError,
)
from facegate.service.keys import KeyStoreError, UnknownKeyError

log = logging.getLogger(__name__)

# Most specific first: the first class an error is an instance of gives its status.
STATUS_BY_ERROR: tuple[tuple[type[Exception], int], ...] = (
    (ImageTooLargeError, 413),
    (NotAnImageError, 415),
    (ImageError, 422),
    (FaceError, 422),
    (PersonExistsError, 409),
    (UnknownPersonError, 404),
    (UnknownDoorError, 404),
    (UnknownKeyError, 404),
    (GalleryUnavailableError, 503),
    (EventLogUnavailableError, 503),
    (KeyStoreError, 503),
    (GalleryError, 409),
    (FacegateError, 400),
    (ValueError, 422),
)


class ErrorBody(BaseModel):
    """The body of every error response."""

    error: str
    message: str


class ApiError(HTTPException):
    """An HTTP error with its own code (e.g. 401 missing_key, 413 upload_too_large)."""

    def __init__(self, status: int, code: str, message: str, headers: dict | None = None) -> None:
        super().__init__(status_code=status, detail=message, headers=headers)
        self.code = code


def error_response(
    status: int, code: str, message: str, headers: dict | None = None
) -> JSONResponse:
    """Return a JSON error response."""
    body = ErrorBody(error=code, message=message).model_dump()
    return JSONResponse(body, status_code=status, headers=headers)


def status_for(exc: Exception) -> int:
    """Return the HTTP status for a facegate error or ValueError."""
    return next(status for kind, status in STATUS_BY_ERROR if isinstance(exc, kind))


def _first_line(exc: Exception) -> str:
    """Return the first line of an error's message (or its type name)."""
    return str(exc).splitlines()[0] if str(exc) else type(exc).__name__


async def _facegate_error(request: Request, exc: Exception) -> JSONResponse:
    """Answer a facegate error or ValueError raised by a handler."""
    return error_response(status_for(exc), getattr(exc, "code", "bad_input"), _first_line(exc))


async def _http_error(request: Request, exc: Exception) -> JSONResponse:
    """Answer an HTTPException (routing's 404 / 405, ApiError)."""
    assert isinstance(exc, HTTPException)
    default = HTTPStatus(exc.status_code).phrase.lower().replace(" ", "_").replace("-", "_")
    return error_response(
        exc.status_code, getattr(exc, "code", default), str(exc.detail), exc.headers
    )


async def _validation_error(request: Request, exc: Exception) -> JSONResponse:
    """Answer a request that does not match the endpoint's parameters."""
    assert isinstance(exc, RequestValidationError)
    parts = []
    for item in exc.errors()[:5]:
        where = ".".join(str(p) for p in item.get("loc", ()))
        parts.append(f"{where}: {item.get('msg', 'invalid')}")
    return error_response(422, "invalid_request", "; ".join(parts) or "invalid request")


async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
    """Answer an unexpected error without leaking its details (they go to the log)."""
    log.exception("unexpected error on %s %s", request.method, request.url.path)
    return error_response(500, "internal", "internal server error")


def install_error_handlers(app: FastAPI) -> None:
    """Make every error the app returns a JSON ErrorBody."""
    app.add_exception_handler(FacegateError, _facegate_error)
    app.add_exception_handler(ValueError, _facegate_error)
    app.add_exception_handler(HTTPException, _http_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(Exception, _unexpected)
