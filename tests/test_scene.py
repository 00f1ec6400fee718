"""The generated demo scene: shapes, determinism, a quiet empty street, detectable faces."""

from __future__ import annotations

import itertools
from pathlib import Path

import numpy as np
import pytest

from facegate.settings import GateSettings
from facegate.stream.gate import PixelChangeGate
from facegate.stream.scene import (
    DEFAULT_SEGMENTS,
    Frame,
    SceneSegment,
    demo_scene,
    head_crop,
    write_video,
)
from facegate.vision.detect import HogDetector

FPS = 15.0
LATE_FRACTION = 2 / 3  # "late" frames of a walk: the last third, where faces are large
STEP = 3  # check every n-th frame with HOG, to keep the test quick
MAX_STATIC_MEAN_DIFF = 3.0  # grey levels between consecutive empty-street frames
MIN_IOU = 0.4


@pytest.fixture(scope="module")
def frames() -> list[Frame]:
    """Return the whole default demo scene."""
    return list(demo_scene(fps=FPS))


def iou(a: tuple[int, ...], b: tuple[int, ...]) -> float:
    """Return the overlap (intersection over union) of two left-top-right-bottom boxes."""
    width = max(0, min(a[2], b[2]) - max(a[0], b[0]))
    height = max(0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = width * height
    area = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1])
    return inter / (area - inter)


def late_frames(frames: list[Frame], kind: str) -> list[Frame]:
    """Return every STEP-th frame of the last third of each segment of a kind."""
    picked = []
    for number, segment in enumerate(DEFAULT_SEGMENTS):
        if segment.kind != kind:
            continue
        part = [f for f in frames if f.truth.segment == number]
        picked += part[int(len(part) * LATE_FRACTION) :: STEP]
    return picked


def test_shape_dtype_count_and_times(frames: list[Frame]) -> None:
    expected = sum(round(s.seconds * FPS) for s in DEFAULT_SEGMENTS)
    assert len(frames) == expected
    for frame in frames:
        assert frame.image.shape == (360, 640, 3)
        assert frame.image.dtype == np.uint8
    times = [f.timestamp for f in frames]
    assert times == pytest.approx([i / FPS for i in range(expected)])


def test_custom_size_and_deterministic() -> None:
    segments = [SceneSegment("street", 0.2), SceneSegment("walk", 0.4, "Grace Hopper")]
    first = list(demo_scene(320, 240, 10, segments, seed=7))
    again = list(demo_scene(320, 240, 10, segments, seed=7))
    other = list(demo_scene(320, 240, 10, segments, seed=8))
    assert len(first) == 6
    assert first[0].image.shape == (240, 320, 3)
    assert all(np.array_equal(a.image, b.image) for a, b in zip(first, again, strict=True))
    assert not np.array_equal(first[0].image, other[0].image)


def test_ground_truth(frames: list[Frame]) -> None:
    seen = {(f.truth.kind, f.truth.person, f.truth.is_replay) for f in frames}
    assert seen == {
        ("street", None, False),
        ("walk", "Eileen Collins", False),
        ("walk", "Grace Hopper", False),
        ("replay", None, True),
    }
    assert all((f.truth.face_box is None) == (f.truth.kind == "street") for f in frames)


def test_walk_face_grows(frames: list[Frame]) -> None:
    walk = [f for f in frames if f.truth.segment == 1]
    widths = [f.truth.face_box[2] - f.truth.face_box[0] for f in walk if f.truth.face_box]
    assert widths[0] == pytest.approx(40, abs=3)
    assert widths[-1] == pytest.approx(200, abs=10)
    assert widths == sorted(widths)


def test_empty_street_changes_little(frames: list[Frame]) -> None:
    street = [f.image.astype(np.float32) for f in frames if f.truth.kind == "street"]
    diffs = [np.abs(a - b).mean() for a, b in itertools.pairwise(street)]
    assert max(diffs) < MAX_STATIC_MEAN_DIFF
    assert max(diffs) > 0  # noise and the swaying tree: never a frozen picture
    gate = PixelChangeGate(GateSettings())
    first_street = [f for f in frames if f.truth.segment == 0]
    assert not any(gate.update(f.image, f.timestamp).passed for f in first_street)


def test_gate_opens_when_someone_walks_up(frames: list[Frame]) -> None:
    gate = PixelChangeGate(GateSettings())
    results = [(f.truth.kind, gate.update(f.image, f.timestamp).passed) for f in frames]
    assert any(passed for kind, passed in results if kind == "walk")


def test_hog_finds_no_face_in_empty_street(frames: list[Frame]) -> None:
    detector = HogDetector(upsample=1)
    street = [f for f in frames if f.truth.kind == "street"][::STEP]
    assert all(detector.detect(f.image) == [] for f in street)


@pytest.mark.parametrize("kind", ["walk", "replay"])
def test_hog_finds_the_face_in_late_frames(frames: list[Frame], kind: str) -> None:
    detector = HogDetector(upsample=0)
    picked = late_frames(frames, kind)
    assert picked
    for frame in picked:
        boxes = detector.detect(frame.image)
        assert boxes, f"no face at t={frame.timestamp:.2f}"
        assert iou(tuple(boxes[0].as_list()), frame.truth.face_box) > MIN_IOU


def test_unknown_person_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown demo person"):
        head_crop("Nobody")


def test_write_video(tmp_path: Path) -> None:
    path = tmp_path / "scene.mp4"
    images = [f.image for f in demo_scene(160, 120, 10, [SceneSegment("street", 0.5)])]
    assert write_video(images, path, fps=10) == 5
    assert path.stat().st_size > 0
