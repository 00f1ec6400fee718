"""Pages from the Jinja2 templates, sent with a Content-Security-Policy that allows only self."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import jinja2
from fastapi import Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

HERE = Path(__file__).parent
CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; "
    "media-src 'self' blob:; connect-src 'self'; form-action 'self'; frame-ancestors 'none'; "
    "base-uri 'none'"
)
HEADERS = {
    "Content-Security-Policy": CSP,
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
}

_env = jinja2.Environment(
    loader=jinja2.FileSystemLoader(HERE / "templates"),
    autoescape=True,
    trim_blocks=True,
    lstrip_blocks=True,
)


def secure(response: Response, csp: str = CSP) -> Response:
    """Return the response with the UI's security headers set."""
    for name, value in HEADERS.items():
        response.headers[name] = value
    response.headers["Content-Security-Policy"] = csp
    return response


def page(request: Request, template: str, status: int = 200, **context: Any) -> HTMLResponse:
    """Return a rendered template as an HTML response with the security headers."""
    context.setdefault("user", getattr(request.state, "ui_user", None))
    context.setdefault("message", None)
    context.setdefault("error", None)
    context.setdefault("max_upload", request.app.state.settings.service.max_upload_bytes)
    html = _env.get_template(template).render(request=request, **context)
    return secure(HTMLResponse(html, status_code=status))  # type: ignore[return-value]


def redirect(url: str) -> Response:
    """Return a 303 See Other to url (after a POST) with the security headers."""
    return secure(RedirectResponse(url, status_code=303))
