"""Liveness cues on sequences of known motion, and LivenessTrack verdicts on generated footage."""

from __future__ import annotations

import math
from pathlib import Path

import cv2
import numpy as np
import pytest

from facegate.settings import LivenessSettings
from facegate.stream.attacks import AttackSpec, render_attack
from facegate.stream.head_model import head_depth
from facegate.stream.liveness import TURN_HEAD, TURNS, LivenessTrack, _ring_params
from facegate.stream.scene import (
    DEFAULT_HEIGHT,
    DEFAULT_WIDTH,
    FACE_IN_CROP,
    SceneSegment,
    demo_scene,
    head_crop,
)
from facegate.vision.liveness.blink import blink_depth, eye_aspect, mouth_aspect, mouth_motion
from facegate.vision.liveness.landmarks import face_size, landmarks_68
from facegate.vision.liveness.motion import ring_motion
from facegate.vision.liveness.planarity import nose_parallax, pose_change
from facegate.vision.liveness.rectangle import find_rectangle
from facegate.vision.types import FaceBox

SETTINGS = LivenessSettings()
PERSON = "Eileen Collins"


def _box(box: tuple[int, int, int, int], width: int, height: int) -> FaceBox:
    """Return a ground-truth box clipped to the frame as a FaceBox."""
    left, top, right, bottom = box
    return FaceBox(max(0, left), max(0, top), min(width, right), min(height, bottom), 1.0, "gt")


def _face_points() -> tuple[np.ndarray, np.ndarray]:
    """Return the 68 landmarks of the demo head crop and each point's depth on the head model."""
    crop = head_crop(PERSON)
    h, w = crop.shape[:2]
    fl, ft, fr, fb = FACE_IN_CROP[PERSON]
    face = (fl * w, ft * h, fr * w, fb * h)
    box = FaceBox(round(face[0]), round(face[1]), round(face[2]), round(face[3]), 1.0, "gt")
    points = landmarks_68(np.ascontiguousarray(crop), box)
    depth = head_depth((h, w), face)
    rows = np.clip(points[:, 1].astype(int), 0, h - 1)
    cols = np.clip(points[:, 0].astype(int), 0, w - 1)
    return points, depth[rows, cols]


def _rotate(points: np.ndarray, depth: np.ndarray, yaw_deg: float) -> np.ndarray:
    """Return 3-D points (x, y, depth toward the camera) turned by yaw and projected (pinhole)."""
    centre = points.mean(0)
    xyz = np.c_[points - centre, -depth]  # camera looks along +z; nearer points have smaller z
    yaw = math.radians(yaw_deg)
    rot = np.array(
        [[math.cos(yaw), 0, math.sin(yaw)], [0, 1, 0], [-math.sin(yaw), 0, math.cos(yaw)]]
    )
    turned = xyz @ rot.T
    focal, distance = 800.0, 600.0
    return (turned[:, :2] * focal / (distance + turned[:, 2:3]) + centre).astype(np.float32)


def test_planar_landmarks_show_no_parallax() -> None:
    """Landmarks on a plane moved by known homographies: the nose stays on the outline's plane."""
    points, _ = _face_points()
    rng = np.random.default_rng(0)
    for _ in range(5):
        src = np.float32([[0, 0], [200, 0], [200, 200], [0, 200]])
        dst = src + rng.uniform(-25, 25, src.shape).astype(np.float32)
        matrix = cv2.getPerspectiveTransform(src, dst)
        warped = cv2.perspectiveTransform(points.reshape(-1, 1, 2), matrix).reshape(-1, 2)
        assert pose_change(points, warped) > 0.0
        assert nose_parallax(points, warped) < 1e-3


def test_turning_head_shows_parallax() -> None:
    """A head model with depth, turned by 10 degrees: the nose leaves the outline's homography."""
    points, depth = _face_points()
    turned = _rotate(points, depth, 10.0)
    flat = _rotate(points, np.zeros_like(depth), 10.0)
    assert nose_parallax(points, turned) > 2 * SETTINGS.parallax_min
    assert nose_parallax(points, flat) < 1e-3
    assert pose_change(points, turned) >= SETTINGS.planar_min_pose


def test_eye_and_mouth_aspect() -> None:
    """Open eyes measure about 0.3, closed ones near 0; a blink is a dip, a print has none."""
    points, _ = _face_points()
    closed = points.copy()
    for upper, lower in ((37, 41), (38, 40), (43, 47), (44, 46)):
        middle = (points[upper] + points[lower]) / 2
        closed[upper] = closed[lower] = middle
    assert eye_aspect(points) > 0.15
    assert eye_aspect(closed) < 0.02
    assert blink_depth([eye_aspect(points)] * 8 + [eye_aspect(closed)]) > SETTINGS.blink_min
    assert blink_depth([eye_aspect(points)] * 9) == 0.0
    opened = points.copy()
    opened[66:68, 1] += 0.3 * face_size(points)
    opened[65, 1] += 0.3 * face_size(points)
    assert mouth_aspect(opened) > mouth_aspect(points)
    series = [mouth_aspect(points), mouth_aspect(opened)] * 4
    assert mouth_motion(series) > SETTINGS.mouth_min
    assert mouth_motion([mouth_aspect(points)] * 8) == 0.0


def _textured(height: int, width: int, seed: int) -> np.ndarray:
    """Return a grey texture with plenty of corners."""
    rng = np.random.default_rng(seed)
    coarse = rng.uniform(0, 255, (height // 6, width // 6)).astype(np.float32)
    return cv2.resize(coarse, (width, height), interpolation=cv2.INTER_NEAREST).astype(np.uint8)


def test_ring_follows_a_held_picture() -> None:
    """A textured picture shifted as a whole carries the strips beside the face with the face."""
    scene = _textured(400, 600, 1)
    box = FaceBox(260, 150, 340, 250, 1.0, "gt")
    moved = cv2.warpAffine(scene, np.float32([[1, 0, 4], [0, 1, 2]]), (600, 400))
    motion = ring_motion(scene, moved, box, _ring_params(SETTINGS))
    assert motion is not None and motion.telling > 10
    assert motion.followed / motion.telling > 0.9


def test_ring_still_behind_a_moving_face() -> None:
    """A face moving in front of a still background leaves the strips behind."""
    background = _textured(400, 600, 2)
    face = _textured(120, 100, 3)
    before, after = background.copy(), background.copy()
    before[150:250, 260:340] = face[:100, :80]
    after[152:252, 264:344] = face[:100, :80]
    box = FaceBox(262, 151, 342, 251, 1.0, "gt")
    motion = ring_motion(before, after, box, _ring_params(SETTINGS))
    assert motion is not None and motion.telling > 10
    assert motion.followed / motion.telling < 0.1


def _walk_track(seconds: float = 3.0) -> LivenessTrack:
    """Return a liveness track fed with a demo walker (the head model turning while walking)."""
    track = LivenessTrack(SETTINGS)
    for frame in demo_scene(segments=(SceneSegment("walk", seconds, PERSON),), seed=0):
        assert frame.truth.face_box is not None
        box = _box(frame.truth.face_box, DEFAULT_WIDTH, DEFAULT_HEIGHT)
        if box.width >= 40:
            track.observe(frame.image, box, np.zeros((5, 2), np.float32), frame.timestamp)
    return track


def test_walker_is_live() -> None:
    """A demo walker (a head turning in depth) moves off a plane and shows parallax: live."""
    result = _walk_track().verdict()
    assert result.live, result.cues
    assert result.cues["parallax"] >= SETTINGS.parallax_min
    assert result.cues["face_flow_residual"] >= SETTINGS.flow_min
    assert result.score >= 0.5


def test_asked_turn_is_seen() -> None:
    """After a prompt only a head turn counts: the turning walker passes, a swayed print not."""
    walker = _walk_track()
    asked = LivenessTrack(SETTINGS, asked=TURN_HEAD)
    asked.residuals, asked.face_residuals = walker.residuals, walker.face_residuals
    asked.rectangles, asked.eyes, asked.mouths = walker.rectangles, walker.eyes, walker.mouths
    assert asked.verdict().live, asked.verdict().cues
    printed = _attack_track("print_borderless", "sway", asked=TURN_HEAD).verdict()
    assert not printed.live and printed.reason in ("replay", "turn_not_seen")


def _attack_track(kind: str, motion: str, seed: int = 3, asked: str | None = None) -> LivenessTrack:
    """Return a liveness track fed with a generated attack (ground-truth face boxes)."""
    spec = AttackSpec(
        f"{kind}-test", kind, PERSON, motion, "textured", 640, 480, 2.0, 15.0, seed, 2.0, 0.5, 85
    )
    track = LivenessTrack(SETTINGS, asked=asked)
    for frame in render_attack(spec, Path("/nonexistent")):
        box = _box(frame.face_box, spec.width, spec.height)
        track.observe(frame.image, box, np.zeros((5, 2), np.float32), frame.timestamp)
    return track


@pytest.mark.parametrize(
    ("kind", "motion"), [("phone_bezel", "sway"), ("print_mat", "approach"), ("cutout", "sway")]
)
def test_generated_attacks_are_not_live(kind: str, motion: str) -> None:
    """Prints and screens moved in front of the camera are refused; none passes as live."""
    result = _attack_track(kind, motion).verdict()
    assert not result.live, result.cues
    assert result.reason in ("replay", "planar", "no_sign_of_life")


def test_still_print_is_asked_to_turn() -> None:
    """A print held still shows nothing either way: the verdict asks for a head turn."""
    result = _attack_track("print_borderless", "still").verdict()
    assert not result.live
    assert result.needs == TURN_HEAD
    assert result.prompt == SETTINGS.prompt_turn_head


def test_levels() -> None:
    """The walker (flow off the plane and parallax: two signs) passes low and standard, and at
    high is first asked to turn to a side (the challenge); a cut-out print held with a
    trembling hand moves as one plane and is refused at every level."""
    walker, cutout = _walk_track(), _attack_track("cutout", "still")
    for source, live in ((walker, True), (cutout, False)):
        for level in ("low", "standard", "high"):
            copy = LivenessTrack(SETTINGS.model_copy(update={"level": level}))
            copy.rectangles, copy.residuals = source.rectangles, source.residuals
            copy.eyes, copy.mouths = source.eyes, source.mouths
            copy.face_residuals = source.face_residuals
            copy.telling, copy.followed = source.telling, source.followed
            verdict = copy.verdict()
            if level == "high":
                assert not verdict.live and verdict.reason == "challenge", verdict.cues
                assert verdict.needs in TURNS and verdict.needs == copy.challenge
                continue
            assert verdict.live == live, (level, verdict.cues)
            assert live or verdict.reason == "planar"
    still = LivenessTrack(SETTINGS.model_copy(update={"level": "low"}))
    still.rectangles, still.eyes, still.mouths = cutout.rectangles, cutout.eyes, cutout.mouths
    assert still.verdict().live  # low: no replay cue and no plane seen (no flow measured) = live


def test_few_frames_never_live() -> None:
    """A verdict needs min_frames frames: one frame alone is neither live nor a replay."""
    frame = next(demo_scene(segments=(SceneSegment("walk", 1.0, PERSON),)))
    assert frame.truth.face_box is not None
    track = LivenessTrack(SETTINGS)
    box = _box(frame.truth.face_box, DEFAULT_WIDTH, DEFAULT_HEIGHT)
    track.observe(frame.image, box, np.zeros((5, 2), np.float32), 0.0)
    result = track.verdict()
    assert not result.live and result.reason == "too_few_frames" and result.needs is None


def test_blank_and_tiny_regions() -> None:
    """A flat image or a degenerate box yields no rectangle and no ring motion."""
    image = np.full((120, 160, 3), 128, np.uint8)
    assert find_rectangle(image, FaceBox(60, 40, 100, 80, 1.0, "t")) is None
    assert find_rectangle(image, FaceBox(0, 0, 2, 2, 1.0, "t")) is None
    gray = image[..., 0]
    assert (
        ring_motion(gray, gray, FaceBox(60, 40, 100, 80, 1.0, "t"), _ring_params(SETTINGS)) is None
    )


def test_a_still_photo_moves_only_by_its_tracking_noise() -> None:
    """Face motion on known motion: a textured photo that stays put under fresh camera noise
    and JPEG each frame moves less than frozen_max_px; shifted by one pixel it moves more."""
    rng = np.random.default_rng(5)
    scene = _textured(400, 600, 4)
    box = FaceBox(260, 150, 340, 250, 1.0, "gt")

    def camera(image: np.ndarray) -> np.ndarray:
        noisy = np.clip(image + rng.normal(0.0, 3.0, image.shape), 0, 255).astype(np.uint8)
        ok, jpeg = cv2.imencode(".jpg", noisy, [cv2.IMWRITE_JPEG_QUALITY, 70])
        assert ok
        return cv2.imdecode(jpeg, cv2.IMREAD_GRAYSCALE)

    params = _ring_params(SETTINGS)
    for _ in range(3):
        still = ring_motion(camera(scene), camera(scene), box, params)
        assert still is not None and still.face_motion < SETTINGS.frozen_max_px
    shifted = cv2.warpAffine(scene, np.float32([[1, 0, 1], [0, 1, 0]]), (600, 400))
    moved = ring_motion(camera(scene), camera(shifted), box, params)
    assert moved is not None and moved.face_motion > 2 * SETTINGS.frozen_max_px


def test_a_poster_is_frozen_at_every_level() -> None:
    """A poster fixed on a wall never moves: whatever its landmarks jitter, it is not live at
    any level, and it is refused outright: neither prompted nor challenged to turn."""
    poster = _attack_track("poster_wall", "fixed")
    assert 0.0 <= poster.moved() < SETTINGS.frozen_max_px
    for level in ("low", "standard", "high"):
        copy = LivenessTrack(SETTINGS.model_copy(update={"level": level}))
        copy.rectangles = [None] * len(poster.rectangles)  # the frozen cue alone
        copy.residuals = poster.residuals
        copy.eyes, copy.mouths, copy.face_motions = poster.eyes, poster.mouths, poster.face_motions
        copy.eyes = [*copy.eyes, 0.0]  # even a deep "blink" of the landmark fit does not count
        verdict = copy.verdict()
        assert not verdict.live and verdict.reason == "frozen", (level, verdict.cues)
        assert verdict.needs is None and verdict.prompt is None
    walker = _walk_track()
    assert walker.moved() > 2 * SETTINGS.frozen_max_px and walker.verdict().live
