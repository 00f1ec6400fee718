"""Failed door checks per API key and per door: past N in a sliding window, checks are refused."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager

from facegate.service.failures import FailureStore


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
    """Counts failed attempts (deny, retry) per subject within a window, in the database.

    The limit is exact under concurrency, across threads and service workers alike: an attempt
    in flight holds a place (service/failures.py), and when the failures so far plus the
    attempts in flight reach the limit, a new attempt waits for one of them to end (its outcome
    decides whether the new one may run) instead of being refused.
    store: returns the calling thread's connection to the failure counts; poll_s: how often a
    waiting attempt asks again (doors.rate_limit_poll_seconds).
    """

    def __init__(
        self,
        store: Callable[[], FailureStore],
        failures: int,
        window_s: float,
        stale_s: float = 60.0,
        poll_s: float = 0.05,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.store = store
        self.failures = failures
        self.window_s = window_s
        self.stale_s = stale_s
        self.poll_s = poll_s
        self.clock = clock

    def blocked(self, subjects: Sequence[str]) -> list[str]:
        """Return the subjects that have used up their failed attempts in the window."""
        counts = self.store().failures(subjects, self.clock() - self.window_s)
        return [s for s in subjects if counts.get(s, 0) >= self.failures]

    def record(self, subjects: Sequence[str], at: float) -> None:
        """Count one failed attempt of each subject that happened at `at` (a queued event's)."""
        self.store().record(subjects, at)

    @contextmanager
    def attempt(self, subjects: Sequence[str]) -> Iterator[Attempt]:
        """Admit one attempt (or raise RateLimited); a failed one is counted when it ends."""
        store = self.store()
        while True:
            now = self.clock()
            held = store.reserve(
                subjects, self.failures, now - self.window_s, now - self.stale_s, now
            )
            if held.over:
                raise RateLimited(held.over)
            if held.ids:
                break
            time.sleep(self.poll_s)  # an attempt in flight ends, or the window moves
        handle = Attempt()
        try:
            yield handle
        finally:
            store.finish(held.ids, handle.failure, self.clock())
