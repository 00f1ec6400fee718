"""The failed-attempt limit an edge door keeps itself while it decides from its copy.

Online the centre counts a door's failures (doors.rate_limit_failures within
doors.rate_limit_window_seconds) and answers 429 beyond them. Cut off from it, the door decides
alone: without a count of its own, whoever cut the network could hold up print after print,
forever. So the door counts its own offline refusals (deny or retry) in the same window and,
past the same number, refuses every attempt with rate_limited until the oldest falls out.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable


class FailureWindow:
    """Failures in a sliding window: full once `failures` of them fall within `window_s`."""

    def __init__(
        self, failures: int, window_s: float, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.failures = failures
        self.window_s = window_s
        self.clock = clock
        self._times: deque[float] = deque()

    def full(self) -> bool:
        """Return whether the window holds the limit's number of failures now."""
        cutoff = self.clock() - self.window_s
        while self._times and self._times[0] <= cutoff:
            self._times.popleft()
        return len(self._times) >= self.failures

    def add(self) -> None:
        """Count one failed attempt now."""
        self._times.append(self.clock())
