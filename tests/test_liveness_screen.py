"""The screen-sides cue: a held artifact's long sides run past the chin; a scene's edges behind a
person stop where the shoulders hide them."""

from __future__ import annotations

import cv2
import numpy as np
import pytest
from conftest import DATA

from facegate.settings import LivenessSettings
from facegate.stream.attacks import AttackSpec, render_attack
from facegate.stream.liveness import LivenessTrack
from facegate.vision.liveness.rectangle import region_lines
from facegate.vision.liveness.screen import screen_sides
from facegate.vision.types import FaceBox

FACE = FaceBox(170, 100, 230, 160, 1.0, "test")  # 60 px wide; its chin at y = 160


def _scene(side_bottom: int, gap_every: int = 0, seed: int = 0) -> np.ndarray:
    """Return a grey scene with a face and two dark vertical bands beside it (x 125-135 and
    265-275) from y = 40 down to side_bottom; gap_every > 0 breaks them every that many px."""
    rng = np.random.default_rng(seed)
    image = np.full((400, 400, 3), 150, np.uint8)
    image[:, :] += rng.integers(0, 6, (400, 400, 1), dtype=np.uint8)
    cv2.ellipse(image, (200, 130), (28, 34), 0, 0, 360, (200, 160, 140), -1)
    for x0 in (125, 265):
        image[40:side_bottom, x0 : x0 + 10] = (20, 20, 24)
        if gap_every:
            for y in range(40 + gap_every, side_bottom, gap_every):
                image[y : y + 8, x0 : x0 + 10] = 150  # the edge detector sees pieces
    return image


def _sides(image: np.ndarray, s: LivenessSettings | None = None):
    """Return the screen sides the cue finds around FACE."""
    s = s or LivenessSettings()
    lines = region_lines(image, FACE, s)
    assert lines is not None
    return screen_sides(lines, s)


def test_a_phones_sides_running_past_the_chin_are_found() -> None:
    """Two long sides beside the face, unbroken from above it to far below the chin."""
    found = _sides(_scene(330))
    assert found is not None
    assert 0.3 < found.left < 1.0 and 0.3 < found.right < 1.0
    assert found.reach_below >= LivenessSettings().screen_reach_below


def test_edges_hidden_below_the_chin_by_shoulders_are_not_a_screen() -> None:
    """A door frame behind a person: its edges stop just under the chin (the shoulders)."""
    assert _sides(_scene(175)) is None


def test_broken_sides_are_joined() -> None:
    """A dark bezel against dark hair breaks the edge into pieces; they are one side."""
    assert _sides(_scene(330, gap_every=60)) is not None
    joined_off = LivenessSettings(screen_join_gap=0.0)
    assert _sides(_scene(330, gap_every=60), joined_off) is None


def test_sides_beyond_the_shoulders_or_a_view_ending_at_the_chin_tell_nothing() -> None:
    """Sides farther out than screen_max_margin, or a view cut before the reach, are no cue."""
    assert _sides(_scene(330), LivenessSettings(screen_max_margin=0.3)) is None
    cropped = _scene(330)[:185]
    assert _sides(cropped) is None


def test_a_track_between_a_phones_sides_is_a_replay() -> None:
    """Over a track the cue refuses it as a replay; without the sides it is no replay."""
    for bottom, replay in ((330, True), (175, False)):
        track = LivenessTrack(LivenessSettings())
        for index in range(8):
            image = _scene(bottom, seed=index)
            track.observe(image, FACE, np.zeros((5, 2), np.float32), index / 15)
        verdict = track.verdict()
        assert (verdict.reason == "replay") is replay, verdict
        assert verdict.cues["screen_sides"] == (1.0 if replay else 0.0)


def test_the_tablet_replay_shows_the_talkers_whole_frame_on_a_tablet() -> None:
    """The generator's tablet_replay plays the talker's 16:9 frame inside a thin bezel: the
    frames have the spec's size, her face box is 16-26 % of the frame high, and the tablet's
    sides lie far beyond the phone's (past screen_max_margin)."""
    if not (DATA / "video" / "person_talking_720p.mp4").exists():
        pytest.skip("person_talking_720p.mp4 not found (set FACEGATE_DATA)")
    spec = AttackSpec(
        "tablet-t", "tablet_replay", "talker", "still", "flat", 1280, 720, 1.0, 10.0, 3,
        1.0, 0.0, 90,
    )  # fmt: skip
    frames = list(render_attack(spec, DATA))
    assert len(frames) == 10 and all(f.image.shape == (720, 1280, 3) for f in frames)
    left, top, right, bottom = frames[0].face_box
    assert 0.14 * 720 <= bottom - top <= 0.36 * 720  # the clip's face box is 110 x 90 px
    grey = cv2.cvtColor(frames[0].image, cv2.COLOR_RGB2GRAY)
    row = grey[(top + bottom) // 2].astype(int)
    background = int(np.median(row[:20]))
    inside = np.nonzero(np.abs(row - background) > 25)[0]  # the tablet's span on that row
    assert (left - inside.min()) / (right - left) > LivenessSettings().screen_max_margin


def _barely_moving_track(settings: LivenessSettings) -> LivenessTrack:
    """Return a track whose face moved 0.3 px per pair (a held print's tremor) while its
    68-point fit read a nose parallax twice the bar, with no blink and no mouth motion."""
    track = LivenessTrack(settings)
    frames = 8
    track.rectangles, track.screens = [None] * frames, [None] * frames
    track.face_motions = [0.3] * (frames - 1)
    track.residuals = [2 * settings.parallax_min] * 4
    track.eyes, track.mouths = [0.3] * frames, [0.2] * frames
    return track


def test_parallax_on_a_face_that_barely_moved_is_no_sign_of_life() -> None:
    """A frame-filling print held still: the landmark fit's jitter reads as parallax, but the
    face's own points hardly moved, so it is not a sign of life; on a moving head it is."""
    verdict = _barely_moving_track(LivenessSettings()).verdict()
    assert not verdict.live and verdict.reason == "no_sign_of_life", verdict
    assert verdict.needs is not None  # asked to turn the head, which a print cannot
    counted = _barely_moving_track(LivenessSettings(parallax_min_motion=0.2)).verdict()
    assert counted.live, counted
