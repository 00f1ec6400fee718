"""Head pose from landmarks: pure array code."""

from __future__ import annotations

import math

import numpy as np

# dlib's 5-point landmarks, in dlib's order (checked on LFW Colin_Powell_0001, x = 150, 136, 100,
# 115, 131): 0 outer and 1 inner corner of the eye on the image's right (the subject's left
# eye), 2 outer and 3 inner corner of the eye on the image's left, 4 the base of the nose.
IMAGE_RIGHT_EYE = (0, 1)
IMAGE_LEFT_EYE = (2, 3)
NOSE = 4

# NOSE_DEPTH_RATIO = nose base depth in front of the eye centres / half the eye distance, about
# 22 mm / 31 mm on an average adult face.
NOSE_DEPTH_RATIO = 0.7


def estimate_yaw(landmarks: np.ndarray) -> float:
    """Return the approximate yaw in degrees from 5 landmarks (0 = frontal, + = nose to right).

    The nose base's offset from the midpoint of the eye centres is measured along the eye axis
    (so in-plane roll does not count), in half eye distances, then turned into an angle with a
    simple head model: offset = NOSE_DEPTH_RATIO * tan(yaw). A rough angle, good for ranking
    frames: a mirrored face gives the opposite sign.
    """
    points = np.asarray(landmarks, dtype=np.float64)
    right = points[list(IMAGE_RIGHT_EYE)].mean(axis=0)
    left = points[list(IMAGE_LEFT_EYE)].mean(axis=0)
    axis = right - left
    half_sq = float(axis @ axis) / 2
    if half_sq < 1e-9:
        return 90.0
    offset = float((points[NOSE] - (right + left) / 2) @ axis) / half_sq
    return math.degrees(math.atan(offset / NOSE_DEPTH_RATIO))
