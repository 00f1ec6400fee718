"""The turn challenge: its side read from the landmarks, a head answering it, a recording not."""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
import pytest

from facegate.settings import LivenessSettings, Settings
from facegate.stream.challenge import Exchange
from facegate.stream.head_model import turn_head
from facegate.stream.liveness import TURN_LEFT, TURN_RIGHT, TURNS, LivenessTrack, turn_prompt
from facegate.stream.lockout import Lockout
from facegate.stream.loop import loop_pipeline
from facegate.stream.scene import FACE_IN_CROP, head_crop
from facegate.stream.turn_scene import answering_head
from facegate.vision.liveness.landmarks import landmarks_68
from facegate.vision.liveness.turn import turn_excursion, yaw_offset
from facegate.vision.types import Detector

PERSON = "Eileen Collins"
CHALLENGE = LivenessSettings(challenge_always=True)


@pytest.fixture(scope="module")
def detector() -> Detector:
    """Return the loop's face detector."""
    return loop_pipeline(Settings()).detector


def _track(
    detector: Detector,
    frames: Iterable[tuple[float, np.ndarray]],
    settings: LivenessSettings,
    asked: str | None,
) -> LivenessTrack:
    """Return a LivenessTrack that observed the largest detected face of each frame."""
    track = LivenessTrack(settings, asked=asked)
    for timestamp, image in frames:
        boxes = detector.detect(image)
        if boxes:
            track.observe(image, max(boxes, key=lambda b: b.area), np.zeros((5, 2)), timestamp)
    return track


@pytest.mark.parametrize("person", ["Eileen Collins", "Grace Hopper"])
def test_yaw_offset_follows_the_turn_of_a_head_model(detector: Detector, person: str) -> None:
    """The nose tip swings toward the side the head turns to (image right = positive)."""
    crop = np.array(head_crop(person))
    h, w = crop.shape[:2]
    fl, ft, fr, fb = FACE_IN_CROP[person]
    offsets = {}
    for yaw in (-25, 0, 25):
        image = np.ascontiguousarray(turn_head(crop, (fl * w, ft * h, fr * w, fb * h), yaw))
        (box,) = detector.detect(image)
        offsets[yaw] = yaw_offset(landmarks_68(image, box))
    assert offsets[25] - offsets[0] > 0.035 and offsets[0] - offsets[-25] > 0.035, offsets


def test_turn_excursion_counts_only_after_the_reaction_time() -> None:
    """Excursions are taken from the median before the reaction time, toward the sign and away
    from it, on the later frames only: a turn already under way in the first half second (as a
    recording's may be) does not count."""
    times = [0.0, 0.2, 0.4, 0.6, 0.8, 1.0, 1.2]
    offsets = [0.01, -0.01, 0.0, 0.02, 0.07, 0.05, -0.01]
    assert turn_excursion(times, offsets, 1, 0.5) == pytest.approx((0.07, 0.01))
    assert turn_excursion(times, offsets, -1, 0.5) == pytest.approx((0.01, 0.07))
    assert turn_excursion(times[:3], offsets[:3], 1, 0.5) == (0.0, 0.0)
    early = [0.0, 0.06, 0.08, 0.08, 0.08, 0.08, 0.08]
    assert turn_excursion(times, early, 1, 0.5)[0] == pytest.approx(0.02)


@pytest.mark.parametrize("side", TURNS)
def test_a_head_turning_to_the_asked_side_answers_and_the_other_side_does_not(
    detector: Detector, side: str
) -> None:
    """Asked a side, a head turning that way is live; turning the other way or not at all is
    refused with a new prompt (turn_not_seen)."""
    sign = 1 if side == TURN_LEFT else -1
    settings = LivenessSettings()
    # The head model's turn to the image's right leaves the plane less (its face flow is 0.5-0.7
    # against 0.7-2 the other way, near flow_planar_max 0.55): a strong turn, a seed that clears it.
    turning = list(answering_head(PERSON, sign, yaw_deg=35.0, seed=1))
    right = _track(detector, turning, settings, side)
    assert right.verdict().live, right.verdict().cues
    other = TURN_RIGHT if side == TURN_LEFT else TURN_LEFT
    wrong = _track(detector, turning, settings, other)
    still = _track(detector, answering_head(PERSON, 0), settings, side)
    for track in (wrong, still):
        verdict = track.verdict()
        assert not verdict.live and verdict.reason == "turn_not_seen", verdict.cues
        assert verdict.needs in TURNS and verdict.prompt == turn_prompt(verdict.needs, settings)
    mirrored = LivenessSettings(challenge_mirrored=True)
    assert (
        LivenessTrack(mirrored, yaws=right.yaws, times=right.times).turned(other)
        == right.turned(side)
        > 1.0
    )


def test_challenge_always_asks_a_random_side_at_once(detector: Detector) -> None:
    """Under challenge_always a first attempt, however lively, is asked a side and not kept
    waiting; the sides asked vary between tracks."""
    track = _track(detector, answering_head(PERSON, 0, seconds=1.0), CHALLENGE, None)
    verdict = track.verdict()
    assert not verdict.live and verdict.reason == "challenge"
    assert verdict.needs == track.challenge and verdict.prompt == turn_prompt(
        track.challenge, CHALLENGE
    )
    assert not track.pending(1.0)
    assert {LivenessTrack(CHALLENGE).challenge for _ in range(64)} == set(TURNS)


def test_an_answer_needs_the_face_to_leave_its_plane() -> None:
    """The nose's swing alone is no answer: a still picture's landmarks jitter, a turning head
    also moves its face points off one plane (face flow); a flat turn is refused too."""
    turn = {
        "yaws": [0.0, 0.0, 0.0, 0.05, 0.08, 0.08],
        "times": [0.0, 0.2, 0.4, 0.6, 0.8, 1.0],
        "rectangles": [None] * 6,
    }
    for residuals, live in (([], False), ([0.2, 0.3], False), ([0.9, 1.2], True)):
        track = LivenessTrack(LivenessSettings(), asked=TURN_LEFT, face_residuals=residuals, **turn)
        verdict = track.verdict()
        assert verdict.live is live, (residuals, verdict.cues)
        assert live or verdict.reason == "turn_not_seen"


def test_a_wrong_side_fails_and_is_not_asked_again_after_max_asks(detector: Detector) -> None:
    """A head turning to the other side fails the answer: asked again (a new side) while
    challenge_max_asks allows, then challenge_failed, not live and not asked again; a failed
    answer is only decided when challenge_seconds are up."""
    settings = LivenessSettings(challenge_max_asks=2)
    turning = list(answering_head(PERSON, -1, yaw_deg=35.0, seed=1))  # to the person's right
    first = _track(detector, turning, settings, TURN_LEFT).verdict()
    assert not first.live and first.reason == "turn_not_seen" and first.needs in TURNS
    assert first.exchange == Exchange(passed=0, failed=1)
    second = LivenessTrack(settings, asked=TURN_LEFT, exchange=first.exchange)
    for timestamp, image in turning:
        boxes = detector.detect(image)
        second.observe(image, max(boxes, key=lambda b: b.area), np.zeros((5, 2)), timestamp)
    assert second.pending(turning[-1][0])  # 3 s not yet up: the person may still turn
    assert not second.pending(settings.challenge_seconds)
    verdict = second.verdict()
    assert not verdict.live and verdict.reason == "challenge_failed", verdict.cues
    assert verdict.needs is None and verdict.prompt is None
    assert verdict.cues["failed_answers"] == 2
    once = LivenessSettings(challenge_max_asks=1)
    assert LivenessTrack(once, asked=TURN_LEFT, **_fields(second)).verdict().reason == (
        "challenge_failed"
    )


def _fields(track: LivenessTrack) -> dict:
    """Return the observed cue series of a track, to judge them again under other settings."""
    names = ("rectangles", "residuals", "eyes", "mouths", "yaws", "times", "face_residuals")
    return {name: getattr(track, name) for name in (*names, "face_motions")}


def test_rounds_one_correct_side_is_not_enough(detector: Detector) -> None:
    """With challenge_rounds = 2 a correct answer asks the next side at once (not live, reason
    challenge, a new random side); the second correct answer in a row is live; a failed
    answer starts the row again."""
    settings = LivenessSettings(challenge_rounds=2)
    turning = list(answering_head(PERSON, -1, yaw_deg=35.0, seed=1))
    first = _track(detector, turning, settings, TURN_RIGHT)
    verdict = first.verdict()
    assert not verdict.live and verdict.reason == "challenge", verdict.cues
    assert verdict.needs == first.challenge and verdict.prompt == turn_prompt(
        first.challenge, settings
    )
    assert verdict.exchange == Exchange(passed=1, failed=0)
    assert not first.pending(1.0)  # the next side is asked at once
    second = LivenessTrack(settings, asked=TURN_RIGHT, exchange=verdict.exchange, **_fields(first))
    assert second.verdict().live, second.verdict().cues
    single = LivenessTrack(LivenessSettings(), asked=TURN_RIGHT, **_fields(first))
    assert single.verdict().live  # one round (the default): one answer is enough
    assert Exchange(passed=1, failed=0).after(False) == Exchange(passed=0, failed=1)


def test_lockout_counts_failures_in_a_sliding_window() -> None:
    """The camera locks at the limit of failures within the window and opens when the oldest
    leaves it."""
    lockout = Lockout(2, 10.0)
    lockout.record(0.0)
    assert not lockout.locked(1.0)
    lockout.record(5.0)
    assert lockout.locked(5.0) and lockout.locked(9.9)
    assert not lockout.locked(10.0)


def test_the_lockout_says_when_the_camera_unlocks() -> None:
    """remaining(): the seconds until the failures in the window drop below the limit."""
    lockout = Lockout(2, 60.0)
    assert lockout.remaining(0.0) == 0.0
    for t in (10.0, 20.0, 30.0):
        lockout.record(t)
    assert lockout.remaining(35.0) == pytest.approx(45.0)  # 20 s + 60 s: then one is left
    assert lockout.remaining(81.0) == 0.0
