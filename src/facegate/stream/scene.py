"""The built-in demo scene: a generated street, people walking up, a replayed photo."""

from __future__ import annotations

import functools
import math
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import cv2
import numpy as np

from facegate.stream.head_model import turn_head
from facegate.stream.subjects import SUBJECTS

DEFAULT_WIDTH = 640
DEFAULT_HEIGHT = 360
DEFAULT_FPS = 15.0
DEFAULT_SEED = 0

NOISE_SIGMA = 2.0  # sensor noise (grey levels) added to every frame
SWAY_PERIOD_S = 2.5  # the tree crown sways with this period
SWAY_AMPLITUDE_PX = 3.0
START_FACE_PX = 40.0  # face width when a walker enters
END_FACE_PX = 200.0  # face width when a walker reaches the camera
DRIFT_FRACTION = 0.12  # sideways drift over a walk, as a fraction of the frame width
FACE_CENTRE_Y = 0.42  # where a walker's face centre sits, as a fraction of the frame height
BLUR_EVERY = 4  # every n-th frame of a walk is motion blurred
BLUR_LENGTH_PX = 7
MASK_FEATHER = 0.08  # feathering of the head's elliptical mask, as a fraction of its size
SCREEN_BORDER = 0.08  # replay: phone bezel, as a fraction of the screen width
SCREEN_START_PX = 120.0  # replay: screen width at the start and end of the segment
SCREEN_END_PX = 300.0
WOBBLE_PX = 12.0  # replay: hand movement amplitude
HEAD_YAW_DEG = 12.0  # a walker's head turns this far either way while walking up (parallax)
HEAD_TURNS = 1.5  # ... this many times over a walk

# Face box of each shipped head crop (left, top, right, bottom as fractions of the crop), found
# once with HogDetector(upsample=1) on the crops of stream.subjects.SUBJECTS.
FACE_IN_CROP = {
    "Eileen Collins": (0.295, 0.233, 0.709, 0.613),
    "Grace Hopper": (0.243, 0.219, 0.749, 0.739),
}

SegmentKind = Literal["street", "walk", "replay"]


@dataclass(frozen=True)
class SceneSegment:
    """One part of the demo scene: an empty street, a person walking up, or a replayed photo."""

    kind: SegmentKind
    seconds: float
    person: str | None = None

    @property
    def name(self) -> str:
        """Return a short label such as 'walk:Eileen Collins'."""
        return f"{self.kind}:{self.person}" if self.person else self.kind


DEFAULT_SEGMENTS: tuple[SceneSegment, ...] = (
    SceneSegment("street", 2.0),
    SceneSegment("walk", 3.0, "Eileen Collins"),
    SceneSegment("street", 1.0),
    SceneSegment("walk", 3.0, "Grace Hopper"),
    SceneSegment("street", 1.0),
    SceneSegment("replay", 3.0, "Eileen Collins"),
)


@dataclass(frozen=True)
class GroundTruth:
    """What a frame shows: its segment, who should be seen, whether it is a replay, the face box."""

    segment: int
    kind: SegmentKind
    person: str | None
    is_replay: bool
    face_box: tuple[int, int, int, int] | None  # left, top, right, bottom (may leave the frame)


@dataclass(frozen=True)
class Frame:
    """One generated frame: time in seconds, RGB uint8 image, ground truth."""

    timestamp: float
    image: np.ndarray
    truth: GroundTruth


@functools.cache
def head_crop(person: str) -> np.ndarray:
    """Return the shipped head crop (RGB) of a demo person."""
    if person not in SUBJECTS:
        raise ValueError(f"unknown demo person {person!r}; known: {', '.join(SUBJECTS)}")
    load, (top, bottom, left, right) = SUBJECTS[person]
    crop = np.ascontiguousarray(load()[top:bottom, left:right])
    crop.setflags(write=False)
    return crop


def _texture(shape: tuple[int, int], cell: int, rng: np.random.Generator) -> np.ndarray:
    """Return smooth random texture in [-1, 1] of the given (height, width)."""
    height, width = shape
    coarse = rng.uniform(-1.0, 1.0, (max(2, height // cell), max(2, width // cell)))
    return cv2.resize(coarse.astype(np.float32), (width, height), interpolation=cv2.INTER_CUBIC)


def draw_background(width: int, height: int, rng: np.random.Generator) -> np.ndarray:
    """Return the static street (float32 RGB): wall, ground, tree trunk; the crown is separate."""
    image = np.empty((height, width, 3), np.float32)
    horizon = int(height * 0.62)
    wall = np.array([170, 120, 95], np.float32)  # brick-ish
    ground = np.array([105, 105, 110], np.float32)  # asphalt
    image[:horizon] = wall + 18.0 * _texture((horizon, width), 12, rng)[..., None]
    image[horizon:] = ground + 14.0 * _texture((height - horizon, width), 6, rng)[..., None]
    brick_px = max(4, height // 24)
    image[brick_px:horizon:brick_px] *= 0.8  # mortar lines
    trunk_left, trunk_right = int(width * 0.80), int(width * 0.83)
    image[int(height * 0.30) : int(height * 0.75), trunk_left:trunk_right] = (80, 60, 40)
    return image


def _crown(width: int, height: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Return the tree crown's colour layer and soft alpha mask, both full-frame float32."""
    colour = np.empty((height, width, 3), np.float32)
    colour[:] = (50, 110, 45)
    colour += 25.0 * _texture((height, width), 5, rng)[..., None]
    alpha = np.zeros((height, width), np.float32)
    centre = (int(width * 0.815), int(height * 0.25))
    axes = (int(width * 0.09), int(height * 0.16))
    cv2.ellipse(alpha, centre, axes, 0, 0, 360, 1.0, -1)
    alpha = cv2.GaussianBlur(alpha, (0, 0), 3)
    return colour, alpha


def _shift(image: np.ndarray, dx: float, dy: float) -> np.ndarray:
    """Return the image translated by a sub-pixel offset (borders replicated)."""
    matrix = np.float32([[1, 0, dx], [0, 1, dy]])
    height, width = image.shape[:2]
    return cv2.warpAffine(image, matrix, (width, height), borderMode=cv2.BORDER_REPLICATE)


def _blend(canvas: np.ndarray, layer: np.ndarray, alpha: np.ndarray, left: int, top: int) -> None:
    """Alpha-blend a layer (float32 RGB + HxW alpha) onto the canvas at (left, top), clipped."""
    height, width = canvas.shape[:2]
    lh, lw = layer.shape[:2]
    x0, y0 = max(0, left), max(0, top)
    x1, y1 = min(width, left + lw), min(height, top + lh)
    if x0 >= x1 or y0 >= y1:
        return
    part = layer[y0 - top : y1 - top, x0 - left : x1 - left]
    a = alpha[y0 - top : y1 - top, x0 - left : x1 - left, None]
    canvas[y0:y1, x0:x1] = canvas[y0:y1, x0:x1] * (1.0 - a) + part * a


def _ellipse_mask(height: int, width: int) -> np.ndarray:
    """Return a feathered elliptical alpha mask filling a height x width box."""
    mask = np.zeros((height, width), np.float32)
    cv2.ellipse(
        mask, (width // 2, height // 2), (width // 2 - 1, height // 2 - 1), 0, 0, 360, 1, -1
    )
    sigma = max(1.0, MASK_FEATHER * min(height, width))
    return cv2.GaussianBlur(mask, (0, 0), sigma) * mask


def _motion_blur(image: np.ndarray, length: int) -> np.ndarray:
    """Return the image blurred along a horizontal line of the given length."""
    kernel = np.full((1, length), 1.0 / length, np.float32)
    return cv2.filter2D(image, -1, kernel, borderType=cv2.BORDER_REPLICATE)


def _walker(
    canvas: np.ndarray, person: str, progress: float, blur: bool
) -> tuple[int, int, int, int]:
    """Draw a walking person's head at progress in [0, 1]; return the face box it should have."""
    height, width = canvas.shape[:2]
    face_px = START_FACE_PX * (END_FACE_PX / START_FACE_PX) ** progress
    crop = head_crop(person)
    fl, ft, fr, fb = FACE_IN_CROP[person]
    h, w = crop.shape[:2]
    yaw = HEAD_YAW_DEG * math.sin(2 * math.pi * HEAD_TURNS * progress)
    crop = turn_head(crop, (fl * w, ft * h, fr * w, fb * h), yaw)
    scale = face_px / ((fr - fl) * crop.shape[1])
    size = (max(1, round(crop.shape[1] * scale)), max(1, round(crop.shape[0] * scale)))
    head = cv2.resize(crop, size, interpolation=cv2.INTER_AREA).astype(np.float32)
    if blur:
        head = _motion_blur(head, BLUR_LENGTH_PX)
    face_cx = width * (0.40 + DRIFT_FRACTION * progress)
    face_cy = height * FACE_CENTRE_Y
    left = round(face_cx - size[0] * (fl + fr) / 2)
    top = round(face_cy - size[1] * (ft + fb) / 2)
    _blend(canvas, head, _ellipse_mask(size[1], size[0]), left, top)
    return (
        left + round(fl * size[0]),
        top + round(ft * size[1]),
        left + round(fr * size[0]),
        top + round(fb * size[1]),
    )


def _replay(canvas: np.ndarray, person: str, progress: float) -> tuple[int, int, int, int]:
    """Draw a phone screen showing a person's still photo; return the face box on it."""
    height, width = canvas.shape[:2]
    crop = head_crop(person)
    screen_w = SCREEN_START_PX + (SCREEN_END_PX - SCREEN_START_PX) * progress
    scale = screen_w / crop.shape[1]
    size = (max(1, round(crop.shape[1] * scale)), max(1, round(crop.shape[0] * scale)))
    photo = cv2.resize(crop, size, interpolation=cv2.INTER_AREA).astype(np.float32)
    glare = np.linspace(1.12, 0.95, size[1], dtype=np.float32)[:, None, None]  # screen sheen
    photo = np.clip(photo * glare, 0, 255)
    border = max(2, round(SCREEN_BORDER * size[0]))
    screen = cv2.copyMakeBorder(photo, border, border, border, border, cv2.BORDER_CONSTANT, 0)
    screen = cv2.copyMakeBorder(screen, 1, 1, 1, 1, cv2.BORDER_CONSTANT, value=(90, 90, 90))
    angle = 2 * math.pi * progress
    cx = width * 0.5 + WOBBLE_PX * math.sin(angle)
    cy = height * 0.45 + WOBBLE_PX * 0.5 * math.sin(2 * angle)
    left = round(cx - screen.shape[1] / 2)
    top = round(cy - screen.shape[0] / 2)
    _blend(canvas, screen, np.ones(screen.shape[:2], np.float32), left, top)
    fl, ft, fr, fb = FACE_IN_CROP[person]
    offset = border + 1
    return (
        left + offset + round(fl * size[0]),
        top + offset + round(ft * size[1]),
        left + offset + round(fr * size[0]),
        top + offset + round(fb * size[1]),
    )


def demo_scene(
    width: int = DEFAULT_WIDTH,
    height: int = DEFAULT_HEIGHT,
    fps: float = DEFAULT_FPS,
    segments: Sequence[SceneSegment] = DEFAULT_SEGMENTS,
    seed: int = DEFAULT_SEED,
) -> Iterator[Frame]:
    """Yield the demo scene's frames (deterministic for a seed), each with its ground truth."""
    rng = np.random.default_rng(seed)
    background = draw_background(width, height, rng)
    crown, crown_alpha = _crown(width, height, rng)
    index = 0
    for number, segment in enumerate(segments):
        count = max(1, round(segment.seconds * fps))
        for step in range(count):
            timestamp = index / fps
            progress = step / max(1, count - 1)
            sway = SWAY_AMPLITUDE_PX * math.sin(2 * math.pi * timestamp / SWAY_PERIOD_S)
            canvas = background.copy()
            alpha = _shift(crown_alpha, sway, 0.0)[..., None]
            canvas = canvas * (1.0 - alpha) + crown * alpha
            box = None
            if segment.kind == "walk" and segment.person:
                box = _walker(canvas, segment.person, progress, blur=step % BLUR_EVERY == 1)
            elif segment.kind == "replay" and segment.person:
                box = _replay(canvas, segment.person, progress)
            canvas += rng.normal(0.0, NOISE_SIGMA, canvas.shape).astype(np.float32)
            image = np.clip(canvas, 0, 255).astype(np.uint8)
            truth = GroundTruth(
                segment=number,
                kind=segment.kind,
                person=segment.person if segment.kind == "walk" else None,
                is_replay=segment.kind == "replay",
                face_box=box,
            )
            yield Frame(timestamp, image, truth)
            index += 1


def face_in_view(frame: Frame, min_visible: float = 0.5) -> bool:
    """Return whether at least `min_visible` of the frame's face box lies inside the image."""
    box = frame.truth.face_box
    if box is None:
        return False
    height, width = frame.image.shape[:2]
    left, top, right, bottom = box
    inside = max(0, min(right, width) - max(left, 0)) * max(0, min(bottom, height) - max(top, 0))
    return inside >= min_visible * (right - left) * (bottom - top)


def write_video(frames: Iterable[np.ndarray], path: Path | str, fps: float = DEFAULT_FPS) -> int:
    """Write RGB uint8 frames to an mp4 (mp4v) file and return how many were written."""
    writer: cv2.VideoWriter | None = None
    count = 0
    try:
        for image in frames:
            if writer is None:
                size = (image.shape[1], image.shape[0])
                fourcc = cv2.VideoWriter.fourcc(*"mp4v")
                writer = cv2.VideoWriter(str(path), fourcc, fps, size)
                if not writer.isOpened():
                    raise OSError(f"cannot write video {path} (mp4v, {size[0]}x{size[1]})")
            writer.write(cv2.cvtColor(image, cv2.COLOR_RGB2BGR))
            count += 1
    finally:
        if writer is not None:
            writer.release()
    return count
