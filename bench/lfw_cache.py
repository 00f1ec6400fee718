"""Every LFW image detected, aligned and embedded once, cached for the training benches.

    python bench/lfw_cache.py [--workers 2]

For each of LFW's 13,233 images: the centre face (shipped detector), its 150 px aligned chip,
quality, yaw, and the shipped encoder's vector with and without mirror TTA ("dlib" and
"dlib-nomirror"; "default" is "dlib", the shipped setting), on the shipped engine (ONNX Runtime:
dlib's vectors to 1e-5, about 20x faster than native dlib). Written in shards of 1,000 images
under out/lfw_cache/ so an interrupted run continues where it stopped. bench/train_compare.py,
bench/analyze_lfw.py --cache and bench/degraded_slice.py read it.
"""

from __future__ import annotations

import argparse
import os
import pickle
import time
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from rich.progress import Progress

from facegate.errors import ImageError
from facegate.evaluate.multi import ImageFaces
from facegate.media import load_image
from facegate.settings import Settings
from facegate.vision.align import align_face
from facegate.vision.detect import build_detector, select_faces
from facegate.vision.embed import normalize_rows
from facegate.vision.embedders import dlib_encoder
from facegate.vision.pose import estimate_yaw
from facegate.vision.quality import measure_quality
from facegate.vision.types import Detector, Embedder

ROOT = Path(__file__).resolve().parents[1]
LFW = Path(os.environ.get("FACEGATE_DATA", ROOT.parent / "shared" / "datasets")) / "lfw"
CACHE = ROOT / "out" / "lfw_cache"
SHARD = 1000


@dataclass(frozen=True)
class LfwFaces:
    """The cache: every image's faces record, and the aligned chip of those with a face."""

    faces: dict[Path, ImageFaces]
    chips: dict[Path, np.ndarray]


_settings = Settings()
_detector: Detector | None = None
_encoder: Embedder | None = None


def _init() -> None:
    """Build this worker's detector and encoder (no mirror: both views are timed apart) once."""
    global _detector, _encoder
    _detector = build_detector(_settings.vision)
    _encoder = dlib_encoder(_settings.vision, mirror=False)


def _faceless(path: Path, start: float, reason: str) -> ImageFaces:
    """Return the record of an image without a usable face."""
    return ImageFaces(path, None, None, None, {}, time.perf_counter() - start, {}, reason)


def _one(path: Path) -> tuple[ImageFaces, np.ndarray | None]:
    """Return one image's record and chip, timing detection and each embedding."""
    assert _detector is not None and _encoder is not None
    start = time.perf_counter()
    try:
        image = load_image(path, _settings.media)
    except ImageError as exc:
        return _faceless(path, start, str(exc)), None
    boxes = select_faces(_detector.detect(image), "center", image.shape)
    if not boxes:
        return _faceless(path, start, "no face"), None
    vision = _settings.vision
    chip, landmarks = align_face(image, boxes[0], vision.chip_size, vision.chip_padding)
    quality = measure_quality(chip, boxes[0])
    detect_seconds = time.perf_counter() - start
    begin = time.perf_counter()
    plain = _encoder.embed([chip])[0]
    middle = time.perf_counter()
    mirrored = _encoder.embed([np.ascontiguousarray(chip[:, ::-1])])[0]
    end = time.perf_counter()
    both = normalize_rows((plain + mirrored)[None])[0]
    vectors = {"default": both, "dlib": both, "dlib-nomirror": plain}
    costs = {"default": end - begin, "dlib": end - begin, "dlib-nomirror": middle - begin}
    record = ImageFaces(
        path, boxes[0], quality, estimate_yaw(landmarks), vectors, detect_seconds, costs
    )
    return record, chip


def all_images(root: Path = LFW / "images") -> list[Path]:
    """Return every LFW image path, sorted."""
    return sorted(root.glob("*/*.jpg"))


def _shards(paths: list[Path]) -> Iterator[tuple[Path, list[Path]]]:
    """Yield (shard file, its images) in order."""
    for start in range(0, len(paths), SHARD):
        yield CACHE / f"shard-{start // SHARD:03d}.pkl", paths[start : start + SHARD]


def build(workers: int) -> None:
    """Process every shard not on disk yet, with a progress bar."""
    paths = all_images()
    todo = [(file, part) for file, part in _shards(paths) if not file.exists()]
    CACHE.mkdir(parents=True, exist_ok=True)
    with (
        Progress() as progress,
        ProcessPoolExecutor(workers, initializer=_init) as pool,
    ):
        task = progress.add_task("LFW detect + align + embed", total=sum(len(p) for _, p in todo))
        for file, part in todo:
            records = []
            for item in pool.map(_one, part, chunksize=8):
                records.append(item)
                progress.advance(task)
            partial = file.with_suffix(".tmp")
            partial.write_bytes(pickle.dumps(records, protocol=pickle.HIGHEST_PROTOCOL))
            partial.replace(file)


def load(root: Path = LFW / "images") -> LfwFaces:
    """Return the cache (raises FileNotFoundError when a shard is missing: run this script)."""
    faces, chips = {}, {}
    for file, _ in _shards(all_images(root)):
        for record, chip in pickle.loads(file.read_bytes()):
            faces[record.path] = record
            if chip is not None:
                chips[record.path] = chip
    return LfwFaces(faces, chips)


def main() -> None:
    """Build the cache and print what it holds."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()
    started = time.perf_counter()
    build(args.workers)
    cache = load()
    seconds = [f.detect_seconds + f.embed_seconds.get("dlib", 0) for f in cache.faces.values()]
    print(
        f"{len(cache.faces)} images, {len(cache.chips)} with a face, "
        f"{1000 * np.mean(seconds):.0f} ms per image (detect + align + mirror-TTA embed), "
        f"this run {time.perf_counter() - started:.0f} s"
    )


if __name__ == "__main__":
    main()
