"""The request-body limit: refused by Content-Length before reading, or as the stream passes it."""

from __future__ import annotations

from starlette.datastructures import Headers
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from facegate.service.errors import ApiError, error_response


class UploadTooLargeError(ApiError):
    """The request body is over service.max_upload_bytes."""

    def __init__(self, limit: int) -> None:
        super().__init__(413, "upload_too_large", f"request body over the limit of {limit} bytes")


class BodyLimitMiddleware:
    """Answers 413 for a body over max_bytes without reading more than max_bytes of it."""

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = Headers(scope=scope).get("content-length")
        if declared is not None and (not declared.isdigit() or int(declared) > self.max_bytes):
            too_large = declared.isdigit()
            response = error_response(
                413 if too_large else 400,
                "upload_too_large" if too_large else "bad_request",
                f"request body over the limit of {self.max_bytes} bytes"
                if too_large
                else "Content-Length is not a number",
                {"Connection": "close"},
            )
            await response(scope, receive, send)
            return
        received = 0

        async def limited() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_bytes:
                    raise UploadTooLargeError(self.max_bytes)
            return message

        await self.app(scope, limited, send)
