"""YuNet (OpenCV's FaceDetectorYN, MIT): a small CNN face detector with 5 landmarks.

Its boxes run from the forehead to the chin; dlib's 5-point predictor was made for HOG's
squarer, tighter boxes, so each box is mapped to a dlib-like square (side = box_scale x the
YuNet width, centre shifted down by box_shift x the height; fitted on LFW, see
docs/architecture.md) before alignment. cv2's detector object keeps per-call state, so each
thread gets its own.
"""

from __future__ import annotations

import threading
from pathlib import Path

import cv2
import numpy as np

from facegate.vision.types import FaceBox


class YunetDetector:
    """YuNet on OpenCV's DNN module; one detector object per thread, boxes mapped dlib-like."""

    def __init__(
        self,
        model: Path,
        min_score: float = 0.6,
        nms: float = 0.3,
        box_scale: float = 1.14,
        box_shift: float = 0.04,
    ) -> None:
        self.model = model
        self.min_score = min_score
        self.nms = nms
        self.box_scale = box_scale
        self.box_shift = box_shift
        self.name = "yunet"
        self._local = threading.local()

    def _detector(self, width: int, height: int) -> cv2.FaceDetectorYN:
        """Return this thread's detector, set to the image size."""
        detector = getattr(self._local, "detector", None)
        if detector is None:
            # OpenCV 5 warns on stderr that its new graph engine ignores the target it sets
            level = cv2.utils.logging.getLogLevel()
            cv2.utils.logging.setLogLevel(cv2.utils.logging.LOG_LEVEL_ERROR)
            try:
                detector = cv2.FaceDetectorYN.create(
                    str(self.model), "", (width, height), self.min_score, self.nms, 5000
                )
            finally:
                cv2.utils.logging.setLogLevel(level)
            self._local.detector = detector
        detector.setInputSize((width, height))
        return detector

    def raw(self, image: np.ndarray) -> np.ndarray:
        """Return YuNet's rows (x, y, w, h, 5 landmark points, score) for an RGB image."""
        height, width = image.shape[:2]
        bgr = cv2.cvtColor(np.ascontiguousarray(image), cv2.COLOR_RGB2BGR)
        _, faces = self._detector(width, height).detect(bgr)
        return np.zeros((0, 15), np.float32) if faces is None else faces

    def detect(self, image: np.ndarray) -> list[FaceBox]:
        """Return the faces found as dlib-like square boxes clipped to the image, best first."""
        height, width = image.shape[:2]
        boxes = []
        for x, y, w, h, *_, score in self.raw(image):
            side = self.box_scale * w
            cx, cy = x + w / 2, y + h / 2 + self.box_shift * h
            box = FaceBox(
                left=max(0, round(cx - side / 2)),
                top=max(0, round(cy - side / 2)),
                right=min(width, round(cx + side / 2)),
                bottom=min(height, round(cy + side / 2)),
                score=float(score),
                detector=self.name,
            )
            if box.width > 1 and box.height > 1:
                boxes.append(box)
        return sorted(boxes, key=lambda b: -b.score)
