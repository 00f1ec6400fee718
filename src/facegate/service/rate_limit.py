"""Failed door checks per API key and per door: past N in a sliding window, checks are refused."""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable, Sequence


class FailureLimiter:
    """Counts failed attempts (deny, retry) per subject within a window; thread-safe.

    One process's memory: with several service workers each counts its own share. Callers
    check and record under one lock of their own (the service's vision lock), so concurrent
    attempts cannot all pass the check before the first failure is counted.
    """

    def __init__(
        self, failures: int, window_s: float, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.failures = failures
        self.window_s = window_s
        self.clock = clock
        self._lock = threading.Lock()
        self._seen: dict[str, deque[float]] = {}

    def _recent(self, subject: str, now: float) -> deque[float]:
        """Return the subject's failure times inside the window (older ones dropped)."""
        times = self._seen.setdefault(subject, deque())
        while times and times[0] <= now - self.window_s:
            times.popleft()
        return times

    def blocked(self, subjects: Sequence[str]) -> list[str]:
        """Return the subjects that have used up their failed attempts in the window."""
        now = self.clock()
        with self._lock:
            return [s for s in subjects if len(self._recent(s, now)) >= self.failures]

    def record_failure(self, subjects: Sequence[str]) -> None:
        """Count one failed attempt against each subject."""
        now = self.clock()
        with self._lock:
            for subject in subjects:
                self._recent(subject, now).append(now)
