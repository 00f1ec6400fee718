"""A generated person answering a door's turn prompt: a demo head that turns to one side.

The demo's head crops turned in depth (stream/head_model.py), standing before the demo street:
facing the camera with a slight sway, small head turns and nods, then, after a reaction time,
turning to the asked side and holding there. Used by the tests and bench/liveness.py to check
that a live head answers a challenge; a recording (stream/attacks.py) cannot choose its side.
"""

from __future__ import annotations

import math
from collections.abc import Iterator

import cv2
import numpy as np

from facegate.stream.head_model import turn_head
from facegate.stream.scene import FACE_IN_CROP, draw_background, head_crop


def _turn_yaw(t: float, sign: int, reaction_s: float, yaw_deg: float, turn_s: float) -> float:
    """Return the head's yaw (degrees) at time t: small motions, then a smooth turn to sign."""
    idle = 2.0 * math.sin(2 * math.pi * t / 1.7)
    ramp = min(1.0, max(0.0, (t - reaction_s) / turn_s))
    return idle + sign * yaw_deg * (0.5 - 0.5 * math.cos(math.pi * ramp))


def answering_head(
    person: str,
    sign: int,
    seconds: float = 3.0,
    fps: float = 15.0,
    size: tuple[int, int] = (640, 480),
    reaction_s: float = 0.6,
    yaw_deg: float = 25.0,
    seed: int = 0,
    lead_s: float = 0.0,
) -> Iterator[tuple[float, np.ndarray]]:
    """Yield (timestamp, RGB frame) of a head turning to sign (+1: toward the image's right, the
    person's left) reaction_s after it appears, by yaw_deg over 0.8 s; 0 keeps facing ahead.
    The street is shown empty for lead_s first (a motion gate learns it), then the person."""
    width, height = size
    rng = np.random.default_rng(seed)
    background = draw_background(width, height, rng)
    crop = np.array(head_crop(person))
    fl, ft, fr, fb = FACE_IN_CROP[person]
    h, w = crop.shape[:2]
    face = (fl * w, ft * h, fr * w, fb * h)
    scale = 0.3 * width / (face[2] - face[0])
    out = (round(w * scale), round(h * scale))
    mask = np.zeros((out[1], out[0]), np.float32)
    centre, axes = (out[0] // 2, out[1] // 2), (out[0] // 2 - 1, out[1] // 2 - 1)
    cv2.ellipse(mask, centre, axes, 0, 0, 360, 1, -1)
    mask = (cv2.GaussianBlur(mask, (0, 0), 0.05 * out[0]) * mask)[..., None]
    for index in range(round((lead_s + seconds) * fps)):
        t = index / fps - lead_s
        if t < 0:
            noise = rng.normal(0.0, 2.0, background.shape).astype(np.float32)
            yield t + lead_s, np.clip(background + noise, 0, 255).astype(np.uint8)
            continue
        yaw = _turn_yaw(t, sign, reaction_s, yaw_deg, 0.8)
        head = turn_head(crop, face, yaw, 3.0 * math.sin(2 * math.pi * t / 1.3))  # and nods
        head = cv2.resize(head, out, interpolation=cv2.INTER_AREA).astype(np.float32)
        left = round(width / 2 - out[0] / 2 + 3.0 * math.sin(2 * math.pi * t / 2.3))
        top = round(height * 0.45 - out[1] / 2 + 1.5 * math.sin(2 * math.pi * t / 1.9))
        canvas = background.copy()
        x0, y0 = max(0, left), max(0, top)
        x1, y1 = min(width, left + out[0]), min(height, top + out[1])
        part = (slice(y0 - top, y1 - top), slice(x0 - left, x1 - left))
        region = canvas[y0:y1, x0:x1]
        canvas[y0:y1, x0:x1] = region * (1.0 - mask[part]) + head[part] * mask[part]
        canvas += rng.normal(0.0, 2.0, canvas.shape).astype(np.float32)
        yield t + lead_s, np.clip(canvas, 0, 255).astype(np.uint8)
