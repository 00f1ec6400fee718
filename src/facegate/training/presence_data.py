"""The presence network's data: generated scenes, and lfw_subset faces pasted into backgrounds.

Every sample is an RGB frame turned into the network's input by `stream.presence.letterbox`, so
training sees exactly what the gate sees. Labels: 1 = a face is in view, 0 = none. Faces,
non-face patches, natural backgrounds and scene seeds are split into disjoint train and held-out
parts, and everything is drawn from one seeded generator (same seed, same data).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import cv2
import numpy as np
from skimage import data

from facegate.stream.presence import letterbox
from facegate.stream.scene import demo_scene, draw_background, face_in_view

FACES = slice(0, 100)  # skimage.data.lfw_subset(): 100 faces, then 100 non-face patches
NON_FACES = slice(100, 200)
HELD_OUT_PATCHES = 20  # the last faces / non-faces of each half are held out
# scikit-image's shipped photos without a person in them (astronaut and camera have one).
TRAIN_PHOTOS = (
    "brick",
    "cell",
    "chelsea",
    "clock",
    "coins",
    "grass",
    "gravel",
    "hubble_deep_field",
    "immunohistochemistry",
    "moon",
    "page",
    "stereo_motorcycle",
    "text",
)
HELD_OUT_PHOTOS = ("coffee", "retina", "rocket")
CANVAS_SIZES = ((320, 180), (240, 180), (288, 180))  # 16:9, 4:3, 16:10 frames (width, height)
SCENE_SIZES = ((640, 360), (640, 480), (480, 270))
SCENE_FPS = 5.0  # scene frames are sampled at this rate
FACE_WIDTH = (0.05, 0.35)  # pasted face width as a fraction of the frame width (log-uniform)
HELD_OUT_SCENE_SEED = 1000  # held-out scenes use seeds from here on; seed 0 is the demo's


@dataclass(frozen=True)
class Part:
    """The material one side of the split draws from."""

    faces: np.ndarray  # N x 25 x 25 float in [0, 1]
    patches: np.ndarray  # non-faces, same shape
    photos: tuple[np.ndarray, ...]  # grey uint8 backgrounds
    scene_seeds: tuple[int, ...]


def _photo(name: str) -> np.ndarray:
    """Return one of scikit-image's shipped photos as grey uint8."""
    image = getattr(data, name)()
    image = image[0] if isinstance(image, tuple) else image
    if image.ndim == 3:
        image = cv2.cvtColor(np.ascontiguousarray(image[..., :3]), cv2.COLOR_RGB2GRAY)
    return np.ascontiguousarray(image, np.uint8)


def split_parts(scene_seeds: int, held_out_scene_seeds: int) -> tuple[Part, Part]:
    """Return the train and held-out parts: disjoint faces, patches, photos and scene seeds."""
    subset = data.lfw_subset()
    faces, patches = subset[FACES], subset[NON_FACES]
    cut = len(faces) - HELD_OUT_PATCHES
    train = Part(
        faces[:cut],
        patches[:cut],
        tuple(_photo(n) for n in TRAIN_PHOTOS),
        tuple(range(1, 1 + scene_seeds)),
    )
    held_out = Part(
        faces[cut:],
        patches[cut:],
        tuple(_photo(n) for n in HELD_OUT_PHOTOS),
        tuple(range(HELD_OUT_SCENE_SEED, HELD_OUT_SCENE_SEED + held_out_scene_seeds)),
    )
    return train, held_out


def _ellipse_mask(size: int, rng: np.random.Generator) -> np.ndarray:
    """Return a feathered elliptical alpha mask of a square patch (a head's outline)."""
    mask = np.zeros((size, size), np.float32)
    axes = (max(1, round(size * rng.uniform(0.38, 0.5))), max(1, round(size * 0.5)))
    cv2.ellipse(mask, (size // 2, size // 2), axes, 0, 0, 360, 1.0, -1)
    return cv2.GaussianBlur(mask, (0, 0), max(0.5, 0.06 * size))


def _background(part: Part, width: int, height: int, rng: np.random.Generator) -> np.ndarray:
    """Return a grey float32 background: a photo crop, a street, a patch mosaic or a texture."""
    kind = rng.integers(4)
    if kind == 0:
        photo = part.photos[rng.integers(len(part.photos))]
        ph, pw = photo.shape
        crop_w = int(rng.uniform(0.3, 1.0) * pw)
        crop_h = min(ph, max(8, round(crop_w * height / width)))
        top, left = rng.integers(ph - crop_h + 1), rng.integers(pw - crop_w + 1)
        crop = photo[top : top + crop_h, left : left + crop_w]
        return cv2.resize(crop, (width, height), interpolation=cv2.INTER_AREA).astype(np.float32)
    if kind == 1:
        street = draw_background(width, height, rng)
        return cv2.cvtColor(np.clip(street, 0, 255), cv2.COLOR_RGB2GRAY)
    if kind == 2:
        cells = int(rng.integers(2, 6))
        rows = [
            np.hstack([part.patches[i] for i in rng.integers(len(part.patches), size=cells)])
            for _ in range(cells)
        ]
        mosaic = (255 * np.vstack(rows)).astype(np.float32)
        return cv2.resize(mosaic, (width, height), interpolation=cv2.INTER_LINEAR)
    coarse = rng.uniform(0, 255, (int(rng.integers(2, 12)), int(rng.integers(2, 12))))
    return cv2.resize(coarse.astype(np.float32), (width, height), interpolation=cv2.INTER_CUBIC)


def _paste(canvas: np.ndarray, patch: np.ndarray, rng: np.random.Generator) -> None:
    """Blend a 25x25 patch (face or not) into the canvas at a random size, place and exposure."""
    height, width = canvas.shape
    low, high = np.log(FACE_WIDTH[0] * width), np.log(FACE_WIDTH[1] * width)
    size = max(4, round(float(np.exp(rng.uniform(low, high)))))
    layer = cv2.resize(255 * patch.astype(np.float32), (size, size), interpolation=cv2.INTER_LINEAR)
    layer = layer * rng.uniform(0.6, 1.3) + rng.uniform(-30, 30)
    alpha = _ellipse_mask(size, rng)
    left = int(rng.integers(-size // 4, width - 3 * size // 4))
    top = int(rng.integers(-size // 4, height - 3 * size // 4))
    x0, y0 = max(0, left), max(0, top)
    x1, y1 = min(width, left + size), min(height, top + size)
    a = alpha[y0 - top : y1 - top, x0 - left : x1 - left]
    part = layer[y0 - top : y1 - top, x0 - left : x1 - left]
    canvas[y0:y1, x0:x1] = canvas[y0:y1, x0:x1] * (1 - a) + part * a


def _augment(grey: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Return the grey float frame with random exposure, gamma, blur, noise and mirroring."""
    grey = np.clip(grey * rng.uniform(0.7, 1.3) + rng.uniform(-25, 25), 0, 255)
    grey = 255 * (grey / 255) ** rng.uniform(0.7, 1.4)
    if rng.random() < 0.3:
        grey = cv2.GaussianBlur(grey, (0, 0), rng.uniform(0.5, 1.5))
    grey = grey + rng.normal(0, rng.uniform(0, 6), grey.shape)
    if rng.random() < 0.5:
        grey = grey[:, ::-1]
    return np.clip(grey, 0, 255).astype(np.uint8)


def pasted_frame(part: Part, positive: bool, rng: np.random.Generator) -> np.ndarray:
    """Return an RGB frame: a background with 1-3 faces pasted in, or with look-alike patches."""
    width, height = CANVAS_SIZES[rng.integers(len(CANVAS_SIZES))]
    canvas = _background(part, width, height, rng)
    pool = part.faces if positive else part.patches
    count = int(rng.integers(1, 4)) if positive else int(rng.integers(0, 4))
    for index in rng.integers(len(pool), size=count):
        _paste(canvas, pool[index], rng)
    grey = _augment(canvas, rng)
    return np.repeat(grey[..., None], 3, axis=2)


def scene_frames(seed: int, rng: np.random.Generator) -> list[tuple[np.ndarray, bool]]:
    """Return one generated demo scene (random size) as (RGB frame, face in view) pairs."""
    width, height = SCENE_SIZES[rng.integers(len(SCENE_SIZES))]
    return [(f.image, face_in_view(f)) for f in demo_scene(width, height, SCENE_FPS, seed=seed)]


def build_set(
    part: Part,
    pasted: int,
    rng: np.random.Generator,
    step: Callable[[int], None] = lambda n: None,
) -> tuple[np.ndarray, np.ndarray]:
    """Return letterboxed inputs (N x H x W uint8) and labels (N float32) of one part."""
    frames: list[np.ndarray] = []
    labels: list[bool] = []
    for seed in part.scene_seeds:
        for image, label in scene_frames(seed, rng):
            frames.append(letterbox(image))
            labels.append(label)
        step(1)
    for index in range(pasted):
        positive = index % 2 == 0
        frames.append(letterbox(pasted_frame(part, positive, rng)))
        labels.append(positive)
        step(1)
    return np.stack(frames), np.asarray(labels, np.float32)


def describe(labels: Sequence[float]) -> dict[str, int]:
    """Return how many samples, positives and negatives a label list holds."""
    positives = int(np.sum(labels))
    return {"samples": len(labels), "positives": positives, "negatives": len(labels) - positives}
