"""The tracker: one id per person across frames, closing after a gap, and the cooldown."""

from __future__ import annotations

import pytest

from facegate.settings import TrackSettings
from facegate.stream.tracker import TrackedFace, Tracker, centre_shift, iou, match_boxes
from facegate.vision.types import FaceBox

FPS = 15


def box(cx: float, cy: float, width: float = 80) -> FaceBox:
    """Return a square face box centred at (cx, cy)."""
    half = width / 2
    return FaceBox(round(cx - half), round(cy - half), round(cx + half), round(cy + half), 1.0, "t")


def ids(faces: list[TrackedFace]) -> list[int]:
    return [face.track_id for face in faces]


def test_iou_and_centre_shift() -> None:
    a = box(100, 100)
    assert iou(a, a) == pytest.approx(1.0)
    assert iou(a, box(300, 100)) == 0.0
    assert iou(a, box(140, 100)) == pytest.approx(40 * 80 / (2 * 80 * 80 - 40 * 80))
    assert centre_shift(a, box(140, 130)) == pytest.approx(50 / 80)


def test_greedy_matching_gives_each_track_its_best_box() -> None:
    previous = [box(100, 100), box(200, 100)]
    boxes = [box(190, 100), box(110, 100), box(600, 600)]
    assert match_boxes(previous, boxes, 0.3, 0.5) == {0: 1, 1: 0}


def test_two_people_walking_in_parallel_keep_their_ids() -> None:
    tracker = Tracker(TrackSettings())
    seen: dict[str, set[int]] = {"left": set(), "right": set()}
    for frame in range(30):
        left, right = box(100 + 6 * frame, 200), box(190 + 6 * frame, 205)
        boxes = [left, right] if frame % 2 else [right, left]  # detector order must not matter
        faces = tracker.update(boxes, frame / FPS)
        by_box = {face.box: face.track_id for face in faces}
        seen["left"].add(by_box[left])
        seen["right"].add(by_box[right])
    assert len(seen["left"]) == len(seen["right"]) == 1
    assert seen["left"] | seen["right"] == {1, 2}
    assert tracker.open_ids == [1, 2]


def test_a_small_overlap_is_matched_by_centre_shift() -> None:
    tracker = Tracker(TrackSettings(iou_match=0.3, max_centre_shift=0.5))
    first = tracker.update([box(100, 100)], 0.0)
    moved = box(128, 128)  # IoU 0.27, centre shift 0.49 face widths
    assert iou(first[0].box, moved) < 0.3
    assert ids(tracker.update([moved], 0.1)) == ids(first)
    assert ids(tracker.update([box(160, 160)], 0.2)) == [2]  # shift 0.57: a new track


def test_a_briefly_missed_face_keeps_its_id() -> None:
    tracker = Tracker(TrackSettings(max_missed_seconds=1.0))
    assert ids(tracker.update([box(100, 100)], 0.0)) == [1]
    for t in (0.2, 0.4, 0.6, 0.8):
        assert tracker.update([], t) == []
    assert ids(tracker.update([box(104, 100)], 0.9)) == [1]
    assert tracker.pop_closed() == []


def test_a_track_closes_after_the_timeout() -> None:
    tracker = Tracker(TrackSettings(max_missed_seconds=1.0))
    tracker.update([box(100, 100)], 0.0)
    tracker.update([], 0.5)
    assert tracker.open_ids == [1] and tracker.pop_closed() == []
    tracker.update([], 1.0)
    assert tracker.open_ids == []
    assert tracker.pop_closed() == [1]
    assert tracker.pop_closed() == []
    assert ids(tracker.update([box(100, 100)], 1.1)) == [2]  # ids are never reused


def test_closing_one_track_leaves_the_other() -> None:
    tracker = Tracker(TrackSettings(max_missed_seconds=1.0))
    tracker.update([box(100, 100), box(400, 100)], 0.0)
    for t in (0.5, 1.0, 1.5):
        tracker.update([box(400, 100)], t)
    assert tracker.open_ids == [2] and tracker.pop_closed() == [1]


def test_cooldown_after_a_decision() -> None:
    tracker = Tracker(TrackSettings(cooldown_seconds=5.0, max_missed_seconds=1.0))
    tracker.update([box(100, 100)], 0.0)
    assert not tracker.is_cooling(1, 0.0)
    tracker.mark_decided(1, 0.5)
    for step in range(1, 11):
        tracker.update([box(100, 100)], step / 2)
        assert tracker.is_cooling(1, step / 2)  # up to 5.0: 4.5 s after the decision
    assert ids(tracker.update([box(100, 100)], 5.5)) == [1]
    assert not tracker.is_cooling(1, 5.5)
    assert not tracker.is_cooling(99, 5.5)


def test_a_closed_track_forgets_its_cooldown() -> None:
    tracker = Tracker(TrackSettings(cooldown_seconds=5.0, max_missed_seconds=1.0))
    tracker.update([box(100, 100)], 0.0)
    tracker.mark_decided(1, 0.0)
    tracker.update([], 2.0)
    assert tracker.pop_closed() == [1]
    assert not tracker.is_cooling(1, 2.0)
    tracker.mark_decided(1, 2.0)  # ignored: the track is closed
    assert ids(tracker.update([box(100, 100)], 2.1)) == [2]
    assert not tracker.is_cooling(2, 2.1)
