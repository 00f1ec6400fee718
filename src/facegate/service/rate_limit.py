"""Failed door checks per API key and per door: past N in a sliding window, checks are refused."""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager


class RateLimited(Exception):
    """Raised by FailureLimiter.attempt when a subject has used up its failed attempts."""

    def __init__(self, over: list[str]) -> None:
        super().__init__(over)
        self.over = over


class Attempt:
    """One admitted attempt; call failed() when it ends in a deny or retry."""

    def __init__(self) -> None:
        self.failure = False

    def failed(self) -> None:
        """Mark the attempt as failed (it counts against its subjects once it ends)."""
        self.failure = True


class FailureLimiter:
    """Counts failed attempts (deny, retry) per subject within a window; thread-safe.

    An attempt in flight holds a place until it ends, so N concurrent attempts of one subject
    cannot all pass before the first failure is counted: the limit is exact under concurrency
    without any lock of the caller's. One process's memory: with several service workers each
    counts its own share.
    """

    def __init__(
        self, failures: int, window_s: float, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.failures = failures
        self.window_s = window_s
        self.clock = clock
        self._lock = threading.Lock()
        self._seen: dict[str, deque[float]] = {}
        self._in_flight: dict[str, int] = {}

    def _recent(self, subject: str, now: float) -> deque[float]:
        """Return the subject's failure times inside the window (older ones dropped)."""
        times = self._seen.setdefault(subject, deque())
        while times and times[0] <= now - self.window_s:
            times.popleft()
        return times

    def blocked(self, subjects: Sequence[str]) -> list[str]:
        """Return the subjects whose failures and attempts in flight reach the limit."""
        now = self.clock()
        with self._lock:
            return self._blocked(subjects, now)

    def _blocked(self, subjects: Sequence[str], now: float) -> list[str]:
        """Return the blocked subjects; the caller holds the lock."""
        return [
            s
            for s in subjects
            if len(self._recent(s, now)) + self._in_flight.get(s, 0) >= self.failures
        ]

    @contextmanager
    def attempt(self, subjects: Sequence[str]) -> Iterator[Attempt]:
        """Admit one attempt (or raise RateLimited); a failed one is counted when it ends."""
        with self._lock:
            over = self._blocked(subjects, self.clock())
            if over:
                raise RateLimited(over)
            for subject in subjects:
                self._in_flight[subject] = self._in_flight.get(subject, 0) + 1
        handle = Attempt()
        try:
            yield handle
        finally:
            now = self.clock()
            with self._lock:
                for subject in subjects:
                    self._in_flight[subject] -= 1
                    if not self._in_flight[subject]:
                        del self._in_flight[subject]
                    if handle.failure:
                        self._recent(subject, now).append(now)
