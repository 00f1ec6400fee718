"""Face detectors (dlib HOG and CNN), a fallback chain, and the several-faces policy."""

from __future__ import annotations

from typing import Literal

import dlib
import numpy as np

from facegate.settings import VisionSettings
from facegate.vision import models
from facegate.vision.types import Detector, FaceBox


def _clip_box(rect: dlib.rectangle, score: float, name: str, shape: tuple[int, ...]) -> FaceBox:
    """Return a FaceBox for a dlib rectangle, clipped to the image."""
    height, width = shape[:2]
    return FaceBox(
        left=max(0, rect.left()),
        top=max(0, rect.top()),
        right=min(width, rect.right() + 1),
        bottom=min(height, rect.bottom() + 1),
        score=float(score),
        detector=name,
    )


class HogDetector:
    """dlib's HOG + linear SVM detector: fast on a CPU, frontal faces."""

    def __init__(self, upsample: int = 1, min_score: float = 0.0) -> None:
        self.upsample = upsample
        self.min_score = min_score
        self.name = f"hog{upsample}"

    def detect(self, image: np.ndarray) -> list[FaceBox]:
        """Return HOG detections scoring at least min_score, best first."""
        rects, scores, _ = models.hog_detector().run(image, self.upsample, self.min_score)
        boxes = [
            _clip_box(r, s, self.name, image.shape) for r, s in zip(rects, scores, strict=True)
        ]
        return sorted(boxes, key=lambda b: -b.score)


class CnnDetector:
    """dlib's MMOD CNN detector: finds harder faces, about a second per small image on a CPU."""

    def __init__(self, upsample: int = 1, min_score: float = 0.0) -> None:
        self.upsample = upsample
        self.min_score = min_score
        self.name = f"cnn{upsample}"

    def detect(self, image: np.ndarray) -> list[FaceBox]:
        """Return CNN detections scoring at least min_score, best first."""
        found = models.cnn_detector()(image, self.upsample)
        boxes = [
            _clip_box(d.rect, d.confidence, self.name, image.shape)
            for d in found
            if d.confidence >= self.min_score
        ]
        return sorted(boxes, key=lambda b: -b.score)


class FallbackDetector:
    """Runs the primary detector, and the fallback only when the primary finds nothing."""

    def __init__(self, primary: Detector, fallback: Detector) -> None:
        self.primary = primary
        self.fallback = fallback
        self.name = f"{primary.name}+{fallback.name}"

    def detect(self, image: np.ndarray) -> list[FaceBox]:
        """Return the primary's faces, or the fallback's when there are none."""
        return self.primary.detect(image) or self.fallback.detect(image)


def build_detector(settings: VisionSettings) -> Detector:
    """Return the detector (with its fallbacks, in order) that the settings describe."""
    score = settings.min_detection_score
    primary: Detector
    if settings.detector == "cnn":
        primary = CnnDetector(settings.upsample, score)
    else:
        primary = HogDetector(settings.upsample, score)
    for name in settings.fallback_detectors:
        if name == "hog2":
            fallback: Detector = HogDetector(settings.upsample + 1, score)
        else:
            fallback = CnnDetector(settings.upsample, score)
        if fallback.name != primary.name:
            primary = FallbackDetector(primary, fallback)
    return primary


FacePolicy = Literal["largest", "center", "all"]


def select_faces(
    boxes: list[FaceBox], policy: FacePolicy, image_shape: tuple[int, ...] = (0, 0)
) -> list[FaceBox]:
    """Return the faces the policy keeps: the largest, the most central, or all (largest first)."""
    if policy == "center" and boxes:
        cy, cx = image_shape[0] / 2, image_shape[1] / 2

        def off_centre(b: FaceBox) -> float:
            return ((b.left + b.right) / 2 - cx) ** 2 + ((b.top + b.bottom) / 2 - cy) ** 2

        return [min(boxes, key=off_centre)]
    ordered = sorted(boxes, key=lambda b: -b.area)
    return ordered[:1] if policy == "largest" else ordered
