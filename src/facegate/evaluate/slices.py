"""Error slices: tag images (automatic measures, human tags), then error rates per tag.

Automatic tags, one per family and image: blur (focus), brightness, face size (box width) and
detection score fall into three bins: the 10 % of the evaluated images with the lowest value,
the middle, and the highest 10 % (by rank, ties broken by path; cut values shown in the tag);
yaw falls into fixed bins (under 15, 15-30, 30+ degrees); the detector that found the face;
'no face' when none was found. Human tags come from a CSV.

A pair belongs to a slice when either of its images has the tag. Slices are ranked by excess
errors: the slice's errors minus the errors the overall error rate predicts for its pairs
(errors - pairs x overall rate). That is how many errors bringing the slice down to the overall
rate would remove; `gain` is the same number as a fraction of all pairs (accuracy points).
"""

from __future__ import annotations

import csv
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from facegate.evaluate.multi import ImageFaces
from facegate.evaluate.pairs import PairSet, PairsFormatError

TAIL = 0.10
YAW_BINS = (15.0, 30.0)


def _tail_bins(name: str, values: Mapping[Path, float], digits: int) -> dict[Path, str]:
    """Return each image's bin of one measure: lowest 10 %, middle, highest 10 % by rank."""
    ranked = sorted(values, key=lambda path: (values[path], str(path)))
    tail = round(TAIL * len(ranked))
    if tail == 0:
        return {path: f"{name}: middle" for path in ranked}
    low, high = values[ranked[tail - 1]], values[ranked[-tail]]
    bins = {path: f"{name}: middle" for path in ranked[tail:-tail]}
    bins |= {path: f"{name}: lowest 10 % (<= {low:.{digits}f})" for path in ranked[:tail]}
    bins |= {path: f"{name}: highest 10 % (>= {high:.{digits}f})" for path in ranked[-tail:]}
    return bins


def _yaw_bin(yaw: float) -> str:
    """Return the fixed yaw bin of an angle."""
    turn = abs(yaw)
    if turn < YAW_BINS[0]:
        return f"yaw: under {YAW_BINS[0]:g} deg"
    if turn < YAW_BINS[1]:
        return f"yaw: {YAW_BINS[0]:g}-{YAW_BINS[1]:g} deg"
    return f"yaw: {YAW_BINS[1]:g}+ deg"


def auto_tags(images: Mapping[Path, ImageFaces]) -> dict[Path, set[str]]:
    """Return the automatic tags of every image."""
    tags: dict[Path, set[str]] = {path: set() for path in images}
    found = {p: f for p, f in images.items() if f.box is not None and f.quality is not None}
    for path in images.keys() - found.keys():
        tags[path].add("face: none found")
    measures = {
        ("blur (focus)", 2): {p: f.quality.focus for p, f in found.items() if f.quality},
        ("brightness", 0): {p: f.quality.brightness for p, f in found.items() if f.quality},
        ("face size px", 0): {p: float(f.quality.face_px) for p, f in found.items() if f.quality},
    }
    detectors = [f.box.detector for f in found.values() if f.box]
    if detectors:
        main = max(set(detectors), key=detectors.count)
        measures[(f"score of {main}", 2)] = {
            p: f.box.score for p, f in found.items() if f.box and f.box.detector == main
        }
    for (name, digits), values in measures.items():
        for path, tag in _tail_bins(name, values, digits).items():
            tags[path].add(tag)
    for path, face in found.items():
        assert face.box is not None and face.yaw is not None
        tags[path].add(_yaw_bin(face.yaw))
        tags[path].add(f"detector: {face.box.detector}")
    return tags


def read_human_tags(path: Path, root: Path) -> dict[Path, set[str]]:
    """Return human tags from a CSV of `image,tag` rows (image relative to root, or a path)."""
    try:
        with path.open(newline="") as handle:
            rows = list(csv.DictReader(handle))
    except OSError as exc:
        raise PairsFormatError(f"cannot read {path}: {exc.strerror}") from exc
    if not rows or not {"image", "tag"} <= set(rows[0]):
        raise PairsFormatError(f"{path}: expected CSV columns image, tag")
    tags: dict[Path, set[str]] = {}
    for row in rows:
        image = Path(row["image"].strip())
        tags.setdefault(image if image.is_absolute() else root / image, set()).add(
            f"human: {row['tag'].strip()}"
        )
    return tags


@dataclass(frozen=True)
class Slice:
    """The pairs touching one tag and how many of them were decided wrong."""

    tag: str
    pairs: int
    errors: int
    error_rate: float
    share_of_errors: float
    share_of_pairs: float
    excess_errors: float
    gain: float

    def as_dict(self) -> dict[str, object]:
        """Return the slice as a JSON-ready dict."""
        return {
            "tag": self.tag,
            "pairs": self.pairs,
            "errors": self.errors,
            "error_rate": round(self.error_rate, 5),
            "share_of_errors": round(self.share_of_errors, 5),
            "share_of_pairs": round(self.share_of_pairs, 5),
            "excess_errors": round(self.excess_errors, 2),
            "gain": round(self.gain, 5),
        }


def slice_table(pairs: PairSet, wrong: np.ndarray, tags: Mapping[Path, set[str]]) -> list[Slice]:
    """Return one Slice per tag, ranked by excess errors (largest first)."""
    total, total_errors = len(pairs), int(wrong.sum())
    overall = total_errors / max(1, total)
    members: dict[str, list[int]] = {}
    for index, (left, right) in enumerate(zip(pairs.left, pairs.right, strict=True)):
        for tag in tags.get(left, set()) | tags.get(right, set()):
            members.setdefault(tag, []).append(index)
    slices = []
    for tag, indices in members.items():
        errors = int(wrong[indices].sum())
        excess = errors - len(indices) * overall
        slices.append(
            Slice(
                tag,
                len(indices),
                errors,
                errors / len(indices),
                errors / total_errors if total_errors else 0.0,
                len(indices) / total,
                excess,
                excess / total,
            )
        )
    return sorted(slices, key=lambda s: (-s.excess_errors, -s.errors, s.tag))
