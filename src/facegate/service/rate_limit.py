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

    The limit is exact under concurrency without any lock of the caller's: an attempt in
    flight holds a place, and when the failures so far plus the attempts in flight reach the
    limit, a new attempt waits for one of them to end (its outcome decides whether the new one
    may run) instead of being refused. One process's memory: with several service workers each
    counts its own share.
    """

    def __init__(
        self, failures: int, window_s: float, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.failures = failures
        self.window_s = window_s
        self.clock = clock
        self._changed = threading.Condition()
        self._seen: dict[str, deque[float]] = {}
        self._in_flight: dict[str, int] = {}

    def _recent(self, subject: str, now: float) -> deque[float]:
        """Return the subject's failure times inside the window (older ones dropped)."""
        times = self._seen.setdefault(subject, deque())
        while times and times[0] <= now - self.window_s:
            times.popleft()
        return times

    def blocked(self, subjects: Sequence[str]) -> list[str]:
        """Return the subjects that have used up their failed attempts in the window."""
        now = self.clock()
        with self._changed:
            return [s for s in subjects if len(self._recent(s, now)) >= self.failures]

    def _full(self, subjects: Sequence[str], now: float) -> bool:
        """Return whether failures plus attempts in flight fill any subject's allowance."""
        return any(
            len(self._recent(s, now)) + self._in_flight.get(s, 0) >= self.failures for s in subjects
        )

    @contextmanager
    def attempt(self, subjects: Sequence[str]) -> Iterator[Attempt]:
        """Admit one attempt (or raise RateLimited); a failed one is counted when it ends."""
        with self._changed:
            while True:
                now = self.clock()
                over = [s for s in subjects if len(self._recent(s, now)) >= self.failures]
                if over:
                    raise RateLimited(over)
                if not self._full(subjects, now):
                    break
                self._changed.wait(timeout=1.0)  # an attempt in flight ends, or the window moves
            for subject in subjects:
                self._in_flight[subject] = self._in_flight.get(subject, 0) + 1
        handle = Attempt()
        try:
            yield handle
        finally:
            now = self.clock()
            with self._changed:
                for subject in subjects:
                    self._in_flight[subject] -= 1
                    if not self._in_flight[subject]:
                        del self._in_flight[subject]
                    if handle.failure:
                        self._recent(subject, now).append(now)
                self._changed.notify_all()
