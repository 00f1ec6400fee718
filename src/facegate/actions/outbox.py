"""Sending payloads to a dispatcher's outputs on one worker thread, off the request path."""

from __future__ import annotations

from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from facegate.actions.outputs import Dispatcher


class Outbox:
    """Queues payloads for a dispatcher; one worker sends them in order (joined at exit)."""

    def __init__(self, dispatcher: Dispatcher, name: str = "facegate-outbox") -> None:
        self.dispatcher = dispatcher
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix=name)

    def send(self, payload: Mapping[str, Any]) -> None:
        """Queue one payload for every output."""
        self._pool.submit(self.dispatcher.dispatch, dict(payload))

    def close(self) -> None:
        """Wait until every queued payload has been sent."""
        self._pool.shutdown(wait=True)
