"""Frame sources for the camera loop: webcams, video files, RTSP/HTTP streams, the demo scene."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any, Protocol

import cv2
import numpy as np

from facegate.errors import SourceError
from facegate.settings import SourceSettings
from facegate.stream.frames import FrameSource, Timestamped
from facegate.stream.prefetch import PrefetchSource
from facegate.stream.scene import (
    DEFAULT_FPS,
    DEFAULT_HEIGHT,
    DEFAULT_SEED,
    DEFAULT_SEGMENTS,
    DEFAULT_WIDTH,
    GroundTruth,
    SceneSegment,
    demo_scene,
)
from facegate.stream.source_text import shown_source

log = logging.getLogger(__name__)

STALL_POLL_S = 0.01  # pause between failed reads of a live source
URL_MARKER = "://"


class Capture(Protocol):
    """The part of cv2.VideoCapture that sources use (a test may inject another)."""

    def isOpened(self) -> bool:
        """Return whether the capture is open."""
        ...

    def read(self) -> tuple[bool, np.ndarray | None]:
        """Return (ok, BGR frame)."""
        ...

    def get(self, prop: int) -> float:
        """Return a capture property."""
        ...

    def release(self) -> None:
        """Free the device or file."""
        ...


CaptureFactory = Callable[[Any], Capture]


def parse_spec(spec: str | int | Path) -> tuple[str | int, bool]:
    """Return (what cv2.VideoCapture opens, whether the source is live) for a source spec."""
    if isinstance(spec, int):
        return spec, True
    if isinstance(spec, Path):
        return str(spec), False
    text = spec.strip()
    if text.isdigit():
        return int(text), True
    return text, URL_MARKER in text


def to_rgb(frame: np.ndarray) -> np.ndarray:
    """Return an RGB uint8 copy of an OpenCV frame (BGR, BGRA or grey)."""
    if frame.ndim == 2:
        return cv2.cvtColor(frame, cv2.COLOR_GRAY2RGB)
    if frame.shape[2] == 4:
        return cv2.cvtColor(frame, cv2.COLOR_BGRA2RGB)
    return cv2.cvtColor(frame, cv2.COLOR_BGR2RGB)


def _default_factory(target: Any) -> Capture:
    """Return a cv2.VideoCapture for a camera index, file path or URL."""
    return cv2.VideoCapture(target)


class VideoSource:
    """A webcam index, video file or RTSP/HTTP URL read through cv2.VideoCapture."""

    def __init__(
        self,
        spec: str | int | Path,
        reconnect_s: float = SourceSettings().reconnect_seconds,
        max_stall_s: float = SourceSettings().max_stall_seconds,
        realtime: bool = False,
        max_reconnects: int = SourceSettings().max_reconnects,
        capture_factory: CaptureFactory = _default_factory,
    ) -> None:
        self.spec = spec
        self.target, self.live = parse_spec(spec)
        self.shown = shown_source(self.target)  # for messages: no URL password
        self.reconnect_s = reconnect_s
        self.max_stall_s = max_stall_s
        self.realtime = realtime
        self.max_reconnects = max_reconnects
        self.reconnects = 0  # successful reopenings so far (for monitoring)
        self._factory = capture_factory
        if not self.live and not Path(str(self.target)).is_file():
            raise SourceError(f"video file not found: {self.target}")
        self._capture: Capture | None = self._open()
        if self._capture is None:
            kind = "camera/stream" if self.live else "video file"
            raise SourceError(f"cannot open {kind} {self.shown!r} (not a readable video?)")
        self.fps = self._capture.get(cv2.CAP_PROP_FPS) or 0.0

    def _open(self) -> Capture | None:
        """Return an opened capture, or None when it cannot be opened."""
        try:
            capture = self._factory(self.target)
        except (cv2.error, OSError) as exc:
            log.warning("opening %r failed: %s", self.shown, exc)
            return None
        if not capture.isOpened():
            capture.release()
            return None
        return capture

    def __iter__(self) -> Iterator[Timestamped]:
        """Yield (timestamp, RGB frame) until the file ends or the live source is lost."""
        if self._capture is None:
            raise SourceError(f"source {self.shown!r} is closed")
        return self._live_frames() if self.live else self._file_frames()

    def _file_frames(self) -> Iterator[Timestamped]:
        """Yield a file's frames, timed by frame index / fps; stop at the end of the file."""
        fps = self.fps if self.fps > 0 else DEFAULT_FPS
        start = time.monotonic()
        index = 0
        while self._capture is not None:
            ok, frame = self._capture.read()
            if not ok or frame is None:
                return
            timestamp = index / fps
            if self.realtime:
                delay = start + timestamp - time.monotonic()
                if delay > 0:
                    time.sleep(delay)
            yield timestamp, to_rgb(frame)
            index += 1

    def _live_frames(self) -> Iterator[Timestamped]:
        """Yield a live source's frames, timed by time.monotonic; reopen it when it stalls."""
        last_frame = time.monotonic()
        while self._capture is not None:
            ok, frame = self._capture.read()
            now = time.monotonic()
            if ok and frame is not None:
                last_frame = now
                yield now, to_rgb(frame)
            elif now - last_frame >= self.max_stall_s:
                self._reconnect()
                last_frame = time.monotonic()
            else:
                time.sleep(min(STALL_POLL_S, self.max_stall_s))

    def _reconnect(self) -> None:
        """Reopen a stalled live source, waiting reconnect_s before each of a bounded few tries."""
        if self._capture is not None:
            self._capture.release()
        for attempt in range(1, self.max_reconnects + 1):
            log.warning(
                "source %r delivered no frame for %.1f s; reopening in %.1f s (try %d of %d)",
                self.shown,
                self.max_stall_s,
                self.reconnect_s,
                attempt,
                self.max_reconnects,
            )
            time.sleep(self.reconnect_s)
            self._capture = self._open()
            if self._capture is not None:
                self.reconnects += 1
                log.info("source %r reopened", self.shown)
                return
        raise SourceError(
            f"source {self.shown!r} lost: no frames and {self.max_reconnects} reopen tries failed"
        )

    def close(self) -> None:
        """Release the capture (safe to call twice)."""
        if self._capture is not None:
            self._capture.release()
            self._capture = None

    def __enter__(self) -> VideoSource:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()


class SceneSource:
    """The built-in demo scene as a frame source; `truth` is the last yielded frame's truth."""

    def __init__(
        self,
        width: int = DEFAULT_WIDTH,
        height: int = DEFAULT_HEIGHT,
        fps: float = DEFAULT_FPS,
        segments: Sequence[SceneSegment] = DEFAULT_SEGMENTS,
        seed: int = DEFAULT_SEED,
        realtime: bool = False,
    ) -> None:
        self.width, self.height, self.fps = width, height, fps
        self.segments = tuple(segments)
        self.seed = seed
        self.realtime = realtime
        self.truth: GroundTruth | None = None
        self._closed = False

    def __iter__(self) -> Iterator[Timestamped]:
        """Yield (timestamp, RGB frame) of the scene, paced to fps when realtime."""
        start = time.monotonic()
        scene = demo_scene(self.width, self.height, self.fps, self.segments, self.seed)
        for frame in scene:
            if self._closed:
                return
            if self.realtime:
                delay = start + frame.timestamp - time.monotonic()
                if delay > 0:
                    time.sleep(delay)
            self.truth = frame.truth
            yield frame.timestamp, frame.image

    def close(self) -> None:
        """Stop the scene."""
        self._closed = True

    def __enter__(self) -> SceneSource:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()


def open_source(
    spec: str | int | Path | None,
    settings: SourceSettings | None = None,
    realtime: bool = False,
    capture_factory: CaptureFactory = _default_factory,
) -> FrameSource:
    """Return the demo scene for None, else a camera index, file or URL, read ahead per settings."""
    settings = settings or SourceSettings()
    source: FrameSource
    if spec is None:
        source = SceneSource(realtime=realtime)
    else:
        source = VideoSource(
            spec,
            settings.reconnect_seconds,
            settings.max_stall_seconds,
            realtime=realtime,
            max_reconnects=settings.max_reconnects,
            capture_factory=capture_factory,
        )
    if settings.prefetch_frames == 0:
        return source
    live = isinstance(source, VideoSource) and source.live
    return PrefetchSource(source, settings.prefetch_frames, drop_oldest=live)
