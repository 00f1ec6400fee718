"""Backdrop cue: beside a live head, the fixed camera sees its own scene; beside a replay, not.

A door camera is fixed, so it learns what its empty scene looks like: a small running median of
its frames (each pixel steps toward the frame by at most backdrop_adapt_levels per second, so
a person passing or standing a while barely marks it, and a light switched on is learned within
seconds). A live head is narrow: at eye level, beyond the hair and ears (backdrop_side_inner to
backdrop_side_outer face widths from the face's centre, above the shoulders), the camera sees the
scene behind the person. A phone, a tablet or a print shows the face inside its own picture:
beside the face is the recorded room, a photo's background, a bezel or a mat, never this door's
scene. So: on each side of the face in view, compare the patch with the learned scene (allowing
the frame's light, its median brightness ratio to the scene, within backdrop_max_light, and an
exposure change of backdrop_max_gain about it); a frame where every judged side differs
(backdrop_diff_max) hides the scene. To pass, a replay would have to show the victim in front of
a picture of this door's own empty scene, taken from the camera's place and held where it fits.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import cv2
import numpy as np

from facegate.settings import LivenessSettings
from facegate.vision.types import FaceBox

_COLOUR_MEAN = np.full((1, 3), 1.0 / 3.0, np.float32)  # cv2.transform: the mean of R, G, B
_DARK = 8.0  # added to both sides of a brightness ratio, so black pixels do not swing it


@dataclass(frozen=True)
class BackdropView:
    """One frame next to the scene learned before it (both shrunk to the model's width)."""

    frame: np.ndarray  # float32 HxWx3, the frame shrunk
    scene: np.ndarray  # float32 HxWx3, the learned scene before this frame
    scale: float  # model pixels per frame pixel
    age_seconds: float  # how long the model had watched when this frame came
    unsettled_seconds: float  # since a frame of the learned model last matched the scene as a
    # whole (0: this one; inf: none yet)
    light: float = 1.0  # the frame's brightness over the scene's, all over it (the lights)


class Backdrop:
    """The fixed camera's learned empty scene: a running median of its shrunk frames."""

    def __init__(self, s: LivenessSettings) -> None:
        self._settings = s
        self._scene: np.ndarray | None = None  # the first frame sets the times below
        self._started = self._last = self._settled = -math.inf

    def observe(self, frame: np.ndarray, timestamp: float) -> BackdropView:
        """Return this frame next to the scene learned so far, then learn from the frame (a new
        frame size or a timestamp going back starts over)."""
        height, width = frame.shape[:2]
        small_w = min(self._settings.backdrop_width, width)
        scale = small_w / width
        size = (small_w, max(1, round(height * scale)))
        # bilinear, not area: 15x cheaper on a 1080p frame; a patch's mean averages the noise
        small = cv2.resize(frame, size, interpolation=cv2.INTER_LINEAR).astype(np.float32)
        scene = self._scene
        s = self._settings
        if scene is None or scene.shape != small.shape or timestamp < self._last:
            scene, self._started, self._settled = small, timestamp, -math.inf
        light = _light(small, scene, s)
        learned = timestamp - self._started >= s.backdrop_learn_seconds
        if learned and _changed_share(small, scene, light, s) <= s.backdrop_settled_share:
            self._settled = timestamp
        age, unsettled = timestamp - self._started, timestamp - self._settled
        view = BackdropView(small, scene, scale, age, unsettled, light)
        step = s.backdrop_adapt_levels * min(1.0, timestamp - self._last)
        self._scene = scene + np.clip(small - scene, -step, step)
        self._last = timestamp
        return view


def _light(frame: np.ndarray, scene: np.ndarray, s: LivenessSettings) -> float:
    """Return the frame's brightness over the scene's, the median over its pixels (every other
    row and column): a light switched on or off changes it all over, an object only in part;
    within 1 / backdrop_max_light .. backdrop_max_light."""
    now = cv2.transform(frame[::2, ::2], _COLOUR_MEAN)
    then = cv2.transform(scene[::2, ::2], _COLOUR_MEAN)
    ratio = float(np.median((now + _DARK) / (then + _DARK)))
    return min(s.backdrop_max_light, max(1.0 / s.backdrop_max_light, ratio))


def _difference(now: np.ndarray, then: np.ndarray, light: float, s: LivenessSettings) -> np.ndarray:
    """Return the per-pixel difference (levels, mean over colours) of an image from the scene
    after the gain that best matches them: the frame's light, within backdrop_max_gain of it
    (the camera's exposure here)."""
    gain = float(now.mean()) / max(1.0, float(then.mean()))
    gain = min(light * s.backdrop_max_gain, max(light / s.backdrop_max_gain, gain))
    return cv2.transform(cv2.absdiff(now, gain * then), _COLOUR_MEAN)


def _changed_share(
    frame: np.ndarray, scene: np.ndarray, light: float, s: LivenessSettings
) -> float:
    """Return the share of the frame's pixels (every other row and column) that differ from
    the learned scene."""
    difference = _difference(frame[::2, ::2], scene[::2, ::2], light, s)
    return float(np.count_nonzero(difference > s.backdrop_diff_max)) / difference.size


def _side_differs(
    view: BackdropView, x0: float, x1: float, y0: float, y1: float, s: LivenessSettings
) -> bool | None:
    """Return whether a patch (model pixels) differs from the learned scene, or None when too
    little of it is in view."""
    height, width = view.frame.shape[:2]
    left, right = max(0, round(x0)), min(width, round(x1))
    top, bottom = max(0, round(y0)), min(height, round(y1))
    if (right - left) * (bottom - top) < s.backdrop_min_patch_px:
        return None
    now, then = view.frame[top:bottom, left:right], view.scene[top:bottom, left:right]
    patch = _difference(now, then, view.light, s)
    return float(patch.mean()) > s.backdrop_diff_max


def hides_backdrop(view: BackdropView, box: FaceBox, s: LivenessSettings) -> bool | None:
    """Return whether every side of the face in view hides the learned scene (None: the model
    is too young, the scene as a whole has not matched it for backdrop_settle_seconds, or
    neither side is in view)."""
    if view.age_seconds < s.backdrop_learn_seconds:
        return None
    if view.unsettled_seconds > s.backdrop_settle_seconds:
        return None
    k = view.scale
    cx, cy = (box.left + box.right) / 2 * k, (box.top + box.bottom) / 2 * k
    fw, fh = box.width * k, (box.bottom - box.top) * k
    y0, y1 = cy + s.backdrop_side_top * fh, cy + s.backdrop_side_bottom * fh
    inner, outer = s.backdrop_side_inner * fw, s.backdrop_side_outer * fw
    sides = [
        _side_differs(view, cx - outer, cx - inner, y0, y1, s),
        _side_differs(view, cx + inner, cx + outer, y0, y1, s),
    ]
    judged = [x for x in sides if x is not None]
    return all(judged) if judged else None
