"""Activity gate benchmark: throughput per frame and the fraction of frames that pass.

(a) `PixelChangeGate.update` alone on synthetic 1920x1080 and 640x480 RGB frames, single process,
with OpenCV's default thread count and with one thread. (b) The fraction of frames passing on
`video/crowd_walking.mp4` (people walking) and on a generated static scene (astronaut at 1080p
plus sigma-3 sensor noise, 100 frames; the target is 0 %). Timestamps are frame_index / fps.

    python bench/gate.py [--out bench/results]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import time
from pathlib import Path

import cv2
import numpy as np
from rich.console import Console
from rich.table import Table
from skimage import data

from facegate.settings import GateSettings, load_settings
from facegate.stream.gate import GateResult, PixelChangeGate

ROOT = Path(__file__).resolve().parents[1]
DATA = Path(os.environ.get("FACEGATE_DATA", ROOT.parent / "shared" / "datasets"))
CROWD = DATA / "video" / "crowd_walking.mp4"
FPS = 25.0
NOISE_SIGMA = 3.0
STATIC_FRAMES = 100
SIZES = {"1920x1080": (1080, 1920), "640x480": (480, 640)}


def synthetic_frames(height: int, width: int, count: int = 8, seed: int = 0) -> list[np.ndarray]:
    """Return a few noisy copies of the astronaut scene at the given size."""
    rng = np.random.default_rng(seed)
    scene = cv2.resize(data.astronaut(), (width, height), interpolation=cv2.INTER_LINEAR)
    return [
        np.clip(scene + rng.normal(0.0, NOISE_SIGMA, scene.shape), 0, 255).astype(np.uint8)
        for _ in range(count)
    ]


def throughput(settings: GateSettings, frames: list[np.ndarray], seconds: float = 3.0) -> dict:
    """Return ms per frame and frames/s of `update` alone, timed over about `seconds`."""
    gate = PixelChangeGate(settings)
    for i in range(20):  # warm-up
        gate.update(frames[i % len(frames)], i / FPS)
    timings: list[float] = []
    index = 20
    deadline = time.perf_counter() + seconds
    while time.perf_counter() < deadline:
        frame = frames[index % len(frames)]
        start = time.perf_counter()
        gate.update(frame, index / FPS)
        timings.append(time.perf_counter() - start)
        index += 1
    ms = 1000 * float(np.mean(timings))
    return {
        "iterations": len(timings),
        "ms_per_frame": round(ms, 4),
        "ms_p95": round(1000 * float(np.percentile(timings, 95)), 4),
        "frames_per_second": round(1000 / ms, 1),
    }


def pass_stats(results: list[GateResult]) -> dict:
    """Return how many frames passed and the spread of their changed fractions."""
    fractions = np.array([r.changed_fraction for r in results])
    passed = sum(r.passed for r in results)
    return {
        "frames": len(results),
        "passed": passed,
        "pass_fraction": round(passed / max(1, len(results)), 4),
        "changed_fraction_median": round(float(np.median(fractions)), 4),
        "changed_fraction_max": round(float(fractions.max()), 4),
    }


def crowd_results(settings: GateSettings) -> tuple[list[GateResult], dict] | None:
    """Return the gate's results on the crowd video and its format, or None when absent."""
    if not CROWD.exists():
        return None
    capture = cv2.VideoCapture(str(CROWD))
    fps = capture.get(cv2.CAP_PROP_FPS) or FPS
    size = (int(capture.get(cv2.CAP_PROP_FRAME_WIDTH)), int(capture.get(cv2.CAP_PROP_FRAME_HEIGHT)))
    gate = PixelChangeGate(settings)
    results: list[GateResult] = []
    try:
        while True:
            ok, bgr = capture.read()
            if not ok:
                break
            results.append(gate.update(cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB), len(results) / fps))
    finally:
        capture.release()
    return results, {"file": str(CROWD), "fps": fps, "size": f"{size[0]}x{size[1]}"}


def main() -> None:
    """Run the benchmark and print / write its results."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "results")
    args = parser.parse_args()
    settings = load_settings(environ={}).gate
    console = Console(width=150)

    default_threads = cv2.getNumThreads()
    speed: dict[str, dict] = {}
    for name, (height, width) in SIZES.items():
        frames = synthetic_frames(height, width)
        for threads in (default_threads, 1):
            cv2.setNumThreads(threads)
            speed[f"{name}, {threads} cv2 thread(s)"] = throughput(settings, frames)
    cv2.setNumThreads(default_threads)

    static_frames = synthetic_frames(1080, 1920, count=STATIC_FRAMES, seed=1)
    gate = PixelChangeGate(settings)
    static = pass_stats([gate.update(f, i / FPS) for i, f in enumerate(static_frames)])
    crowd = crowd_results(settings)

    table = Table(
        title=f"activity gate: width {settings.width}, pixel threshold "
        f"{settings.pixel_threshold}, epsilon {settings.epsilon}, reference "
        f"{settings.reference_seconds} s"
    )
    for column in (
        "measurement",
        "ms/frame",
        "p95 ms",
        "frames/s",
        "passed",
        "median / max fraction",
    ):
        table.add_column(column, justify="left" if column == "measurement" else "right")
    for name, s in speed.items():
        table.add_row(
            f"update(), synthetic {name}",
            f"{s['ms_per_frame']:.3f}",
            f"{s['ms_p95']:.3f}",
            f"{s['frames_per_second']:.0f}",
            "",
            "",
        )
    scenes = {f"static astronaut 1080p, noise sigma {NOISE_SIGMA:g}": static}
    if crowd is not None:
        scenes[f"crowd_walking.mp4 ({crowd[1]['size']}, {crowd[1]['fps']:g} fps)"] = pass_stats(
            crowd[0]
        )
    else:
        console.print(f"[yellow]skipped the crowd video: {CROWD} not found (set FACEGATE_DATA)")
    for name, p in scenes.items():
        table.add_row(
            name,
            "",
            "",
            "",
            f"{p['passed']}/{p['frames']} = {100 * p['pass_fraction']:.1f} %",
            f"{p['changed_fraction_median']:.3f} / {p['changed_fraction_max']:.3f}",
        )
    console.print(table)

    args.out.mkdir(parents=True, exist_ok=True)
    result = {
        "settings": settings.model_dump(),
        "machine": {
            "cpus": os.cpu_count(),
            "python": platform.python_version(),
            "opencv": cv2.__version__,
            "cv2_default_threads": default_threads,
        },
        "throughput_note": "PixelChangeGate.update only (grey, INTER_AREA shrink, diff), "
        "single process, synthetic noisy astronaut frames; decoding not included",
        "throughput": speed,
        "pass_rate": {
            "static_scene": {
                "frames_generated": STATIC_FRAMES,
                "noise_sigma": NOISE_SIGMA,
                **static,
            },
            "crowd_walking": None if crowd is None else {**crowd[1], **pass_stats(crowd[0])},
        },
    }
    (args.out / "gate.json").write_text(json.dumps(result, indent=2))
    console.print(f"wrote {args.out / 'gate.json'}")


if __name__ == "__main__":
    main()
