"""Face detectors (YuNet, dlib HOG and CNN), a fallback chain, and the several-faces policy."""

from __future__ import annotations

from dataclasses import replace
from typing import Literal

import cv2
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


class DownscalingDetector:
    """Runs a detector on a copy shrunk to max_side pixels and maps its boxes back."""

    def __init__(self, inner: Detector, max_side: int) -> None:
        self.inner = inner
        self.max_side = max_side
        self.name = inner.name

    def detect(self, image: np.ndarray) -> list[FaceBox]:
        """Return the inner detector's faces in full-resolution coordinates."""
        height, width = image.shape[:2]
        scale = self.max_side / max(height, width)
        if scale >= 1.0:
            return self.inner.detect(image)
        small = cv2.resize(image, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
        return [
            replace(
                box,
                left=int(box.left / scale),
                top=int(box.top / scale),
                right=min(width, round(box.right / scale)),
                bottom=min(height, round(box.bottom / scale)),
            )
            for box in self.inner.detect(small)
        ]


def build_detector(settings: VisionSettings) -> Detector:
    """Return the detector (with its fallbacks, in order) that the settings describe."""
    score = settings.min_detection_score
    primary: Detector
    if settings.detector == "yunet":
        from facegate.vision.detect_yunet import YunetDetector
        from facegate.vision.model_files import yunet_onnx

        primary = YunetDetector(
            yunet_onnx(settings.model_cache_dir),
            settings.yunet_min_score,
            settings.yunet_nms,
            settings.yunet_box_scale,
            settings.yunet_box_shift,
        )
    elif settings.detector == "cnn":
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
    if settings.detect_max_side:
        return DownscalingDetector(primary, settings.detect_max_side)
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
