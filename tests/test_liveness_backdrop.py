"""Backdrop cue: beside a live head the fixed camera sees its own learned scene; beside a held
picture it sees the picture's room, and a camera that moves abstains."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest
from conftest import DATA

from facegate.settings import LivenessSettings
from facegate.stream.attacks import AttackSpec, render_attack, render_lead_in
from facegate.stream.liveness import LivenessTrack
from facegate.stream.scene import SceneSegment, demo_scene
from facegate.vision.liveness.backdrop import Backdrop, hides_backdrop
from facegate.vision.types import FaceBox


def _judged(frames, s: LivenessSettings) -> list[bool | None]:
    """Return the cue on each frame that shows a face at least 40 px wide (its true box)."""
    backdrop, found = Backdrop(s), []
    for frame in frames:
        view = backdrop.observe(frame.image, frame.timestamp)
        box = frame.truth.face_box
        if box is not None and box[2] - box[0] >= 40:
            found.append(hides_backdrop(view, FaceBox(*box, 1.0, "truth"), s))
    return found


def _walk(seed: int, lead_in: float = 1.5, person: str = "Grace Hopper"):
    """Return the demo scene's frames: its empty street for lead_in seconds, then a walker."""
    segments = (SceneSegment("street", lead_in), SceneSegment("walk", 3.0, person))
    return list(demo_scene(segments=segments[1:] if not lead_in else segments, seed=seed))


def _held_picture(seed: int):
    """Return the walk as a picture of the walker in front of a beige wall (3.4 face widths by
    3 face heights of it around the face) held up in front of this street."""
    frames, street = [], _walk(seed)[0].image.astype(int)
    for frame in _walk(seed):
        image, box = frame.image.copy(), frame.truth.face_box
        if box is not None:
            left, top, right, bottom = box
            fw, fh = right - left, bottom - top
            x0, x1 = max(0, int(left - 1.2 * fw)), int(right + 1.2 * fw)
            y0, y1 = max(0, int(top - fh)), int(bottom + fh)
            part = image[y0:y1, x0:x1]
            wall = np.abs(part.astype(int) - street[y0:y1, x0:x1]).max(axis=2) < 14
            part[wall] = (226, 220, 208)
        frames.append(replace(frame, image=image))
    return frames


def test_a_walker_shows_the_scene_beside_the_head_and_a_held_picture_hides_it() -> None:
    """The demo's walker (a head over the learned street) never hides the scene; the same walk
    shown as a picture of the walker in front of a wall hides it in every frame."""
    s = LivenessSettings()
    walker = _judged(_walk(1), s)
    assert len(walker) >= 20 and walker.count(False) == len(walker), walker
    picture = _judged(_held_picture(1), s)
    assert len(picture) >= 20 and picture.count(True) == len(picture), picture


def test_the_cue_abstains_until_the_scene_is_learned() -> None:
    """With no empty scene first (the walker there from the start) nothing is judged for
    backdrop_learn_seconds; then the walker shows the scene; with no learning time, all is."""
    s = LivenessSettings()
    found = _judged(_walk(1, lead_in=0.0), s)
    first = round(s.backdrop_learn_seconds * 15)
    assert len(found) > first and all(x is None for x in found[:first])
    assert all(x is False for x in found[first + 1 :])  # the walker, once the model has learned
    eager = _judged(_walk(1, lead_in=0.0), s.model_copy(update={"backdrop_learn_seconds": 0.0}))
    assert all(x is not None for x in eager)


def _street(shift: int) -> np.ndarray:
    """Return a busy scene (random 8 px tiles), moved shift pixels sideways."""
    tiles = np.random.default_rng(2).integers(30, 220, (45, 80, 3)).astype(np.uint8)
    image = np.kron(tiles, np.ones((8, 8, 1), np.uint8))
    return np.roll(image, shift, axis=1)


def test_a_camera_that_moves_abstains() -> None:
    """A camera panning over a busy scene never matches it as a whole, so no face is judged on
    it; a still
    one is, and a change of exposure within backdrop_max_gain still reads as the scene."""
    s = LivenessSettings()
    box = FaceBox(280, 120, 340, 190, 1.0, "truth")
    panning, still = Backdrop(s), Backdrop(s)
    for index in range(60):
        moved = panning.observe(_street(4 * index), index / 15)
        kept = still.observe(_street(0), index / 15)
    assert moved.unsettled_seconds == float("inf") and hides_backdrop(moved, box, s) is None
    assert kept.unsettled_seconds == 0.0 and hides_backdrop(kept, box, s) is False
    brighter = np.clip(_street(0).astype(np.float32) * 1.2, 0, 255).astype(np.uint8)
    assert hides_backdrop(still.observe(brighter, 4.0), box, s) is False
    assert hides_backdrop(still.observe(255 - _street(0), 4.1), box, s) is True


def test_the_learned_scene_is_a_running_median() -> None:
    """A pixel steps at most backdrop_adapt_levels per second toward each frame: a passer-by
    barely marks the scene, a lasting change is learned."""
    s = LivenessSettings(backdrop_adapt_levels=10.0)
    backdrop = Backdrop(s)
    dark, light = np.full((48, 64, 3), 50, np.uint8), np.full((48, 64, 3), 150, np.uint8)
    for index in range(10):
        backdrop.observe(dark, index / 10)
    view = backdrop.observe(light, 1.0)
    assert float(view.scene.mean()) == pytest.approx(50.0)
    for index in range(11, 40):
        view = backdrop.observe(light, index / 10)
    assert float(view.scene.mean()) == pytest.approx(50.0 + 10.0 * 2.9, abs=0.5)
    restarted = backdrop.observe(light, 0.0)  # time going back: starts over
    assert restarted.age_seconds == 0.0 and float(restarted.scene.mean()) == 150.0


def test_a_track_whose_sides_hide_the_scene_is_a_replay() -> None:
    """A track handed views that hide the scene is refused as a replay; with the cue off it is
    not, and views from a young model are not counted."""
    s = LivenessSettings()
    for enabled in (True, False):
        settings = s.model_copy(update={"backdrop_enabled": enabled})
        track, backdrop = LivenessTrack(settings), Backdrop(settings)
        for frame in _held_picture(3):
            view = backdrop.observe(frame.image, frame.timestamp)
            if frame.truth.face_box is not None:
                box = FaceBox(*frame.truth.face_box, 1.0, "truth")
                track.observe(frame.image, box, np.zeros((5, 2), np.float32), frame.timestamp, view)
        verdict = track.verdict()
        if enabled:
            assert verdict.reason == "replay", verdict
            assert verdict.cues["backdrop_hidden"] >= s.backdrop_hidden_fraction
        else:
            assert verdict.cues["backdrop_judged"] == 0.0


def test_the_lead_in_is_the_attacks_scene_without_the_artifact() -> None:
    """render_lead_in shows the attack's own background (its first frame there, where the
    artifact is not), and leaves the attack's frames exactly as they were."""
    if not (DATA / "video" / "person_talking_720p.mp4").exists():
        pytest.skip("person_talking_720p.mp4 not found (set FACEGATE_DATA)")
    spec = AttackSpec(
        "tablet-l", "tablet_replay", "talker", "still", "textured", 640, 480, 1.0, 10.0, 5,
        1.0, 0.0, 90,
    )  # fmt: skip
    before = [f.image for f in render_attack(spec, DATA)]
    lead = list(render_lead_in(spec, DATA, 0.5))
    after = [f.image for f in render_attack(spec, DATA)]
    assert len(lead) == 5 and all(np.array_equal(a, b) for a, b in zip(before, after, strict=True))
    corner = (slice(0, 20), slice(0, 20))  # outside the tablet
    assert np.abs(lead[0][corner].astype(int) - before[0][corner].astype(int)).mean() < 6
    poster = AttackSpec(**{**spec.__dict__, "name": "wall", "kind": "poster_wall"})
    assert list(render_lead_in(poster, DATA, 0.5)) == []


def test_a_light_switched_on_is_not_a_hidden_scene() -> None:
    """The whole street twice as bright (a light switched on as the walker comes, beyond the
    exposure gain): the walker still shows the scene; the held picture still hides it."""
    s = LivenessSettings()

    def lit(frames):
        lead = round(1.5 * 15)
        brighter = [np.clip(f.image.astype(np.float32) * 2.0, 0, 255) for f in frames[lead:]]
        images = [f.image for f in frames[:lead]] + [b.astype(np.uint8) for b in brighter]
        return [replace(f, image=i) for f, i in zip(frames, images, strict=True)]

    darker = [replace(f, image=(f.image // 2) + 40) for f in _walk(4)]  # a dim street
    walker = _judged(lit(darker), s)
    assert len(walker) >= 20 and walker.count(False) == len(walker), walker
    picture = _judged(lit([replace(f, image=(f.image // 2) + 40) for f in _held_picture(4)]), s)
    assert picture.count(True) >= 0.9 * len(picture), picture


def test_covering_the_view_first_does_not_turn_the_cue_off() -> None:
    """A board waved over most of the view for 10 s (the scene unsettled all along: a moving
    board is never learned), then the picture: still judged, since a frame of the last
    backdrop_settle_seconds matched the scene."""
    s = LivenessSettings()
    backdrop, rng = Backdrop(s), np.random.default_rng(5)
    frames = _held_picture(5)
    for index in range(23):  # the empty street, 1.5 s
        backdrop.observe(frames[index].image, index / 15)
    for index in range(150):  # 10 s of the board over three quarters of the view
        covered = frames[0].image.copy()
        covered[:, 160:] = rng.integers(0, 255, (360, 480, 3))
        view = backdrop.observe(covered, 1.5 + index / 15)
    assert view.unsettled_seconds > 9.0
    found = []
    for frame in frames[23:]:
        view = backdrop.observe(frame.image, 11.5 + frame.timestamp)
        box = frame.truth.face_box
        if box is not None and box[2] - box[0] >= 40:
            found.append(hides_backdrop(view, FaceBox(*box, 1.0, "truth"), s))
    assert found and found.count(True) >= 0.9 * len(found), found
