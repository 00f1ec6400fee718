"""The door's HTTP client of the centre's template endpoint (`POST /v1/templates/decide`)."""

from __future__ import annotations

from typing import Any, Self
from urllib.parse import urlsplit

import httpx

from facegate.errors import FacegateError

TEMPLATE_PATH = "/v1/templates/decide"
COPY_PATH = "/v1/templates/copy"


class CentreUnreachable(Exception):
    """The centre did not answer: refused connection, timeout, or a 5xx."""


class CentreRefused(FacegateError):
    """The centre answered 4xx: the key, the template, the event or the copy request was refused."""

    code = "centre_refused"

    def __init__(self, status: int, error: str, message: str) -> None:
        super().__init__(f"the centre refused the request ({status} {error}): {message}")
        self.status = status
        self.error = error


class CentreClient:
    """Posts template bodies to one central `facegate serve` with a door key."""

    def __init__(self, url: str, token: str, timeout_s: float) -> None:
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise ValueError(f"--server must be an http:// or https:// URL, not {url!r}")
        if not token:
            raise ValueError("--server needs a door key (settings edge.key or --key)")
        self._http = httpx.Client(
            base_url=url.rstrip("/"),
            headers={"Authorization": f"Bearer {token}"},
            timeout=timeout_s,
        )

    def send(self, body: dict[str, Any]) -> dict[str, Any]:
        """Return the centre's answer to one template body; raise CentreUnreachable / Refused."""
        try:
            response = self._http.post(TEMPLATE_PATH, json=body)
        except httpx.HTTPError as exc:
            raise CentreUnreachable(f"{type(exc).__name__}: {exc}") from exc
        return self._answer(response)

    def fetch_copy(self, door: str) -> dict[str, Any]:
        """Return the centre's copy of the door's allowed people; raise Unreachable / Refused."""
        try:
            response = self._http.get(COPY_PATH, params={"door": door})
        except httpx.HTTPError as exc:
            raise CentreUnreachable(f"{type(exc).__name__}: {exc}") from exc
        return self._answer(response)

    @staticmethod
    def _answer(response: httpx.Response) -> dict[str, Any]:
        """Return a response's JSON object; raise CentreUnreachable (5xx) or CentreRefused (4xx)."""
        if response.status_code >= 500:
            raise CentreUnreachable(f"HTTP {response.status_code}")
        try:
            answer = response.json()
        except ValueError as exc:
            raise CentreUnreachable(f"HTTP {response.status_code}: not JSON") from exc
        if response.status_code >= 400:
            error = answer.get("error", "error") if isinstance(answer, dict) else "error"
            message = answer.get("message", "") if isinstance(answer, dict) else ""
            raise CentreRefused(response.status_code, str(error), str(message))
        return answer

    def close(self) -> None:
        """Close the connection pool."""
        self._http.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
