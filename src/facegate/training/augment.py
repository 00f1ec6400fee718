"""Augmentations of aligned face chips: flip, crop, colour, blur, and synthetic occlusions.

They work on the aligned chip (dlib's get_face_chip, 150 px, padding 0.25), where the face
parts sit at fixed places: the eyes at about 38 % of the height, the mouth at about 70 %. So a
scarf or sunglasses can be drawn without detecting anything, and an occluded image never
loses its face to the detector. numpy and OpenCV only (no torch): usable at collection time too.
"""

from __future__ import annotations

from collections.abc import Callable

import cv2
import numpy as np

SCARF_TOP = 0.62  # a scarf band covers the chip from this share of its height down (mouth, chin)
EYE_ROW = 0.38  # eye centres, as a share of the chip's height
EYE_COLUMNS = (0.33, 0.67)  # eye centres, as shares of the chip's width
LENS_RADIUS = 0.13  # sunglasses lens radius, as a share of the chip's width

Augment = Callable[[np.ndarray, np.random.Generator], np.ndarray]


def flip(chip: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Return the chip mirrored left-right."""
    return np.ascontiguousarray(chip[:, ::-1])


def crop_jitter(chip: np.ndarray, rng: np.random.Generator, max_shift: float = 0.06) -> np.ndarray:
    """Return the chip shifted and scaled slightly (a loose crop), same size."""
    size = chip.shape[0]
    scale = rng.uniform(1.0 - max_shift, 1.0 + max_shift)
    dx, dy = rng.uniform(-max_shift, max_shift, 2) * size
    matrix = cv2.getRotationMatrix2D((size / 2, size / 2), 0.0, scale)
    matrix[:, 2] += (dx, dy)
    return cv2.warpAffine(chip, matrix, (size, size), borderMode=cv2.BORDER_REFLECT)


def colour_jitter(chip: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Return the chip with random brightness, contrast and per-channel gain."""
    out = chip.astype(np.float32)
    gain = rng.uniform(0.7, 1.3) * rng.uniform(0.9, 1.1, 3)
    out = (out - out.mean()) * rng.uniform(0.7, 1.3) + out.mean()
    return np.clip(out * gain + rng.uniform(-25, 25), 0, 255).astype(np.uint8)


def blur(chip: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Return the chip blurred with a Gaussian of sigma 1.5-4 px (a heavily blurred frame)."""
    return cv2.GaussianBlur(chip, (0, 0), rng.uniform(1.5, 4.0))


def scarf(chip: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Return the chip with a knitted-looking band over mouth and chin (a winter scarf)."""
    out = chip.copy()
    height, width = chip.shape[:2]
    top = int(height * rng.uniform(SCARF_TOP - 0.04, SCARF_TOP + 0.04))
    colour = rng.integers(20, 235, 3)
    rows = np.arange(height - top)[:, None]
    stripes = ((rows // int(rng.integers(4, 9))) % 2 * 30).astype(np.int16)
    texture = rng.normal(0, 12, (height - top, width, 1)).astype(np.int16)
    band = np.clip(colour[None, None, :] + stripes[..., None] + texture, 0, 255)
    out[top:] = band.astype(np.uint8)
    return out


def sunglasses(chip: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Return the chip with two dark lenses and a bridge over the eyes."""
    out = chip.copy()
    height, width = chip.shape[:2]
    radius = int(width * LENS_RADIUS * rng.uniform(0.9, 1.15))
    row = int(height * EYE_ROW)
    shade = tuple(int(v) for v in rng.integers(0, 40, 3))
    centres = [(int(width * c), row) for c in EYE_COLUMNS]
    for centre in centres:
        cv2.ellipse(out, centre, (radius, int(radius * 0.8)), 0, 0, 360, shade, -1)
    cv2.line(out, centres[0], centres[1], shade, max(2, radius // 5))
    return out


AUGMENTS: dict[str, Augment] = {
    "flip": flip,
    "crop": crop_jitter,
    "colour": colour_jitter,
    "blur": blur,
    "scarf": scarf,
    "sunglasses": sunglasses,
}


def augment(chip: np.ndarray, names: list[str], rng: np.random.Generator) -> np.ndarray:
    """Return the chip with the named augmentations applied in order."""
    for name in names:
        chip = AUGMENTS[name](chip, rng)
    return chip
