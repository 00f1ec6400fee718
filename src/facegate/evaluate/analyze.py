"""Error analysis of one embedder on a pair set: slices, worst pairs, bias / variance."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from facegate.evaluate.diagnose import Diagnosis, diagnose
from facegate.evaluate.metrics import accuracy_at, best_threshold
from facegate.evaluate.multi import ImageFaces, score_embedders
from facegate.evaluate.pairs import PairSet
from facegate.evaluate.runner import PairsReport
from facegate.evaluate.slices import Slice, auto_tags, slice_table


@dataclass(frozen=True)
class WrongPair:
    """One pair decided wrong: its images, label, distance and the threshold it met."""

    left: Path
    right: Path
    same: bool
    distance: float
    threshold: float

    def as_dict(self) -> dict[str, object]:
        """Return the pair as a JSON-ready dict (distance None when a face was missing)."""
        return {
            "left": str(self.left),
            "right": str(self.right),
            "same": self.same,
            "distance": round(self.distance, 4) if np.isfinite(self.distance) else None,
            "threshold": round(self.threshold, 4),
        }


@dataclass(frozen=True)
class Analysis:
    """Where one embedder fails on a pair set, and what to work on next."""

    embedder: str
    report: PairsReport
    errors: int
    false_accept_count: int
    false_reject_count: int
    slices: list[Slice]
    false_accepts: list[WrongPair]
    false_rejects: list[WrongPair]
    diagnosis: Diagnosis
    human_tagged_images: int

    @property
    def error_rate(self) -> float:
        """Return the fraction of pairs decided wrong."""
        return self.errors / max(1, self.report.pairs)

    def as_dict(self) -> dict[str, object]:
        """Return the analysis as a JSON-ready dict."""
        return {
            "embedder": self.embedder,
            "pairs": self.report.pairs,
            "errors": self.errors,
            "error_rate": round(self.error_rate, 5),
            "false_accepts": self.false_accept_count,
            "false_rejects": self.false_reject_count,
            "human_tagged_images": self.human_tagged_images,
            "diagnosis": self.diagnosis.as_dict(),
            "slices": [s.as_dict() for s in self.slices],
            "worst_false_accepts": [p.as_dict() for p in self.false_accepts],
            "worst_false_rejects": [p.as_dict() for p in self.false_rejects],
            "eval": self.report.as_dict(),
        }


def pair_thresholds(pairs: PairSet, report: PairsReport) -> np.ndarray:
    """Return the threshold each pair was decided with: its fold's, chosen on the other folds."""
    by_fold = dict(zip(np.unique(pairs.folds), report.fold_thresholds, strict=True))
    return np.array([by_fold[fold] for fold in pairs.folds])


def train_error(pairs: PairSet, images: Mapping[Path, ImageFaces], spec: str) -> float:
    """Return the error on training pairs at the threshold fitted to those same pairs."""
    report = score_embedders(pairs, dict(images), [spec], 0.0)[spec]
    return 1.0 - accuracy_at(
        report.distances, report.same, best_threshold(report.distances, report.same)
    )


def analyze_pairs(
    pairs: PairSet,
    images: Mapping[Path, ImageFaces],
    spec: str,
    threshold: float,
    human_tags: Mapping[Path, set[str]] | None = None,
    training_error: float | None = None,
    worst: int = 12,
) -> Analysis:
    """Return the error analysis of one embedder's decisions (k-fold thresholds) on pairs."""
    report = score_embedders(pairs, dict(images), [spec], threshold)[spec]
    limits = pair_thresholds(pairs, report)
    wrong = (report.distances <= limits) != report.same
    tags = auto_tags(images)
    tagged = 0
    for path, extra in (human_tags or {}).items():
        if path in tags:
            tags[path] |= extra
            tagged += 1
    order = np.argsort(report.distances, kind="stable")

    def pick(indices: list[int]) -> list[WrongPair]:
        return [
            WrongPair(
                pairs.left[i],
                pairs.right[i],
                pairs.same[i],
                float(report.distances[i]),
                float(limits[i]),
            )
            for i in indices[:worst]
        ]

    accepts = [int(i) for i in order if wrong[i] and not report.same[i]]
    rejects = [int(i) for i in order[::-1] if wrong[i] and report.same[i]]
    errors = int(wrong.sum())
    return Analysis(
        spec,
        report,
        errors,
        len(accepts),
        len(rejects),
        slice_table(pairs, wrong, tags),
        pick(accepts),
        pick(rejects),
        diagnose(errors / max(1, len(pairs)), training_error),
        tagged,
    )
