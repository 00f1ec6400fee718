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
    """Return the detector (with its fallback) that the settings describe."""
    score = settings.min_detection_score
    primary: Detector
    if settings.detector == "cnn":
        primary = CnnDetector(settings.upsample, score)
    else:
        primary = HogDetector(settings.upsample, score)
    if settings.fallback_detector == "cnn" and settings.detector != "cnn":
        return FallbackDetector(primary, CnnDetector(settings.upsample, score))
    if settings.fallback_detector == "hog2":
        return FallbackDetector(primary, HogDetector(settings.upsample + 1, score))
    return primary


def select_faces(boxes: list[FaceBox], policy: Literal["largest", "all"]) -> list[FaceBox]:
    """Return the faces the policy keeps: the largest one, or all of them largest first."""
    ordered = sorted(boxes, key=lambda b: -b.area)
    return ordered[:1] if policy == "largest" else ordered
