"""Frame quality scores and the best-k frames of a track, collected within a time window."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Generic, TypeVar

import numpy as np

from facegate.settings import SelectSettings
from facegate.vision.pose import estimate_yaw
from facegate.vision.types import FaceBox, FaceQuality

T = TypeVar("T")

# Sharpness is scored from the chip's focus (vision.quality.focus: gradient energy over grey
# variance at half size, blind to brightness and contrast) on a log scale: 0 at or below
# FOCUS_FLOOR (motion blur of ~25 px on a 150 px chip, or a Gaussian sigma of ~3 px), 1 at or
# above FOCUS_FULL (the sharpest tenth of clean LFW chips). Log, because blur scales it: 1.5
# -> 3 matters as much as 4 -> 8. The Laplacian variance it replaces ranked noisy frames as sharp.
FOCUS_FLOOR = 1.2
FOCUS_FULL = 8.0
# Face size (box width) is scored linearly up to SIZE_FULL_PX: with the default chip padding
# (0.25) the face spans about 100 of the chip's 150 px, so wider faces add no detail.
SIZE_FULL_PX = 100.0
# Pose: yaw is estimated from 5 landmarks (vision/pose.py). The score falls linearly from 1 when
# frontal to 0 at YAW_LIMIT_DEG, about where the HOG detector stops finding faces.
YAW_LIMIT_DEG = 60.0
# Exposure: the chip's mean grey level scores 1 at EXPOSURE_MID and falls quadratically (mild
# near mid-grey, steep near the ends) to 0 at EXPOSURE_MID +- EXPOSURE_SPAN.
EXPOSURE_MID = 128.0
EXPOSURE_SPAN = 100.0


@dataclass(frozen=True)
class ScoreWeights:
    """Weights of the four parts of a frame score (they sum to 1, so scores are in 0..1).

    Sharpness weighs most: motion blur while walking is the commonest bad frame and hurts the
    embedding most. Pose comes next (the embedder is trained mostly on near-frontal faces),
    then size (it only matters until the chip is at full resolution), then exposure (the
    embedder tolerates a global brightness change; only near-black or burnt-out chips hurt).
    """

    sharpness: float = 0.4
    pose: float = 0.3
    size: float = 0.2
    exposure: float = 0.1


DEFAULT_WEIGHTS = ScoreWeights()


@dataclass(frozen=True)
class FrameScoreParts:
    """Each part of a frame score on a 0..1 scale (1 = best), and the estimated yaw."""

    sharpness: float
    pose: float
    size: float
    exposure: float
    yaw_deg: float

    def total(self, weights: ScoreWeights = DEFAULT_WEIGHTS) -> float:
        """Return the weighted sum of the parts."""
        return (
            weights.sharpness * self.sharpness
            + weights.pose * self.pose
            + weights.size * self.size
            + weights.exposure * self.exposure
        )


def _clip01(value: float) -> float:
    """Return value clipped to 0..1."""
    return min(max(value, 0.0), 1.0)


def sharpness_score(focus: float) -> float:
    """Return the sharpness part from a chip's focus: log-scaled between FOCUS_FLOOR and FULL."""
    ratio = max(focus, FOCUS_FLOOR) / FOCUS_FLOOR
    return _clip01(math.log(ratio) / math.log(FOCUS_FULL / FOCUS_FLOOR))


def pose_score(yaw_deg: float) -> float:
    """Return the pose part: 1 when frontal, falling linearly to 0 at YAW_LIMIT_DEG."""
    return _clip01(1.0 - abs(yaw_deg) / YAW_LIMIT_DEG)


def size_score(box: FaceBox) -> float:
    """Return the size part: the box's shorter side over SIZE_FULL_PX, capped at 1."""
    return _clip01(min(box.width, box.height) / SIZE_FULL_PX)


def exposure_score(brightness: float) -> float:
    """Return the exposure part: 1 at mid-grey, 0 at EXPOSURE_SPAN from it (quadratic)."""
    return _clip01(1.0 - ((brightness - EXPOSURE_MID) / EXPOSURE_SPAN) ** 2)


def frame_score_parts(quality: FaceQuality, landmarks: np.ndarray, box: FaceBox) -> FrameScoreParts:
    """Return the four 0..1 parts of a frame's score and its estimated yaw."""
    yaw = estimate_yaw(landmarks)
    return FrameScoreParts(
        sharpness=sharpness_score(quality.focus),
        pose=pose_score(yaw),
        size=size_score(box),
        exposure=exposure_score(quality.brightness),
        yaw_deg=yaw,
    )


def frame_score(
    quality: FaceQuality,
    landmarks: np.ndarray,
    box: FaceBox,
    weights: ScoreWeights = DEFAULT_WEIGHTS,
) -> float:
    """Return a frame's quality score in 0..1 (higher is better) for best-frame selection."""
    return frame_score_parts(quality, landmarks, box).total(weights)


def covered_share(box: FaceBox, others: Sequence[FaceBox]) -> float:
    """Return the largest share of box's area that any other box covers (0 when none does)."""
    area = max(1, box.width * box.height)
    shares = [
        max(0, min(box.right, o.right) - max(box.left, o.left))
        * max(0, min(box.bottom, o.bottom) - max(box.top, o.top))
        / area
        for o in others
        if o is not box
    ]
    return max(shares, default=0.0)


@dataclass(frozen=True)
class ScoredFrame(Generic[T]):
    """One kept frame: the caller's item, its score and its time."""

    item: T
    score: float
    timestamp: float


class BestFrames(Generic[T]):
    """Keeps the best_k highest-scoring frames of one track within window_seconds.

    The window starts at the first frame accepted (faces narrower than min_face_px are
    refused and do not start it); frames after it has elapsed are refused.
    """

    def __init__(self, settings: SelectSettings | None = None) -> None:
        self.settings = settings or SelectSettings()
        self._frames: list[ScoredFrame[T]] = []
        self._started_at: float | None = None
        self._seen = 0

    def __len__(self) -> int:
        """Return the number of frames kept."""
        return len(self._frames)

    @property
    def started_at(self) -> float | None:
        """Return the time of the first accepted frame (None before any)."""
        return self._started_at

    def add(self, item: T, score: float, timestamp: float, face_px: int) -> bool:
        """Return whether the frame was kept (refused: face too small, window over, or worse)."""
        if face_px < self.settings.min_face_px or self._window_over(timestamp):
            return False
        if self._started_at is None:
            self._started_at = timestamp
        self._seen += 1
        frame = ScoredFrame(item, score, timestamp)
        if len(self._frames) < self.settings.best_k:
            self._frames.append(frame)
        elif score > self._frames[-1].score:
            self._frames[-1] = frame
        else:
            return False
        self._frames.sort(key=lambda kept: (-kept.score, kept.timestamp))
        return True

    def ready(self, timestamp: float) -> bool:
        """Return whether best_k good frames, or min_candidates frames, were seen or time is up."""
        if self._seen >= max(self.settings.min_candidates, self.settings.best_k):
            return True
        full = len(self._frames) == self.settings.best_k
        if full and self._frames[-1].score >= self.settings.good_score:
            return True
        return bool(self._frames) and self._window_over(timestamp, inclusive=True)

    def best(self) -> list[T]:
        """Return the kept items, best score first (earlier first on equal scores)."""
        return [frame.item for frame in self._frames]

    def scored(self) -> list[ScoredFrame[T]]:
        """Return the kept frames with their scores and times, best first."""
        return list(self._frames)

    def _window_over(self, timestamp: float, inclusive: bool = False) -> bool:
        """Return whether the window has elapsed (strictly, unless inclusive) at timestamp."""
        if self._started_at is None:
            return False
        elapsed = timestamp - self._started_at
        window = self.settings.window_seconds
        return elapsed >= window if inclusive else elapsed > window
