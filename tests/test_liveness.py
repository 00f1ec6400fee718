"""Multi-frame liveness: walkers pass, a replayed photo on a phone is rejected."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

from facegate.stream.liveness import LivenessTrack, find_rectangle
from facegate.stream.scene import DEFAULT_HEIGHT, DEFAULT_WIDTH, SceneSegment, demo_scene
from facegate.vision.align import align_face
from facegate.vision.detect import HogDetector
from facegate.vision.types import FaceBox


def _truth_box(box: tuple[int, int, int, int]) -> FaceBox:
    """Return a scene ground-truth box clipped to the frame as a FaceBox."""
    left, top, right, bottom = box
    return FaceBox(
        max(0, left), max(0, top), min(DEFAULT_WIDTH, right), min(DEFAULT_HEIGHT, bottom), 1.0, "gt"
    )


def _track(kind: str, person: str, seed: int = 0) -> LivenessTrack:
    """Return a liveness track fed with every frame of one scene segment."""
    track = LivenessTrack()
    for frame in demo_scene(segments=(SceneSegment(kind, 3.0, person),), seed=seed):
        assert frame.truth.face_box is not None
        box = _truth_box(frame.truth.face_box)
        _, landmarks = align_face(frame.image, box)
        track.observe(frame.image, box, landmarks, frame.timestamp)
    return track


@pytest.mark.parametrize("person", ["Eileen Collins", "Grace Hopper"])
def test_walk_is_live(person: str) -> None:
    """A walker composited into the street has no rigid frame around the face."""
    result = _track("walk", person).verdict()
    assert result.live
    assert result.frames == 45
    assert result.score > 0.5
    assert set(result.cues) >= {"rect_present", "rect_spread", "landmark_affine_residual"}


@pytest.mark.parametrize(("person", "seed"), [("Eileen Collins", 0), ("Grace Hopper", 1)])
def test_replay_is_rejected(person: str, seed: int) -> None:
    """A photo on a phone, moved and zoomed, is framed by a rigid rectangle: not live."""
    result = _track("replay", person, seed).verdict()
    assert not result.live
    assert result.score < 0.5
    assert result.cues["rect_present"] >= 0.6


def test_few_frames_never_reject() -> None:
    """A verdict needs several frames; one framed frame alone is not enough."""
    frame = next(demo_scene(segments=(SceneSegment("replay", 1.0, "Eileen Collins"),)))
    assert frame.truth.face_box is not None
    box = _truth_box(frame.truth.face_box)
    assert find_rectangle(frame.image, box) is not None
    track = LivenessTrack()
    track.observe(frame.image, box, np.zeros((5, 2), np.float32), 0.0)
    assert track.verdict().live


def test_blank_and_tiny_regions() -> None:
    """A flat image or a degenerate box yields no rectangle."""
    image = np.full((120, 160, 3), 128, np.uint8)
    assert find_rectangle(image, FaceBox(60, 40, 100, 80, 1.0, "t")) is None
    assert find_rectangle(image, FaceBox(0, 0, 2, 2, 1.0, "t")) is None


def test_crowd_faces_not_replay(crowd_video: Path) -> None:
    """Real faces detected in the crowd video are not flagged as framed pictures."""
    capture = cv2.VideoCapture(str(crowd_video))
    detector = HogDetector(upsample=1)
    framed = checked = 0
    for index in range(0, 40):
        ok, bgr = capture.read()
        if not ok:
            break
        if index % 4:
            continue
        scale = 960 / bgr.shape[1]
        small = cv2.resize(bgr, (960, round(bgr.shape[0] * scale)), interpolation=cv2.INTER_AREA)
        rgb = cv2.cvtColor(small, cv2.COLOR_BGR2RGB)
        for box in detector.detect(rgb):
            checked += 1
            framed += find_rectangle(rgb, box) is not None
    capture.release()
    if not checked:
        pytest.skip("no faces detected in the crowd video")
    assert framed / checked < 0.6
