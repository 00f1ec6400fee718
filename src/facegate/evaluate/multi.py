"""Several embedders on one pair set: detect and align each image once, embed per embedder."""

from __future__ import annotations

import os
import time
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from rich.progress import Progress

from facegate.errors import ImageError
from facegate.evaluate.pairs import PairSet
from facegate.evaluate.runner import ImageEmbedding, PairsReport, score_pairs
from facegate.media import load_image
from facegate.settings import Settings
from facegate.vision.align import face_chips, face_shape
from facegate.vision.detect import FacePolicy, build_detector, select_faces
from facegate.vision.embedders import embed_views, view_paddings
from facegate.vision.pose import estimate_yaw
from facegate.vision.quality import measure_quality
from facegate.vision.specs import build_embedder
from facegate.vision.types import Detector, Embedder, FaceBox, FaceQuality


@dataclass(frozen=True)
class ImageFaces:
    """One image seen by every embedder: its face (if any), quality, yaw and the costs."""

    path: Path
    box: FaceBox | None
    quality: FaceQuality | None
    yaw: float | None
    vectors: dict[str, np.ndarray]
    detect_seconds: float
    embed_seconds: dict[str, float]
    error: str | None = None

    def embedding(self, spec: str) -> ImageEmbedding:
        """Return this image as one embedder saw it (detection time counted in its cost)."""
        return ImageEmbedding(
            self.path,
            self.vectors.get(spec),
            self.box.detector if self.box else None,
            self.detect_seconds + self.embed_seconds.get(spec, 0.0),
            self.error,
        )


@dataclass(frozen=True)
class _Worker:
    """What one process needs to turn a path into an ImageFaces."""

    settings: Settings
    detector: Detector
    embedders: dict[str, Embedder]
    policy: FacePolicy

    def run(self, path: Path) -> ImageFaces:
        """Return one image's face, measures and one vector per embedder."""
        start = time.perf_counter()
        try:
            image = load_image(path, self.settings.media)
        except ImageError as exc:
            return ImageFaces(path, None, None, None, {}, time.perf_counter() - start, {}, str(exc))
        boxes = select_faces(self.detector.detect(image), self.policy, image.shape)
        if not boxes:
            return ImageFaces(
                path, None, None, None, {}, time.perf_counter() - start, {}, "no face"
            )
        vision = self.settings.vision
        shape = face_shape(image, boxes[0])
        landmarks = np.array([[p.x, p.y] for p in shape.parts()], dtype=np.float32)
        chip = face_chips(image, shape, vision.chip_size, (vision.chip_padding,))[0]
        quality = measure_quality(chip, boxes[0])
        detect_seconds = time.perf_counter() - start
        vectors, costs = {}, {}
        for spec, embedder in self.embedders.items():
            begin = time.perf_counter()
            extra = view_paddings(vision) if spec == "default" else ()
            if extra:  # the extra views' chips and embeddings are this spec's cost
                views = face_chips(image, shape, vision.chip_size, extra)
                vectors[spec] = embed_views(embedder, [chip], [views])[0]
            else:
                vectors[spec] = embedder.embed([chip])[0]
            costs[spec] = time.perf_counter() - begin
        yaw = estimate_yaw(landmarks)
        return ImageFaces(path, boxes[0], quality, yaw, vectors, detect_seconds, costs)


_worker: _Worker | None = None


def _init(settings: Settings, specs: Sequence[str], policy: FacePolicy) -> None:
    """Build this process's detector and embedders once."""
    global _worker
    embedders = {spec: build_embedder(spec, settings.vision) for spec in specs}
    _worker = _Worker(settings, build_detector(settings.vision), embedders, policy)


def _run(path: Path) -> ImageFaces:
    """Process one image in this worker."""
    assert _worker is not None
    return _worker.run(path)


def embed_with(
    paths: Sequence[Path],
    settings: Settings,
    specs: Sequence[str],
    workers: int = 1,
    policy: FacePolicy = "center",
) -> dict[Path, ImageFaces]:
    """Return every image's face seen by each embedder, computed by `workers` processes."""
    for spec in specs:
        build_embedder(spec, settings.vision)  # fail on a bad spec before any work
    workers = max(1, min(workers, os.cpu_count() or 1))
    results: dict[Path, ImageFaces] = {}
    with Progress(transient=True) as progress:
        task = progress.add_task("detect + embed", total=len(paths))
        if workers == 1:
            _init(settings, specs, policy)
            for path in paths:
                results[path] = _run(path)
                progress.advance(task)
        else:
            with ProcessPoolExecutor(
                workers, initializer=_init, initargs=(settings, list(specs), policy)
            ) as pool:
                for item in pool.map(_run, paths, chunksize=8):
                    results[item.path] = item
                    progress.advance(task)
    return results


def score_embedders(
    pairs: PairSet, images: dict[Path, ImageFaces], specs: Sequence[str], threshold: float
) -> dict[str, PairsReport]:
    """Return one pairs report per embedder spec."""
    return {
        spec: score_pairs(pairs, {p: f.embedding(spec) for p, f in images.items()}, threshold)
        for spec in specs
    }


def embed_ms(images: dict[Path, ImageFaces], spec: str) -> float:
    """Return the mean milliseconds one embedder took per face (detection excluded)."""
    costs = [f.embed_seconds[spec] for f in images.values() if spec in f.embed_seconds]
    return 1000 * float(np.mean(costs)) if costs else 0.0
