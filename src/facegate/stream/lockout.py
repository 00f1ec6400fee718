"""Failures in a sliding window: past a limit, further attempts are refused until one ages out.

Two users: the access loop counts its tracks refused challenge_failed, per person matched
(liveness.challenge_fail_limit within liveness.challenge_fail_window_seconds lock that person out
at the camera: its loop denies the face rate_limited, so a replay cannot retry forever) and for
the whole camera (liveness.challenge_fail_camera_limit: replays of many people); times are the
stream's timestamps. And an edge door deciding from
its copy while the centre is away counts its own refusals against doors.rate_limit_failures
within doors.rate_limit_window_seconds, as the centre would (times from its monotonic clock).
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

    def count(self, timestamp: float) -> int:
        """Return how many failures are within the window."""
        self._expire(timestamp)
        return len(self._failures)

    def remaining(self, timestamp: float) -> float:
        """Return the seconds until this lockout ends (0 when it is not locked)."""
        if not self.locked(timestamp):
            return 0.0
        return self._failures[-self.limit] + self.window_s - timestamp
