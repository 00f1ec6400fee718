"""Early decisions: a track decided as soon as its match is clear, before the fixed waits.

A track otherwise waits for its best frames (select.best_k good ones, select.min_candidates, or
the window) and for liveness (liveness.min_seconds, then max_wait_seconds for a sign of life).
A clear match needs neither: liveness only has to be proven before an unlock, so a face far
above the threshold (or a named person the door refuses, far below it) is denied at once,
whatever liveness would say; and a face far below the threshold that liveness has already found
live is let in without waiting for more frames. Never earlier than liveness allows an unlock.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Generic, TypeVar

import numpy as np

from facegate.stream.ruling import Ruling

T = TypeVar("T")


def is_clear(ruling: Ruling, deny_margin: float, unlock_margin: float) -> bool:
    """Return whether a ruling's distance lies clear of its threshold, on its side.

    Nobody named (unknown): at or above threshold + deny_margin. Someone named: at or below
    threshold - unlock_margin. Nobody to compare with (no distance) counts as clear.
    """
    if ruling.distance is None:
        return True
    if ruling.person is None:
        return ruling.distance >= ruling.threshold + deny_margin
    return ruling.distance <= ruling.threshold - unlock_margin


def early_ruling(
    as_if_live: Ruling, live_now: bool, deny_margin: float, unlock_margin: float
) -> Ruling | None:
    """Return the ruling to act on now, or None to keep waiting.

    as_if_live: the door's ruling on the frames kept so far, were the face proven live. A deny
    then is a deny whatever liveness finds (liveness can only refuse more), acted on once the
    match is clear; an unlock only once liveness has found the face live (live_now) and the
    match is clear. Retries and close matches wait for the usual rule.
    """
    if not is_clear(as_if_live, deny_margin, unlock_margin):
        return None
    if as_if_live.decision == "deny":
        return as_if_live
    if as_if_live.decision == "unlock" and live_now:
        return as_if_live
    return None


class VectorCache(Generic[T]):
    """Each kept frame's embedding, computed once while its track is open."""

    def __init__(self) -> None:
        self._known: dict[int, tuple[T, np.ndarray]] = {}  # id -> (item, vector): item held

    def vectors(self, items: Sequence[T], embed: Callable[[list[T]], np.ndarray]) -> np.ndarray:
        """Return one vector per item (new items embedded in one call); forget the others."""
        missing = [item for item in items if id(item) not in self._known]
        if missing:
            for item, vector in zip(missing, embed(missing), strict=True):
                self._known[id(item)] = (item, vector)
        self._known = {id(item): self._known[id(item)] for item in items}
        return np.stack([self._known[id(item)][1] for item in items])
