"""Eye and mouth aspect ratios: a print never blinks and its mouth never moves."""

from __future__ import annotations

import numpy as np

from facegate.vision.liveness.landmarks import INNER_MOUTH, LEFT_EYE, RIGHT_EYE


def _eye_aspect(eye: np.ndarray) -> float:
    """Return one eye's aspect ratio (height over width) from its six points."""
    width = float(np.linalg.norm(eye[3] - eye[0])) or 1.0
    height = float(np.linalg.norm(eye[1] - eye[5]) + np.linalg.norm(eye[2] - eye[4])) / 2
    return height / width


def eye_aspect(points: np.ndarray) -> float:
    """Return the mean eye aspect ratio of both eyes (about 0.3 open, under 0.15 closed)."""
    return (_eye_aspect(points[list(LEFT_EYE)]) + _eye_aspect(points[list(RIGHT_EYE)])) / 2


def mouth_aspect(points: np.ndarray) -> float:
    """Return the inner mouth's opening over its width (0 closed)."""
    mouth = points[list(INNER_MOUTH)]
    width = float(np.linalg.norm(mouth[4] - mouth[0])) or 1.0
    return float(np.linalg.norm(mouth[2] - mouth[6])) / width


def blink_depth(ratios: list[float]) -> float:
    """Return how far the eye aspect dipped below its typical value, as a fraction of it."""
    if len(ratios) < 3:
        return 0.0
    values = np.asarray(ratios, np.float64)
    typical = float(np.percentile(values, 75)) or 1.0
    return float((typical - values.min()) / typical)


def mouth_motion(ratios: list[float]) -> float:
    """Return the range (10th to 90th percentile) of the mouth aspect over a track."""
    if len(ratios) < 3:
        return 0.0
    values = np.asarray(ratios, np.float64)
    return float(np.percentile(values, 90) - np.percentile(values, 10))
