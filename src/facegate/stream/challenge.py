"""Where one track's turn challenge stands, carried from one attempt to the next.

A challenged track answers one side per attempt (the loop's retry announces it); the exchange
counts the sides answered correctly in a row and the failed answers, so that a recording which
turns the wrong way (or not at all) is refused after liveness.challenge_max_asks failures instead
of being asked again until its head happens to turn the asked way.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Exchange:
    """A track's challenge so far: sides answered correctly in a row, and failed answers."""

    passed: int = 0
    failed: int = 0

    def after(self, correct: bool) -> Exchange:
        """Return the exchange after one more answer (a failure starts the row again)."""
        if correct:
            return Exchange(self.passed + 1, self.failed)
        return Exchange(0, self.failed + 1)
