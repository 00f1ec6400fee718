"""Failed challenges at one camera in a sliding window: a replay cannot retry forever.

Each track refused challenge_failed is one failure; once liveness.challenge_fail_limit of them
fall within liveness.challenge_fail_window_seconds, the camera is locked (its loop denies
rate_limited) until the oldest leaves the window. Times are the stream's timestamps.
"""

from __future__ import annotations

from collections import deque


class Lockout:
    """Counts failures in a sliding window and says whether their limit is reached."""

    def __init__(self, limit: int, window_s: float) -> None:
        self.limit = limit
        self.window_s = window_s
        self._failures: deque[float] = deque()

    def _expire(self, timestamp: float) -> None:
        """Forget failures that left the window before timestamp."""
        while self._failures and self._failures[0] <= timestamp - self.window_s:
            self._failures.popleft()

    def record(self, timestamp: float) -> None:
        """Count one failure at timestamp."""
        self._expire(timestamp)
        self._failures.append(timestamp)

    def locked(self, timestamp: float) -> bool:
        """Return whether the failures within the window reached the limit."""
        self._expire(timestamp)
        return len(self._failures) >= self.limit

    def remaining(self, timestamp: float) -> float:
        """Return the seconds until the camera unlocks (0 when it is not locked)."""
        if not self.locked(timestamp):
            return 0.0
        return self._failures[-self.limit] + self.window_s - timestamp
