"""Outputs a decision is sent to (webhook, local command) and a dispatcher that retries them.

The dispatcher is synchronous and may sleep between retries (up to about
backoff_s * (2**retries - 1) per failing output), so the access loop calls it off the hot
path: after the door has been unlocked or refused, from a worker thread or queue, never
between a frame and its decision.
"""

from __future__ import annotations

import json
import logging
import os
import subprocess
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

from facegate.errors import OutputConfigError, OutputError
from facegate.json_out import rounded
from facegate.settings import ActionsSettings

DEFAULTS = ActionsSettings()
STDERR_TAIL = 300


@runtime_checkable
class Output(Protocol):
    """Somewhere a decision is sent; send raises on failure."""

    name: str

    def send(self, event: Mapping[str, Any]) -> None:
        """Deliver one event (a JSON-ready dict) or raise."""


def event_json(event: Mapping[str, Any]) -> bytes:
    """Return the event as UTF-8 JSON bytes, floats rounded as the CLI prints them."""
    return json.dumps(rounded(dict(event)), sort_keys=True).encode("utf-8")


class WebhookOutput:
    """POSTs each event as JSON to an http(s) URL."""

    def __init__(
        self,
        url: str,
        timeout_s: float = DEFAULTS.timeout_s,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        parts = urllib.parse.urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise OutputConfigError(f"a webhook needs an http(s) URL with a host, not {url!r}")
        self.url = url
        self.timeout_s = timeout_s
        self.headers = {"Content-Type": "application/json", **(headers or {})}
        # The name never holds the path, query or credentials of the URL: it goes into logs.
        self.name = f"webhook:{parts.hostname}:{parts.port or parts.scheme}"

    def send(self, event: Mapping[str, Any]) -> None:
        """POST the event; raise OutputError unless the server answers 2xx in time."""
        request = urllib.request.Request(
            self.url, data=event_json(event), headers=self.headers, method="POST"
        )
        try:
            with urllib.request.urlopen(request, timeout=self.timeout_s) as response:
                status = response.status
                response.read()
        except urllib.error.HTTPError as exc:
            raise OutputError(f"{self.name} answered HTTP {exc.code}") from exc
        except (urllib.error.URLError, OSError) as exc:
            reason = getattr(exc, "reason", exc)
            raise OutputError(f"{self.name} unreachable: {reason}") from exc
        if not 200 <= status < 300:
            raise OutputError(f"{self.name} answered HTTP {status}")


class CommandOutput:
    """Runs a command (no shell) with the event JSON on stdin and FACEGATE_* variables set."""

    def __init__(self, argv: Sequence[str], timeout_s: float = DEFAULTS.timeout_s) -> None:
        if isinstance(argv, str) or not argv:
            raise ValueError("a command output needs argv as a non-empty list of strings")
        self.argv = [str(arg) for arg in argv]
        self.timeout_s = timeout_s
        self.name = f"command:{Path(self.argv[0]).name}"

    def _environment(self, event: Mapping[str, Any]) -> dict[str, str]:
        """Return the process environment plus the event's decision, person and door."""
        env = dict(os.environ)
        for key in ("decision", "person", "door"):
            value = event.get(key)
            env[f"FACEGATE_{key.upper()}"] = "" if value is None else str(value)
        return env

    def send(self, event: Mapping[str, Any]) -> None:
        """Run the command once; raise OutputError if it cannot start, times out or fails."""
        try:
            done = subprocess.run(
                self.argv,
                input=event_json(event),
                env=self._environment(event),
                capture_output=True,
                timeout=self.timeout_s,
                check=False,
            )
        except subprocess.TimeoutExpired as exc:
            raise OutputError(f"{self.name} timed out after {self.timeout_s} s") from exc
        except OSError as exc:
            raise OutputError(f"{self.name} could not start: {exc}") from exc
        if done.returncode != 0:
            tail = done.stderr.decode("utf-8", "replace").strip()[-STDERR_TAIL:]
            raise OutputError(f"{self.name} exited {done.returncode}: {tail}")


class LogOutput:
    """Writes each event's `message` (else its JSON) as one warning line to a logger."""

    def __init__(self, log: logging.Logger | None = None) -> None:
        self.log = log or logging.getLogger("facegate.alarms")
        self.name = "log"

    def send(self, event: Mapping[str, Any]) -> None:
        """Log the event; never fails."""
        self.log.warning("%s", event.get("message") or event_json(event).decode("utf-8"))


@dataclass(frozen=True)
class OutputResult:
    """What happened when one event was sent to one output."""

    name: str
    ok: bool
    attempts: int
    error: str | None = None


class Dispatcher:
    """Sends each event to every output, retrying failures with backoff; never raises."""

    def __init__(
        self,
        outputs: Sequence[Output],
        retries: int = DEFAULTS.retries,
        backoff_s: float = DEFAULTS.backoff_s,
        log: logging.Logger | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if retries < 1:
            raise ValueError("retries is the number of tries per output and must be >= 1")
        self.outputs = list(outputs)
        self.retries = retries
        self.backoff_s = backoff_s
        self.log = log or logging.getLogger(__name__)
        self._sleep = sleep

    def _send_one(self, output: Output, event: Mapping[str, Any]) -> OutputResult:
        """Try one output up to retries times, doubling the pause after each failure."""
        name = str(getattr(output, "name", type(output).__name__))
        error = ""
        for attempt in range(1, self.retries + 1):
            try:
                output.send(event)
            except Exception as exc:  # a failing output must not stop the loop
                error = str(exc) or type(exc).__name__
                self.log.warning(
                    "output %s failed (try %d of %d): %s", name, attempt, self.retries, error
                )
                if attempt < self.retries:
                    self._sleep(self.backoff_s * 2 ** (attempt - 1))
                continue
            return OutputResult(name=name, ok=True, attempts=attempt)
        self.log.error("output %s gave up after %d tries: %s", name, self.retries, error)
        return OutputResult(name=name, ok=False, attempts=self.retries, error=error)

    def dispatch(self, event: Mapping[str, Any]) -> list[OutputResult]:
        """Send the event to every output in turn; return one result per output, in order."""
        return [self._send_one(output, event) for output in self.outputs]
