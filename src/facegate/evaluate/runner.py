"""Embedding the images of a pair set (in parallel, with progress) and scoring the pairs."""

from __future__ import annotations

import os
import time
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from rich.progress import Progress

from facegate.errors import ImageError
from facegate.evaluate.metrics import Roc, accuracy_at, kfold_accuracy, roc_curve
from facegate.evaluate.pairs import PairSet
from facegate.media import load_image
from facegate.settings import Settings
from facegate.vision import FacePipeline
from facegate.vision.detect import FacePolicy

_worker_pipeline: FacePipeline | None = None
_worker_settings: Settings | None = None
_worker_policy: FacePolicy = "center"


@dataclass(frozen=True)
class ImageEmbedding:
    """One image's embedding (None when no face or unreadable), detector used, and its cost."""

    path: Path
    vector: np.ndarray | None
    detector: str | None
    seconds: float
    error: str | None = None


def _init_worker(settings: Settings, policy: FacePolicy) -> None:
    """Build this worker process's pipeline once."""
    global _worker_pipeline, _worker_settings, _worker_policy
    _worker_settings = settings
    _worker_policy = policy
    _worker_pipeline = FacePipeline(settings.vision)


def _embed_one(path: Path) -> ImageEmbedding:
    """Return the embedding of the policy's face in one image file, timed end to end."""
    assert _worker_pipeline is not None and _worker_settings is not None
    start = time.perf_counter()
    try:
        image = load_image(path, _worker_settings.media)
    except ImageError as exc:
        return ImageEmbedding(path, None, None, time.perf_counter() - start, str(exc))
    faces = _worker_pipeline.encode(image, _worker_policy)
    seconds = time.perf_counter() - start
    if not faces:
        return ImageEmbedding(path, None, None, seconds, "no face")
    return ImageEmbedding(path, faces[0].embedding, faces[0].box.detector, seconds)


def embed_images(
    paths: Sequence[Path],
    settings: Settings,
    workers: int = 1,
    policy: FacePolicy = "center",
    label: str = "embedding",
) -> dict[Path, ImageEmbedding]:
    """Return each image's embedding, computed by `workers` processes with a progress bar."""
    results: dict[Path, ImageEmbedding] = {}
    workers = max(1, min(workers, os.cpu_count() or 1))
    with Progress(transient=True) as progress:
        task = progress.add_task(label, total=len(paths))
        if workers == 1:
            _init_worker(settings, policy)
            for path in paths:
                results[path] = _embed_one(path)
                progress.advance(task)
        else:
            with ProcessPoolExecutor(
                workers, initializer=_init_worker, initargs=(settings, policy)
            ) as pool:
                for item in pool.map(_embed_one, paths, chunksize=8):
                    results[item.path] = item
                    progress.advance(task)
    return results


@dataclass
class PairsReport:
    """The result of evaluating an embedder on a pair set."""

    protocol: str
    pairs: int
    accuracy: float
    accuracy_std: float
    fold_thresholds: list[float]
    accuracy_at_threshold: float
    threshold: float
    auc: float
    tar_at_far_1e3: float
    tar_at_far_1e2: float
    eer: float
    images: int
    no_face: int
    no_face_images: list[str]
    ms_per_image: float
    detectors: dict[str, int]
    roc: Roc = field(repr=False)
    distances: np.ndarray = field(repr=False)
    same: np.ndarray = field(repr=False)

    def as_dict(self) -> dict[str, object]:
        """Return the report as a JSON-ready dict (without the curve arrays)."""
        return {
            "protocol": self.protocol,
            "pairs": self.pairs,
            "accuracy": round(self.accuracy, 5),
            "accuracy_std": round(self.accuracy_std, 5),
            "fold_thresholds": [round(t, 4) for t in self.fold_thresholds],
            "accuracy_at_threshold": round(self.accuracy_at_threshold, 5),
            "threshold": self.threshold,
            "auc": round(self.auc, 5),
            "tar_at_far_1e-3": round(self.tar_at_far_1e3, 5),
            "tar_at_far_1e-2": round(self.tar_at_far_1e2, 5),
            "eer": round(self.eer, 5),
            "images": self.images,
            "no_face": self.no_face,
            "no_face_images": self.no_face_images,
            "ms_per_image": round(self.ms_per_image, 1),
            "detectors": self.detectors,
        }


def score_pairs(
    pairs: PairSet, embeddings: dict[Path, ImageEmbedding], threshold: float
) -> PairsReport:
    """Return the report for pairs from image embeddings; a missing face means 'different'."""
    dist = np.array(
        [
            float(np.linalg.norm(a.vector - b.vector))
            if a.vector is not None and b.vector is not None
            else np.inf
            for a, b in (
                (embeddings[x], embeddings[y]) for x, y in zip(pairs.left, pairs.right, strict=True)
            )
        ]
    )
    same = np.array(pairs.same, dtype=bool)
    folds = kfold_accuracy(dist, same, np.array(pairs.folds))
    roc = roc_curve(dist, same)
    missing = sorted(str(e.path) for e in embeddings.values() if e.vector is None)
    detectors: dict[str, int] = {}
    for item in embeddings.values():
        key = item.detector or "none"
        detectors[key] = detectors.get(key, 0) + 1
    return PairsReport(
        protocol=pairs.protocol,
        pairs=len(pairs),
        accuracy=float(np.mean(folds.accuracies)),
        accuracy_std=float(np.std(folds.accuracies)),
        fold_thresholds=folds.thresholds,
        accuracy_at_threshold=accuracy_at(dist, same, threshold),
        threshold=threshold,
        auc=roc.auc(),
        tar_at_far_1e3=roc.tar_at_far(1e-3),
        tar_at_far_1e2=roc.tar_at_far(1e-2),
        eer=roc.eer(),
        images=len(embeddings),
        no_face=len(missing),
        no_face_images=missing,
        ms_per_image=1000 * float(np.mean([e.seconds for e in embeddings.values()])),
        detectors=detectors,
        roc=roc,
        distances=dist,
        same=same,
    )


def evaluate_pairs(
    pairs: PairSet, settings: Settings, workers: int = 1, policy: FacePolicy = "center"
) -> PairsReport:
    """Embed every image of the pairs (the policy's face of each) and return the report."""
    embeddings = embed_images(pairs.images(), settings, workers, policy)
    return score_pairs(pairs, embeddings, settings.decide.threshold)
