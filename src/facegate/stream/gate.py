"""The activity gate: cheap tests that stop most camera frames before any face model."""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass
from typing import Protocol

import cv2
import numpy as np

from facegate.errors import ImageError
from facegate.settings import GateSettings


@dataclass(frozen=True)
class GateResult:
    """Whether a frame goes on, the fraction of its (shrunk) pixels that changed, P(face)."""

    passed: bool
    changed_fraction: float
    presence: float | None = None  # the presence network's score, where it ran


class Gate(Protocol):
    """Anything that decides, frame by frame, whether the rest of the loop should look."""

    def update(self, frame: np.ndarray, timestamp: float) -> GateResult:
        """Return whether this frame (RGB uint8 HxWx3, time in seconds) goes on."""
        ...


class OpenGate:
    """The gate for mode 'off': every frame goes on."""

    def update(self, frame: np.ndarray, timestamp: float) -> GateResult:
        """Return a passing result for any frame."""
        return GateResult(passed=True, changed_fraction=1.0)


class PixelChangeGate:
    """Opens when enough pixels differ from the frame about `reference_seconds` ago.

    Frames are turned grey and shrunk (INTER_AREA, which also averages sensor noise away) to
    `width` pixels wide. A pixel counts as changed when its grey level differs by more than
    `pixel_threshold` from the reference frame: the newest stored frame at least
    `reference_seconds` old, or the oldest one while none is that old yet. Frames are stored at
    least `reference_seconds / HISTORY_SLOTS` apart and nothing older than the reference is
    kept, so the history holds at most HISTORY_SLOTS + 2 small frames at any frame rate (and
    with repeated timestamps). A timestamp going backwards or a new frame size starts over.
    """

    HISTORY_SLOTS = 32

    def __init__(self, settings: GateSettings) -> None:
        self._settings = settings
        self._min_spacing = settings.reference_seconds / self.HISTORY_SLOTS
        self._history: deque[tuple[float, np.ndarray]] = deque()
        self._last_timestamp: float | None = None

    @property
    def history_size(self) -> int:
        """Return how many small frames are held."""
        return len(self._history)

    def reset(self) -> None:
        """Forget every stored frame (the next frame is treated as the first)."""
        self._history.clear()
        self._last_timestamp = None

    def shrink(self, frame: np.ndarray) -> np.ndarray:
        """Return the frame as a small grey uint8 image `width` pixels wide."""
        if frame.dtype != np.uint8 or frame.ndim != 3 or frame.shape[2] != 3:
            raise ImageError(
                f"the gate needs an RGB uint8 HxWx3 frame, got {frame.dtype} {frame.shape}"
            )
        height, width = frame.shape[:2]
        small_w = min(self._settings.width, width)
        small_h = max(1, round(height * small_w / width))
        grey = cv2.cvtColor(frame, cv2.COLOR_RGB2GRAY)
        return cv2.resize(grey, (small_w, small_h), interpolation=cv2.INTER_AREA)

    def update(self, frame: np.ndarray, timestamp: float) -> GateResult:
        """Return whether this frame changed enough from the frame about a reference ago."""
        small = self.shrink(frame)
        history = self._history
        if (self._last_timestamp is not None and timestamp < self._last_timestamp) or (
            history and history[0][1].shape != small.shape
        ):
            self.reset()
        self._last_timestamp = timestamp

        if not history:
            history.append((timestamp, small))
            return GateResult(passed=False, changed_fraction=0.0)

        cutoff = timestamp - self._settings.reference_seconds
        while len(history) > 1 and history[1][0] <= cutoff:
            history.popleft()
        reference = history[0][1]

        changed = cv2.absdiff(small, reference) > self._settings.pixel_threshold
        fraction = float(np.count_nonzero(changed)) / changed.size
        if timestamp - history[-1][0] >= self._min_spacing:
            history.append((timestamp, small))
        return GateResult(passed=fraction > self._settings.epsilon, changed_fraction=fraction)
