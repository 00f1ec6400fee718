"""Frame sources: video files written from the demo scene, a fake camera that stalls, the scene."""

from __future__ import annotations

import itertools
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from facegate.errors import FacegateError, SourceError
from facegate.settings import SourceSettings
from facegate.stream.prefetch import PrefetchSource
from facegate.stream.scene import SceneSegment, demo_scene, write_video
from facegate.stream.sources import (
    SceneSource,
    VideoSource,
    open_source,
    parse_spec,
)

FPS = 10.0
WIDTH, HEIGHT = 320, 240
PATCH = 40  # side of the pure red patch painted into the top-left corner
RED = (255, 0, 0)
FAST = {"reconnect_s": 0.01, "max_stall_s": 0.02}


def red_patched_frames(seconds: float = 1.0) -> list[np.ndarray]:
    """Return demo street frames with a pure red patch in the top-left corner."""
    frames = []
    for frame in demo_scene(WIDTH, HEIGHT, FPS, [SceneSegment("street", seconds)]):
        image = frame.image.copy()
        image[:PATCH, :PATCH] = RED
        frames.append(image)
    return frames


@pytest.fixture
def video(tmp_path: Path) -> Path:
    """Return a 1 s mp4 of the demo street with a red patch."""
    path = tmp_path / "street.mp4"
    write_video(red_patched_frames(), path, FPS)
    return path


def test_parse_spec() -> None:
    assert parse_spec(0) == (0, True)
    assert parse_spec(" 2 ") == (2, True)
    assert parse_spec("rtsp://cam.local/stream") == ("rtsp://cam.local/stream", True)
    assert parse_spec("http://cam/mjpg") == ("http://cam/mjpg", True)
    assert parse_spec("door.mp4") == ("door.mp4", False)


def test_file_round_trip(video: Path) -> None:
    with VideoSource(video) as source:
        assert not source.live
        assert source.fps == pytest.approx(FPS)
        frames = list(source)
    assert len(frames) == round(FPS)
    times = [t for t, _ in frames]
    assert times == pytest.approx([i / FPS for i in range(len(frames))])
    for _, image in frames:
        assert image.shape == (HEIGHT, WIDTH, 3)
        assert image.dtype == np.uint8
        patch = image[5 : PATCH - 5, 5 : PATCH - 5].reshape(-1, 3).mean(axis=0)
        assert patch[0] > 200 and patch[1] < 60 and patch[2] < 60  # red stays red: RGB order


def test_file_realtime_is_paced(video: Path) -> None:
    start = time.monotonic()
    with VideoSource(video, realtime=True) as source:
        frames = list(itertools.islice(source, 4))
    assert len(frames) == 4
    assert time.monotonic() - start >= 3 / FPS * 0.9


def test_missing_file_is_a_typed_error(tmp_path: Path) -> None:
    with pytest.raises(SourceError, match="not found") as info:
        VideoSource(tmp_path / "nope.mp4")
    assert isinstance(info.value, FacegateError)
    assert info.value.code == "bad_source"


def test_garbage_file_is_a_typed_error(tmp_path: Path) -> None:
    path = tmp_path / "garbage.mp4"
    path.write_bytes(np.random.default_rng(0).bytes(5000))
    with pytest.raises(SourceError, match="cannot open"):
        VideoSource(path)


def test_truncated_file_ends_early_or_is_refused(video: Path, tmp_path: Path) -> None:
    data = video.read_bytes()
    for keep in (len(data) // 2, 64):
        path = tmp_path / f"cut{keep}.mp4"
        path.write_bytes(data[:keep])
        try:
            with VideoSource(path) as source:
                frames = list(source)
        except SourceError:
            continue
        assert len(frames) < round(FPS)


def test_iterating_a_closed_source_is_a_typed_error(video: Path) -> None:
    source = VideoSource(video)
    source.close()
    source.close()
    with pytest.raises(SourceError, match="closed"):
        iter(source)


class FakeCapture:
    """A camera that delivers a few BGR frames and then only fails (the one allowed fake)."""

    def __init__(self, frames: int, opened: bool = True) -> None:
        self.left = frames
        self.opened = opened
        self.released = False

    def isOpened(self) -> bool:
        return self.opened

    def read(self) -> tuple[bool, np.ndarray | None]:
        if self.released or self.left <= 0:
            return False, None
        self.left -= 1
        frame = np.zeros((8, 8, 3), np.uint8)
        frame[..., 0] = 255  # blue in BGR
        return True, frame

    def get(self, prop: int) -> float:
        return 30.0

    def release(self) -> None:
        self.released = True


class FakeFactory:
    """Hands out scripted captures in order and records what it was asked to open."""

    def __init__(self, captures: list[FakeCapture]) -> None:
        self.captures: Iterator[FakeCapture] = iter(captures)
        self.opened: list[object] = []

    def __call__(self, target: object) -> FakeCapture:
        self.opened.append(target)
        return next(self.captures, FakeCapture(0, opened=False))


def test_live_source_reconnects_after_a_stall() -> None:
    first, unopenable, second = FakeCapture(3), FakeCapture(0, opened=False), FakeCapture(5)
    factory = FakeFactory([first, unopenable, second])
    source = VideoSource("0", **FAST, capture_factory=factory)
    frames = list(itertools.islice(source, 6))
    source.close()
    assert len(frames) == 6
    assert factory.opened == [0, 0, 0]
    assert source.reconnects == 1
    assert first.released and unopenable.released and second.released
    times = [t for t, _ in frames]
    assert times == sorted(times)
    assert times[3] - times[2] >= FAST["max_stall_s"] + FAST["reconnect_s"]
    assert all(image[0, 0].tolist() == [0, 0, 255] for _, image in frames)  # BGR -> RGB


def test_live_source_gives_up_after_bounded_reconnects() -> None:
    factory = FakeFactory([FakeCapture(2)])
    source = VideoSource("rtsp://cam/1", **FAST, max_reconnects=3, capture_factory=factory)
    with pytest.raises(SourceError, match="3 reopen tries failed") as info:
        list(source)
    assert info.value.code == "bad_source"
    assert len(factory.opened) == 1 + 3


def test_live_source_that_never_opens_is_a_typed_error() -> None:
    factory = FakeFactory([FakeCapture(0, opened=False)])
    with pytest.raises(SourceError, match="camera/stream"):
        VideoSource(1, capture_factory=factory)


NO_PREFETCH = SourceSettings(prefetch_frames=0)


def test_open_source_none_is_the_demo_scene() -> None:
    source = open_source(None, NO_PREFETCH)
    assert isinstance(source, SceneSource)
    first = list(itertools.islice(source, 3))
    assert [t for t, _ in first] == pytest.approx([0, 1 / 15, 2 / 15])
    assert first[0][1].shape == (360, 640, 3)
    assert source.truth is not None and source.truth.kind == "street"
    source.close()
    assert list(source) == []


def test_open_source_file(video: Path) -> None:
    source = open_source(str(video), NO_PREFETCH)
    assert isinstance(source, VideoSource)
    assert len(list(source)) == round(FPS)
    source.close()


def test_prefetched_file_gives_every_frame_in_order(video: Path) -> None:
    with VideoSource(video) as direct:
        expected = list(direct)
    source = open_source(str(video))
    assert isinstance(source, PrefetchSource) and not source.drop_oldest
    frames = list(source)
    source.close()
    assert [t for t, _ in frames] == [t for t, _ in expected]
    assert all(np.array_equal(a, b) for (_, a), (_, b) in zip(frames, expected, strict=True))
    assert source.dropped == 0 and source.source._capture is None  # the reader closed it


def test_prefetched_demo_scene_keeps_its_ground_truth() -> None:
    source = open_source(None)
    assert isinstance(source, PrefetchSource)
    next(iter(source))
    assert source.truth is not None
    source.close()
    assert source.source._closed


def test_prefetched_live_source_drops_oldest_frames_for_a_slow_loop() -> None:
    camera = VideoSource("0", **FAST, capture_factory=FakeFactory([FakeCapture(40)]))
    source = PrefetchSource(camera, depth=2, drop_oldest=True)
    frames = []
    with pytest.raises(SourceError, match="reopen tries failed"):  # after its 40 frames
        for timestamp, _ in source:
            time.sleep(0.02)  # a loop slower than the camera
            frames.append(timestamp)
    source.close()
    assert frames == sorted(frames)
    assert source.dropped > 0 and len(frames) + source.dropped == 40
    assert camera._capture is None  # closed by the reader thread on stop


class LostCamera:
    """A frame source that delivers three frames, then reports the camera lost."""

    def __init__(self) -> None:
        self.closed = False

    def __iter__(self) -> Iterator[tuple[float, np.ndarray]]:
        for i in range(3):
            yield float(i), np.zeros((4, 4, 3), np.uint8)
        raise SourceError("camera lost")

    def close(self) -> None:
        self.closed = True


def test_prefetch_hands_a_reader_error_to_the_loop() -> None:
    lost = LostCamera()
    source = PrefetchSource(lost, depth=8, drop_oldest=True)
    seen = []
    with pytest.raises(SourceError, match="camera lost"):
        for timestamp, _ in source:
            seen.append(timestamp)
    assert seen == [0.0, 1.0, 2.0]
    source.close()
    assert lost.closed


def test_closing_before_reading_closes_the_source() -> None:
    lost = LostCamera()
    PrefetchSource(lost, depth=1, drop_oldest=False).close()
    assert lost.closed


def test_crowd_video_first_frames(crowd_video: Path) -> None:
    with VideoSource(crowd_video) as source:
        frames = list(itertools.islice(source, 10))
        fps = source.fps
    assert len(frames) == 10
    assert frames[0][1].shape == (1080, 1920, 3)
    assert [t for t, _ in frames] == pytest.approx([i / fps for i in range(10)])
