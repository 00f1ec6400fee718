"""API key checks: `require_scope(...)` is the FastAPI dependency every protected route uses.

A key is read from `Authorization: Bearer <token>` or `X-API-Key: <token>`; routes that accept
the read scope also take `?api_key=<token>` (for browser pages; it ends up in URLs, browser
history and access logs, so give such pages a key with the read scope only). Missing or unknown
key: 401; a valid key without the scope: 403.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated

from fastapi import Request, Security
from fastapi.security import APIKeyHeader, APIKeyQuery, HTTPAuthorizationCredentials, HTTPBearer

from facegate.service.errors import ApiError
from facegate.service.keys import SCOPES, ApiKey
from facegate.service.resources import Resources

_bearer = HTTPBearer(auto_error=False, description="An API key as a bearer token.")
_header = APIKeyHeader(name="X-API-Key", auto_error=False, description="An API key.")
_query = APIKeyQuery(
    name="api_key",
    auto_error=False,
    description="An API key with the read scope, for browser pages (it shows up in URLs).",
)

KeyDependency = Callable[..., ApiKey]
Bearer = Annotated[HTTPAuthorizationCredentials | None, Security(_bearer)]
Header = Annotated[str | None, Security(_header)]
Query = Annotated[str | None, Security(_query)]


def _authorize(
    request: Request, scopes: tuple[str, ...], token: str | None, from_query: bool
) -> ApiKey:
    """Return the key behind the token when it grants one of the scopes; else raise 401 / 403."""
    if not token:
        raise ApiError(401, "missing_key", "an API key is required", {"WWW-Authenticate": "Bearer"})
    resources: Resources = request.app.state.resources
    key = resources.keys().lookup(token)
    if key is None:
        raise ApiError(
            401, "invalid_key", "the API key is unknown or revoked", {"WWW-Authenticate": "Bearer"}
        )
    allowed = ("read",) if from_query else scopes
    if not any(key.grants(scope) for scope in allowed):
        needed = "read (as ?api_key=)" if from_query else " or ".join(scopes)
        raise ApiError(403, "forbidden", f"this key lacks the scope {needed}")
    request.state.api_key = key
    return key


def require_scope(*scopes: str) -> KeyDependency:
    """Return a dependency that admits a key holding any of the scopes (admin holds all)."""
    unknown = [s for s in scopes if s not in SCOPES]
    if unknown or not scopes:
        raise ValueError(f"unknown scopes {unknown}; scopes are {SCOPES}")
    if "read" in scopes:

        def key_or_query(
            request: Request,
            bearer: Bearer,
            header: Header,
            query: Query,
        ) -> ApiKey:
            token = bearer.credentials if bearer else header
            return _authorize(request, scopes, token or query, from_query=not token and bool(query))

        return key_or_query

    def key_only(
        request: Request,
        bearer: Bearer,
        header: Header,
    ) -> ApiKey:
        return _authorize(request, scopes, bearer.credentials if bearer else header, False)

    return key_only
