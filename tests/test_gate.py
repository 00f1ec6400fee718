"""The pixel-change activity gate on synthetic scenes, and on a real walking-people video."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

from facegate.errors import ImageError
from facegate.settings import GateSettings
from facegate.stream.gate import GateResult, OpenGate, PixelChangeGate
from facegate.stream.gates import build_gate

FPS = 25.0


def textured(height: int = 480, width: int = 640, seed: int = 0) -> np.ndarray:
    """Return a smooth random RGB texture (a stand-in for a real background)."""
    rng = np.random.default_rng(seed)
    coarse = rng.integers(40, 216, (max(2, height // 16), max(2, width // 16), 3), dtype=np.uint8)
    return cv2.resize(coarse, (width, height), interpolation=cv2.INTER_CUBIC)


def noisy(image: np.ndarray, rng: np.random.Generator, sigma: float = 3.0) -> np.ndarray:
    """Return the image plus Gaussian sensor noise."""
    return np.clip(image + rng.normal(0.0, sigma, image.shape), 0, 255).astype(np.uint8)


def with_box(image: np.ndarray, x: int, y: int, w: int, h: int, level: int = 0) -> np.ndarray:
    """Return a copy of the image with a flat rectangle drawn on it."""
    out = image.copy()
    out[max(0, y) : max(0, y + h), max(0, x) : max(0, x + w)] = level
    return out


def run(gate: PixelChangeGate, frames: list[np.ndarray], fps: float = FPS) -> list[GateResult]:
    """Return the gate's results for frames at a fixed frame rate."""
    return [gate.update(frame, i / fps) for i, frame in enumerate(frames)]


def test_first_frame_does_not_pass() -> None:
    """The first frame has nothing to compare with."""
    result = PixelChangeGate(GateSettings()).update(textured(), 0.0)
    assert result == GateResult(passed=False, changed_fraction=0.0)


def test_static_scene_with_sensor_noise_never_passes() -> None:
    """Identical frames plus sigma-3 noise: no pixel changes enough."""
    rng = np.random.default_rng(1)
    scene = textured()
    results = run(PixelChangeGate(GateSettings()), [noisy(scene, rng) for _ in range(60)])
    assert not any(r.passed for r in results)
    assert max(r.changed_fraction for r in results) < 0.01


def test_large_moving_object_passes() -> None:
    """A dark rectangle, a third of the frame high, sliding across opens the gate."""
    rng = np.random.default_rng(2)
    scene = textured()
    frames = [noisy(with_box(scene, -200 + 20 * i, 150, 200, 250), rng) for i in range(50)]
    results = run(PixelChangeGate(GateSettings()), frames)
    assert not results[0].passed
    assert sum(r.passed for r in results) > 25
    assert max(r.changed_fraction for r in results) > 0.15


def test_small_change_below_epsilon_does_not_pass() -> None:
    """A small object (about 3 % of the frame) appearing changes too few pixels."""
    rng = np.random.default_rng(3)
    scene = textured()
    small = with_box(scene, 300, 200, 100, 90)
    frames = [noisy(scene, rng) for _ in range(10)] + [noisy(small, rng) for _ in range(40)]
    results = run(PixelChangeGate(GateSettings()), frames)
    assert not any(r.passed for r in results)
    assert 0.0 < max(r.changed_fraction for r in results) < GateSettings().epsilon


def test_compares_with_the_frame_about_reference_seconds_ago() -> None:
    """A slow brightening: small from frame to frame, large over a second, passes."""
    scene = textured()
    step = 2  # grey levels per frame: 50 per second at 25 fps, above the threshold of 25
    frames = [
        np.clip(scene.astype(np.int16) + step * i, 0, 255).astype(np.uint8) for i in range(50)
    ]
    settings = GateSettings()
    results = run(PixelChangeGate(settings), frames)
    assert not any(r.passed for r in results[:12])  # under half a second: at most 22 levels
    assert all(r.passed for r in results[25:])
    # The same drift against the previous frame only (a tiny reference) never passes.
    short = run(PixelChangeGate(settings.model_copy(update={"reference_seconds": 0.01})), frames)
    assert not any(r.passed for r in short)


def test_reference_is_the_newest_frame_at_least_that_old() -> None:
    """A change 0.5 s ago shows with a 0.4 s reference but not with a 1 s reference."""
    scene = textured()
    changed = with_box(scene, 0, 0, 640, 480, level=255)
    frames = [scene] * 25 + [changed] * 13  # the change happens at 1.0 s, the last frame is 1.48 s
    near = run(PixelChangeGate(GateSettings(reference_seconds=0.4)), frames)
    far = run(PixelChangeGate(GateSettings(reference_seconds=1.0)), frames)
    assert near[-1].passed is False  # 1.08 s and later: all white
    assert far[-1].passed is True  # 0.48 s: still the textured scene


def test_history_stays_bounded() -> None:
    """After 1000 frames the gate holds at most a second's worth of small frames."""
    rng = np.random.default_rng(4)
    gate = PixelChangeGate(GateSettings())
    scene = textured(120, 160)
    for i in range(1000):
        gate.update(noisy(scene, rng), i / 60.0)
    assert gate.history_size <= PixelChangeGate.HISTORY_SLOTS + 2
    for _ in range(1000):  # a source that repeats its timestamp
        gate.update(scene, 1000 / 60.0)
    assert gate.history_size <= PixelChangeGate.HISTORY_SLOTS + 2


def test_time_going_backwards_starts_over() -> None:
    """A restarted source (timestamps from zero again) is treated as a new stream."""
    gate = PixelChangeGate(GateSettings())
    scene = textured()
    run(gate, [scene] * 30)
    result = gate.update(with_box(scene, 0, 0, 640, 480, level=255), 0.0)
    assert result == GateResult(passed=False, changed_fraction=0.0)


@pytest.mark.parametrize(("height", "width"), [(1080, 1920), (480, 640), (100, 120)])
def test_frame_sizes(height: int, width: int) -> None:
    """1080p, VGA and frames narrower than the gate width all work."""
    scene = textured(height, width)
    frames = [scene] * 30 + [with_box(scene, 0, 0, width // 2, height, level=0)]
    results = run(PixelChangeGate(GateSettings()), frames)
    assert not any(r.passed for r in results[:30])
    assert results[-1].passed
    assert results[-1].changed_fraction == pytest.approx(0.5, abs=0.05)


def test_new_frame_size_starts_over() -> None:
    """Switching resolution mid-stream does not compare frames of different sizes."""
    gate = PixelChangeGate(GateSettings())
    run(gate, [textured(480, 640)] * 10)
    assert gate.update(textured(1080, 1920), 1.0) == GateResult(False, 0.0)


def test_bad_frames_are_refused() -> None:
    """Grey or float frames are refused with a typed error."""
    gate = PixelChangeGate(GateSettings())
    with pytest.raises(ImageError):
        gate.update(np.zeros((480, 640), np.uint8), 0.0)
    with pytest.raises(ImageError):
        gate.update(np.zeros((480, 640, 3), np.float32), 0.0)


def test_open_gate_always_passes() -> None:
    """Mode 'off' lets every frame through, the first one included."""
    gate = build_gate(GateSettings(mode="off"))
    assert isinstance(gate, OpenGate)
    scene = textured()
    assert all(gate.update(scene, i / FPS).passed for i in range(10))


def test_build_gate_pixel_mode() -> None:
    """Mode 'pixel' (the default) builds the pixel-change gate."""
    assert isinstance(build_gate(GateSettings()), PixelChangeGate)


def test_crowd_video_opens_the_gate(crowd_video: Path) -> None:
    """On a video of people walking, the gate opens on some frames (and not on the first)."""
    capture = cv2.VideoCapture(str(crowd_video))
    fps = capture.get(cv2.CAP_PROP_FPS) or FPS
    gate = PixelChangeGate(GateSettings())
    results: list[GateResult] = []
    try:
        while len(results) < 60:
            ok, bgr = capture.read()
            if not ok:
                break
            results.append(gate.update(cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB), len(results) / fps))
    finally:
        capture.release()
    assert len(results) >= 30
    assert not results[0].passed
    assert any(r.passed for r in results)
