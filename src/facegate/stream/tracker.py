"""Linking face boxes across frames into tracks, one track per person approaching the camera."""

from __future__ import annotations

from dataclasses import dataclass

from facegate.settings import TrackSettings
from facegate.vision.types import FaceBox


@dataclass(frozen=True)
class TrackedFace:
    """One face box of one frame, with the id of the track it belongs to."""

    track_id: int
    box: FaceBox
    timestamp: float


@dataclass
class _Track:
    """The tracker's state of one open track."""

    track_id: int
    box: FaceBox
    last_seen: float
    cooling_until: float | None = None  # not decided again before this stream time


def iou(a: FaceBox, b: FaceBox) -> float:
    """Return the intersection over union of two boxes (0 when either is empty)."""
    width = min(a.right, b.right) - max(a.left, b.left)
    height = min(a.bottom, b.bottom) - max(a.top, b.top)
    inter = max(width, 0) * max(height, 0)
    union = a.area + b.area - inter
    return inter / union if union > 0 else 0.0


def centre_shift(a: FaceBox, b: FaceBox) -> float:
    """Return the distance between the box centres in face widths (mean width of the two)."""
    dx = (a.left + a.right - b.left - b.right) / 2
    dy = (a.top + a.bottom - b.top - b.bottom) / 2
    width = (a.width + b.width) / 2
    return (dx * dx + dy * dy) ** 0.5 / width if width > 0 else float("inf")


def _greedy(
    pairs: list[tuple[float, int, int]], used_t: set[int], used_b: set[int]
) -> dict[int, int]:
    """Return {box index: track index} taking (cost, track, box) pairs cheapest first."""
    matches: dict[int, int] = {}
    for _, t, b in sorted(pairs):
        if t not in used_t and b not in used_b:
            matches[b] = t
            used_t.add(t)
            used_b.add(b)
    return matches


def match_boxes(
    previous: list[FaceBox], boxes: list[FaceBox], iou_match: float, max_centre_shift: float
) -> dict[int, int]:
    """Return {index in boxes: index in previous} for the boxes that continue a previous box.

    Greedy in two passes: first pairs by IoU >= iou_match, highest first; then the boxes and
    tracks left over, by centre shift <= max_centre_shift face widths, smallest first.
    """
    used_t: set[int] = set()
    used_b: set[int] = set()
    by_overlap = [
        (-overlap, t, i)
        for t, p in enumerate(previous)
        for i, b in enumerate(boxes)
        if (overlap := iou(p, b)) >= iou_match
    ]
    matches = _greedy(by_overlap, used_t, used_b)
    by_shift = [
        (shift, t, i)
        for t, p in enumerate(previous)
        for i, b in enumerate(boxes)
        if t not in used_t and i not in used_b and (shift := centre_shift(p, b)) <= max_centre_shift
    ]
    matches.update(_greedy(by_shift, used_t, used_b))
    return matches


class Tracker:
    """Gives each face box a track id that stays with one person across frames.

    Call `update` on every frame, with an empty list when no face was found (or the activity
    gate stopped the frame): that is when tracks unseen for `max_missed_seconds` are closed.
    Closed ids are collected until `pop_closed` is called; ids are never reused.
    """

    def __init__(self, settings: TrackSettings | None = None) -> None:
        self.settings = settings or TrackSettings()
        self._tracks: dict[int, _Track] = {}
        self._closed: list[int] = []
        self._next_id = 1

    @property
    def open_ids(self) -> list[int]:
        """Return the ids of the open tracks, oldest first."""
        return list(self._tracks)

    def update(self, boxes: list[FaceBox], timestamp: float) -> list[TrackedFace]:
        """Return one TrackedFace per box, in the order of boxes, after closing stale tracks."""
        self._close_stale(timestamp)
        tracks = list(self._tracks.values())
        matches = match_boxes(
            [track.box for track in tracks],
            boxes,
            self.settings.iou_match,
            self.settings.max_centre_shift,
        )
        faces = []
        for i, box in enumerate(boxes):
            track = tracks[matches[i]] if i in matches else self._open(box, timestamp)
            track.box, track.last_seen = box, timestamp
            faces.append(TrackedFace(track.track_id, box, timestamp))
        return faces

    def pop_closed(self) -> list[int]:
        """Return the ids of the tracks closed since the last call, in closing order."""
        closed, self._closed = self._closed, []
        return closed

    def mark_decided(self, track_id: int, timestamp: float, hold_s: float | None = None) -> None:
        """Record a track's decision: it rests for hold_s (default cooldown_seconds) while open."""
        if track_id in self._tracks:
            rest = self.settings.cooldown_seconds if hold_s is None else hold_s
            self._tracks[track_id].cooling_until = timestamp + rest

    def is_cooling(self, track_id: int, timestamp: float) -> bool:
        """Return whether the track was decided and is still resting at timestamp."""
        track = self._tracks.get(track_id)
        return (
            track is not None
            and track.cooling_until is not None
            and (timestamp < track.cooling_until)
        )

    def _open(self, box: FaceBox, timestamp: float) -> _Track:
        """Return a new track starting at this box."""
        track = _Track(self._next_id, box, timestamp)
        self._tracks[track.track_id] = track
        self._next_id += 1
        return track

    def _close_stale(self, timestamp: float) -> None:
        """Close the tracks unseen for max_missed_seconds or more."""
        stale = [
            track_id
            for track_id, track in self._tracks.items()
            if timestamp - track.last_seen >= self.settings.max_missed_seconds
        ]
        for track_id in stale:
            del self._tracks[track_id]
        self._closed.extend(stale)
