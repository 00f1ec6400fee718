"""Presentation-attack videos: prints and screens of enrolled people held up to a fixed camera.

Seeded and reproducible. An attack is an artifact (a photo as a print, with or without white mat,
cut out, bent, on a phone or tablet with a bezel, or a video clip played on a phone held upright
or on a tablet held sideways) moved by a hand (held still with tremor, moved slowly, swayed,
brought toward the camera) in front of a flat, textured or real background (a frame of
crowd_walking.mp4), at 640x480, 720p or 1080p, then degraded like a camera would: sensor noise,
blur, JPEG compression. Posters are fixed (on a wall) or held steady (on a stand, a tremor far
below a hand's), small (a face 62-95 px wide, across the room) or large, in front of people
walking (crowd_walking.mp4 playing behind them).
"""

from __future__ import annotations

import functools
import math
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from facegate.stream.scene import FACE_IN_CROP, draw_background, head_crop

# Attack kinds and whether each is held out of tuning (reported apart).
KINDS: dict[str, bool] = {
    "phone_bezel": False,
    "print_mat": False,
    "print_borderless": False,
    "print_tilted": False,
    "print_bent": True,
    "cutout": True,
    "frame_filling": True,
    "video_replay": True,
    "poster_wall": False,
    "poster_held": True,
    "tablet_replay": True,  # appended last, so the earlier kinds' videos stay as they were
}
MOTIONS = ("still", "slow", "sway", "approach")
BACKGROUNDS = ("flat", "textured", "real")
POSTER_MOTIONS = {"poster_wall": "fixed", "poster_held": "steady"}  # tremor x0 and x0.1
CROWD_FPS = 25.0  # crowd_walking.mp4's frame rate
MATTED = ("print_mat", "print_tilted", "print_bent", *POSTER_MOTIONS)  # a white mat 70 % of times
SIZES = ((640, 480), (1280, 720), (1920, 1080))
REPLAYS = ("video_replay", "tablet_replay")  # person_talking_720p.mp4 played on a screen
# The talker's face in her clip: the central square (phone, portrait) or the whole frame (tablet,
# landscape), both resized to 360 px high.
CLIP_FACE = {
    "video_replay": (135.0, 85.0, 225.0, 195.0),
    "tablet_replay": (275.0, 85.0, 365.0, 195.0),
}
DEMO_PEOPLE = ("Eileen Collins", "Grace Hopper")
LEAD_IN_SEED = 500_000  # the lead-in's noise is drawn apart: the attack's frames stay as they were


@dataclass(frozen=True)
class AttackSpec:
    """One attack video: what is shown, how it moves, on what, at what size and quality."""

    name: str
    kind: str
    person: str
    motion: str
    background: str
    width: int
    height: int
    seconds: float
    fps: float
    seed: int
    noise: float
    blur: float
    jpeg: int
    small: bool = False  # the artifact's face is 62-95 px wide in the frame (a poster far away)

    @property
    def held_out(self) -> bool:
        """Return whether this attack's kind is kept out of tuning."""
        return KINDS[self.kind]


@dataclass(frozen=True)
class AttackFrame:
    """One frame of an attack video and the face box the artifact shows (l, t, r, b)."""

    timestamp: float
    image: np.ndarray
    face_box: tuple[int, int, int, int]


@dataclass(frozen=True)
class Photo:
    """A source photo (RGB) and its face box in pixels (left, top, right, bottom)."""

    image: np.ndarray
    face: tuple[float, float, float, float]


def lfw_people(data: Path, count: int, seed: int) -> list[str]:
    """Return count LFW people with at least two photos, drawn reproducibly."""
    folder = data / "lfw" / "images"
    if not folder.is_dir():
        return []
    names = sorted(p.name for p in folder.iterdir() if len(list(p.glob("*.jpg"))) >= 2)
    rng = np.random.default_rng(seed)
    return [names[i] for i in rng.choice(len(names), size=min(count, len(names)), replace=False)]


@functools.cache
def _photo(person: str, data: Path) -> Photo:
    """Return the attack's source photo of a person: a demo crop or the LFW photo number 2."""
    if person in DEMO_PEOPLE:
        crop = head_crop(person)
        fl, ft, fr, fb = FACE_IN_CROP[person]
        h, w = crop.shape[:2]
        return Photo(np.array(crop), (fl * w, ft * h, fr * w, fb * h))
    path = data / "lfw" / "images" / person / f"{person}_0002.jpg"
    image = cv2.cvtColor(cv2.imread(str(path)), cv2.COLOR_BGR2RGB)
    # LFW deep-funneled photos are aligned: the face sits in the same central box in each.
    return Photo(image, (78.0, 80.0, 172.0, 185.0))


def attack_specs(data: Path, per_kind: int = 5, seed: int = 0) -> list[AttackSpec]:
    """Return the attack set: per_kind videos of each kind, varied in every other respect."""
    rng = np.random.default_rng(seed)
    people = list(DEMO_PEOPLE) + lfw_people(data, 12, seed)
    if not (data / "video" / "crowd_walking.mp4").exists():
        backgrounds: tuple[str, ...] = ("flat", "textured")
    else:
        backgrounds = BACKGROUNDS
    specs = []
    for kind in KINDS:
        if kind in REPLAYS and not (data / "video" / "person_talking_720p.mp4").exists():
            continue
        for index in range(per_kind):
            width, height = SIZES[(index + len(specs)) % len(SIZES)]
            background = backgrounds[int(rng.integers(len(backgrounds)))]
            motion = MOTIONS[index % len(MOTIONS)]
            if kind in POSTER_MOTIONS:
                motion = POSTER_MOTIONS[kind]
                if "real" in backgrounds and (kind == "poster_wall" or index % 3 != 2):
                    background = "crowd"  # people walking past (the video, not one frame)
            specs.append(
                AttackSpec(
                    name=f"{kind}-{index}",
                    kind=kind,
                    person="talker" if kind in REPLAYS else people[len(specs) % len(people)],
                    motion=motion,
                    background=background,
                    width=width,
                    height=height,
                    seconds=2.5,
                    fps=15.0,
                    seed=seed * 1000 + len(specs),
                    noise=float(rng.uniform(1.0, 4.0)),
                    blur=float(rng.uniform(0.0, 1.2)),
                    jpeg=int(rng.integers(55, 92)),
                    small=kind in POSTER_MOTIONS and index % 2 == int(KINDS[kind]),
                )
            )
    return specs


def _background(spec: AttackSpec, data: Path, rng: np.random.Generator) -> np.ndarray:
    """Return the still background (float32 RGB) the artifact is held in front of."""
    w, h = spec.width, spec.height
    if spec.background == "flat":
        colour = rng.uniform(60, 200, 3).astype(np.float32)
        return np.broadcast_to(colour, (h, w, 3)).copy()
    if spec.background == "textured":
        return draw_background(w, h, rng)
    return next(_crowd_frames(spec, data, int(rng.integers(0, 90)), 1)).astype(np.float32)


def _crowd_frames(spec: AttackSpec, data: Path, start: int, count: int) -> Iterator[np.ndarray]:
    """Yield count frames (RGB uint8, the spec's size) of crowd_walking.mp4 from frame start,
    sampled at the spec's frame rate (the video played behind the artifact)."""
    capture = cv2.VideoCapture(str(data / "video" / "crowd_walking.mp4"))
    capture.set(cv2.CAP_PROP_POS_FRAMES, start)
    index, bgr = start - 1, None
    try:
        for step in range(count):
            wanted = start + round(step * CROWD_FPS / spec.fps)
            while index < wanted:
                ok, bgr = capture.read()
                if not ok:
                    raise OSError("cannot read a frame of crowd_walking.mp4")
                index += 1
            assert bgr is not None
            resized = cv2.resize(bgr, (spec.width, spec.height), interpolation=cv2.INTER_AREA)
            yield cv2.cvtColor(resized, cv2.COLOR_BGR2RGB)
    finally:
        capture.release()


def _frame_artifact(
    photo: Photo, kind: str, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray, tuple[float, float, float, float]]:
    """Return an artifact (float32 RGB), its alpha and the face box on it, made from a photo."""
    image = photo.image.astype(np.float32)
    face = photo.face
    h, w = image.shape[:2]
    alpha = np.ones((h, w), np.float32)
    if kind == "cutout":
        fl, ft, fr, fb = face
        cx, cy = (fl + fr) / 2, (ft + fb) / 2
        axes = (round((fr - fl) * 0.62), round((fb - ft) * 0.75))
        alpha = np.zeros((h, w), np.float32)
        cv2.ellipse(alpha, (round(cx), round(cy)), axes, 0, 0, 360, 1.0, -1)
        return image, alpha, face
    pad = 0
    if kind == "phone_bezel":
        pad = round(w * rng.uniform(0.04, 0.12))
        colour: tuple[float, ...] = (15.0, 15.0, 18.0)
    elif kind == "tablet_replay":  # a tablet's thin bezel, dark or light
        pad = round(w * rng.uniform(0.02, 0.05))
        colour = (15.0, 15.0, 18.0) if rng.uniform() < 0.6 else (225.0, 225.0, 228.0)
    elif kind in MATTED and rng.uniform() < 0.7:
        pad = round(w * rng.uniform(0.08, 0.25))
        colour = (238.0, 236.0, 230.0)
    if pad:
        image = cv2.copyMakeBorder(image, pad, pad, pad, pad, cv2.BORDER_CONSTANT, value=colour)
        alpha = np.ones(image.shape[:2], np.float32)
        face = (face[0] + pad, face[1] + pad, face[2] + pad, face[3] + pad)
    if kind in ("phone_bezel", "tablet_replay"):  # screen sheen: brighter at the top
        sheen = np.linspace(1.12, 0.95, image.shape[0], dtype=np.float32)[:, None, None]
        image = np.clip(image * sheen, 0, 255)
    if kind == "print_bent":
        image, alpha = _bend(image, alpha, rng.uniform(0.5, 0.9))
    return image, alpha, face


def _bend(image: np.ndarray, alpha: np.ndarray, depth: float) -> tuple[np.ndarray, np.ndarray]:
    """Return the artifact bent about its vertical axis (a cylinder warp), shaded at the sides."""
    h, w = image.shape[:2]
    radius = w / (2 * depth)
    xs = np.arange(w, dtype=np.float32) - w / 2
    source = radius * np.arcsin(np.clip(xs / radius, -1, 1))  # arc length for each output column
    map_x = np.tile((source + w / 2).astype(np.float32), (h, 1))
    map_y = np.tile(np.arange(h, dtype=np.float32)[:, None], (1, w))
    bent = cv2.remap(image, map_x, map_y, cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT)
    mask = cv2.remap(alpha, map_x, map_y, cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT)
    shade = (0.75 + 0.25 * np.cos(np.clip(xs / radius, -1, 1) * math.pi / 2)).astype(np.float32)
    return bent * shade[None, :, None], mask


def _placement(
    spec: AttackSpec,
    t: float,
    px_scale: float,
    art: tuple[int, int],
    rng_jitter: np.ndarray,
    anchor: tuple[float, float] = (0.5, 0.45),
) -> np.ndarray:
    """Return the 3x3 homography taking the artifact into the frame at time t in [0, 1]
    (anchor: where its centre rests, as shares of the frame's width and height)."""
    w, h = spec.width, spec.height
    aw, ah = art
    scale, cx, cy, roll, yaw, pitch = 1.0, w * anchor[0], h * anchor[1], 0.0, 0.0, 0.0
    if spec.motion == "slow":
        cx += w * 0.10 * (t - 0.5)
        scale *= 1.0 + 0.15 * t
    elif spec.motion == "sway":
        phase = 2 * math.pi * t * spec.seconds / 1.5
        cx += w * 0.07 * math.sin(phase)
        cy += h * 0.02 * math.sin(2 * phase)
        roll = 5.0 * math.sin(phase)
        yaw = 12.0 * math.sin(phase + 0.7)
    elif spec.motion == "approach":
        scale *= 1.0 + 0.8 * t
        cx += w * 0.04 * t
    jx, jy, jr = rng_jitter  # hand tremor, px and degrees
    cx, cy, roll = cx + jx, cy + jy, roll + jr
    if spec.kind in ("print_tilted", "print_bent"):
        yaw += 25.0 * (0.6 + 0.4 * math.sin(2 * math.pi * t))
        pitch += 10.0
    s = scale * px_scale
    # The artifact as a plane in 3-D (units: pixels at the focal distance), rotated, projected.
    focal = 1.2 * w
    corners = np.float32([[0, 0], [aw, 0], [aw, ah], [0, ah]])
    plane = np.c_[(corners - [aw / 2, ah / 2]) * s, np.zeros(4)]
    ry, rp, rr = (math.radians(a) for a in (yaw, pitch, roll))
    rot_y = np.array([[math.cos(ry), 0, math.sin(ry)], [0, 1, 0], [-math.sin(ry), 0, math.cos(ry)]])
    rot_x = np.array([[1, 0, 0], [0, math.cos(rp), -math.sin(rp)], [0, math.sin(rp), math.cos(rp)]])
    rot_z = np.array([[math.cos(rr), -math.sin(rr), 0], [math.sin(rr), math.cos(rr), 0], [0, 0, 1]])
    points = plane @ (rot_z @ rot_x @ rot_y).T + [0, 0, focal]
    projected = points[:, :2] * (focal / points[:, 2:3]) + [cx, cy]
    return cv2.getPerspectiveTransform(corners, projected.astype(np.float32))


def _talker_clip(data: Path, start: int, count: int, square: bool = True) -> list[np.ndarray]:
    """Return count frames (RGB, 360 px high) of person_talking_720p.mp4: its central square
    (the head and shoulders, as a phone held upright shows it) or its whole 16:9 frame."""
    capture = cv2.VideoCapture(str(data / "video" / "person_talking_720p.mp4"))
    capture.set(cv2.CAP_PROP_POS_FRAMES, start)
    frames = []
    for _ in range(count):
        ok, bgr = capture.read()
        if not ok:
            break
        h, w = bgr.shape[:2]
        crop = bgr[:, (w - h) // 2 : (w + h) // 2] if square else bgr
        size = (360, 360) if square else (round(360 * w / h), 360)
        frames.append(cv2.cvtColor(cv2.resize(crop, size), cv2.COLOR_BGR2RGB))
    capture.release()
    if not frames:
        raise OSError("cannot read person_talking_720p.mp4")
    return frames


def _degrade(canvas: np.ndarray, spec: AttackSpec) -> np.ndarray:
    """Return the uint8 frame as a camera delivers it: blurred, noisy, JPEG-compressed."""
    image = canvas
    if spec.blur > 0.2:
        image = cv2.GaussianBlur(image, (0, 0), spec.blur)
    height, width = image.shape[:2]
    noise = np.empty((height // 2, width // 2, 3), np.int16)  # demosaiced noise: 2 px grain
    cv2.randn(noise, 0, spec.noise)  # OpenCV's generator, seeded per video in render_attack
    noise = cv2.resize(noise, (width, height), interpolation=cv2.INTER_NEAREST)
    image = cv2.add(image, noise, dtype=cv2.CV_8U)
    ok, jpeg = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, spec.jpeg])
    if not ok:
        raise OSError("JPEG encoding failed")
    return cv2.imdecode(jpeg, cv2.IMREAD_UNCHANGED)


def _composite(
    background: np.ndarray, image: np.ndarray, alpha: np.ndarray, homography: np.ndarray
) -> np.ndarray:
    """Return the uint8 background with the artifact warped onto it (only its bounding box)."""
    height, width = background.shape[:2]
    ah, aw = image.shape[:2]
    corners = np.float32([[0, 0], [aw, 0], [aw, ah], [0, ah]]).reshape(-1, 1, 2)
    placed = cv2.perspectiveTransform(corners, homography).reshape(-1, 2)
    x0, y0 = max(0, int(placed[:, 0].min())), max(0, int(placed[:, 1].min()))
    x1, y1 = min(width, int(placed[:, 0].max()) + 2), min(height, int(placed[:, 1].max()) + 2)
    canvas = background.copy()
    if x1 <= x0 or y1 <= y0:
        return canvas
    shift = np.array([[1, 0, -x0], [0, 1, -y0], [0, 0, 1]], np.float64) @ homography
    size = (x1 - x0, y1 - y0)
    layer = cv2.warpPerspective(image, shift, size, flags=cv2.INTER_LINEAR)
    mask = cv2.warpPerspective(alpha, shift, size, flags=cv2.INTER_LINEAR)[..., None]
    part = canvas[y0:y1, x0:x1].astype(np.float32) * (1.0 - mask) + layer * mask
    canvas[y0:y1, x0:x1] = np.clip(part, 0, 255).astype(np.uint8)
    return canvas


def _setting(
    spec: AttackSpec, data: Path, rng: np.random.Generator, count: int
) -> tuple[int, np.ndarray | None]:
    """Return where the crowd video starts (walking people behind) or the still background."""
    if spec.background == "crowd":
        last = round((count - 1) * CROWD_FPS / spec.fps)
        return int(rng.integers(0, max(1, 100 - last))), None
    return 0, np.clip(_background(spec, data, rng), 0, 255).astype(np.uint8)


def render_lead_in(spec: AttackSpec, data: Path, seconds: float) -> Iterator[np.ndarray]:
    """Yield the frames (RGB uint8) the camera saw before the attack: its scene with no artifact,
    for up to seconds (as much of the crowd video as comes before the attack's part; none for a
    poster on the wall, which has always hung there)."""
    if spec.kind == "poster_wall":
        return
    count = max(2, round(spec.seconds * spec.fps))
    start, background = _setting(spec, data, np.random.default_rng(spec.seed), count)
    cv2.setRNGSeed(spec.seed + LEAD_IN_SEED)
    frames = round(seconds * spec.fps)
    if background is None:
        steps = min(frames, int(start * spec.fps / CROWD_FPS))
        first = start - round(steps * CROWD_FPS / spec.fps)
        for image in _crowd_frames(spec, data, first, steps) if steps else ():
            yield _degrade(image, spec)
        return
    for _ in range(frames):
        yield _degrade(background, spec)


def render_attack(spec: AttackSpec, data: Path) -> Iterator[AttackFrame]:
    """Yield the frames (RGB uint8) of one attack video with the face box the artifact shows."""
    rng = np.random.default_rng(spec.seed)
    cv2.setRNGSeed(spec.seed)
    count = max(2, round(spec.seconds * spec.fps))
    start, still = _setting(spec, data, rng, count)
    walkers = _crowd_frames(spec, data, start, count) if still is None else None
    if still is not None:
        background = still
    clip: list[np.ndarray] = []
    if spec.kind in REPLAYS:
        square = spec.kind == "video_replay"
        clip = _talker_clip(data, int(rng.integers(0, 100)), count, square)
        photo = Photo(clip[0], CLIP_FACE[spec.kind])
    else:
        photo = _photo(spec.person, data)
    image, alpha, face = _frame_artifact(photo, spec.kind, rng)
    if spec.kind == "video_replay":
        image, alpha, face = _frame_artifact(photo, "phone_bezel", rng)
    pad = round((image.shape[1] - photo.image.shape[1]) / 2)
    face_fraction = rng.uniform(0.16, 0.26) if spec.kind != "frame_filling" else 0.0
    px_scale = spec.height * face_fraction / (face[2] - face[0])
    if spec.kind == "frame_filling":  # the print covers the whole view, with room to move
        px_scale = 1.06 * max(spec.width / image.shape[1], spec.height / image.shape[0])
    if spec.small:
        px_scale = rng.uniform(62.0, 95.0) / (face[2] - face[0])
    steadiness = {"fixed": 0.0, "steady": 0.1}.get(spec.motion, 1.0)
    tremor = np.cumsum(rng.normal(0.0, 0.35, (count, 3)), axis=0) * steadiness
    tremor -= tremor.mean(0)
    anchor = (0.5, 0.45)
    if spec.kind in POSTER_MOTIONS:  # somewhere on the wall, where people walk past
        anchor = (float(rng.uniform(0.25, 0.75)), float(rng.uniform(0.3, 0.55)))
    for step in range(count):
        if walkers is not None:
            background = next(walkers)
        t = step / (count - 1)
        if clip:
            content = clip[min(step, len(clip) - 1)].astype(np.float32)
            image[pad : pad + content.shape[0], pad : pad + content.shape[1]] = content
        art = (image.shape[1], image.shape[0])
        homography = _placement(spec, t, px_scale, art, tremor[step], anchor)
        canvas = _composite(background, image, alpha, homography)
        corners = np.float32([[face[0], face[1]], [face[2], face[1]], [face[2], face[3]]])
        corners = np.vstack([corners, [[face[0], face[3]]]]).reshape(-1, 1, 2)
        box = cv2.perspectiveTransform(corners, homography).reshape(-1, 2)
        yield AttackFrame(
            timestamp=step / spec.fps,
            image=_degrade(canvas, spec),
            face_box=(
                int(box[:, 0].min()),
                int(box[:, 1].min()),
                int(box[:, 0].max()),
                int(box[:, 1].max()),
            ),
        )
