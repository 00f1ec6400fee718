"""Activity gate benchmark, per mode (pixel, presence, cascade): speed, pass rates, decisions.

(a) `update` alone on synthetic 1920x1080 and 640x480 RGB frames, one process, one OpenCV thread
(`cv2.setNumThreads(1)`); decoding not included. Pixel and presence run on a static noisy scene;
cascade runs on frames that all change (the astronaut and its mirror image in turn), its worst
case: every frame pays for both tests. (b) The fraction of frames each mode passes on
`video/crowd_walking.mp4` (people in every frame), on a static noisy astronaut photo (a face in
view, nothing moving; 100 frames), on a generated empty street (tree swaying, 100 frames) and on
the generated demo scene, split by whether a face is in view and whether it is wide enough to be
decided (>= select.min_face_px). (c) The access loop on the demo scene with each gate mode: the
decisions it makes. (d) The presence network's held-out figures from its model card.
Timestamps are frame_index / fps.

    python bench/gate.py [--out bench/results]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import cv2
import numpy as np
from rich.console import Console
from rich.table import Table
from skimage import data

from facegate.access_event import AccessEvent
from facegate.demo import enroll_scene_people
from facegate.gallery import SQLiteGallery
from facegate.settings import GateSettings, Settings, load_settings
from facegate.stream.gate import Gate, GateResult
from facegate.stream.gates import build_gate
from facegate.stream.loop import AccessLoop
from facegate.stream.presence import SHIPPED_MODEL
from facegate.stream.scene import DEFAULT_FPS, SceneSegment, demo_scene, face_in_view

ROOT = Path(__file__).resolve().parents[1]
DATA = Path(os.environ.get("FACEGATE_DATA", ROOT.parent / "shared" / "datasets"))
CROWD = DATA / "video" / "crowd_walking.mp4"
FPS = 25.0
NOISE_SIGMA = 3.0
STATIC_FRAMES = 100
SIZES = {"1920x1080": (1080, 1920), "640x480": (480, 640)}
MODES = ("pixel", "presence", "cascade")

Frames = Callable[[], Iterator[tuple[float, np.ndarray]]]


def noisy_astronaut(height: int, width: int, count: int, seed: int) -> Iterator[np.ndarray]:
    """Yield noisy copies of the astronaut photo at the given size."""
    rng = np.random.default_rng(seed)
    scene = cv2.resize(data.astronaut(), (width, height), interpolation=cv2.INTER_LINEAR)
    for _ in range(count):
        yield np.clip(scene + rng.normal(0.0, NOISE_SIGMA, scene.shape), 0, 255).astype(np.uint8)


def changing_frames(height: int, width: int) -> list[np.ndarray]:
    """Return frames that all differ from the one before: the astronaut and its mirror in turn."""
    frames = list(noisy_astronaut(height, width, 8, seed=0))
    return [f[:, ::-1].copy() if i % 2 else f for i, f in enumerate(frames)]


def throughput(gate: Gate, frames: list[np.ndarray], seconds: float = 3.0) -> dict:
    """Return ms per frame and frames/s of `update` alone, timed over about `seconds`."""
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
    """Return how many frames passed (and the median presence score where it ran)."""
    passed = sum(r.passed for r in results)
    scores = [r.presence for r in results if r.presence is not None]
    return {
        "frames": len(results),
        "passed": passed,
        "pass_fraction": round(passed / max(1, len(results)), 4),
        "presence_median": round(float(np.median(scores)), 4) if scores else None,
    }


def crowd_frames() -> Iterator[tuple[float, np.ndarray]]:
    """Yield (timestamp, RGB frame) of the crowd video."""
    capture = cv2.VideoCapture(str(CROWD))
    fps = capture.get(cv2.CAP_PROP_FPS) or FPS
    index = 0
    try:
        while True:
            ok, bgr = capture.read()
            if not ok:
                return
            yield index / fps, cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)
            index += 1
    finally:
        capture.release()


def static_frames() -> Iterator[tuple[float, np.ndarray]]:
    """Yield the static noisy astronaut scene at 1080p."""
    for i, frame in enumerate(noisy_astronaut(1080, 1920, STATIC_FRAMES, seed=1)):
        yield i / FPS, frame


def street_frames() -> Iterator[tuple[float, np.ndarray]]:
    """Yield the generated empty street (swaying tree, sensor noise), 100 frames."""
    segments = (SceneSegment("street", STATIC_FRAMES / DEFAULT_FPS),)
    for frame in demo_scene(segments=segments, seed=1):
        yield frame.timestamp, frame.image


def run_gate(settings: GateSettings, frames: Frames) -> list[GateResult]:
    """Return a fresh gate's results over a stream."""
    gate = build_gate(settings)
    return [gate.update(frame, t) for t, frame in frames()]


def demo_stats(settings: GateSettings, min_face_px: int) -> dict:
    """Return pass fractions on the demo scene by what each frame shows."""
    gate = build_gate(settings)
    groups: dict[str, list[GateResult]] = {"no_face": [], "face": [], "decidable_face": []}
    for frame in demo_scene():
        result = gate.update(frame.image, frame.timestamp)
        if not face_in_view(frame):
            groups["no_face"].append(result)
            continue
        groups["face"].append(result)
        left, _, right, _ = frame.truth.face_box or (0, 0, 0, 0)
        if right - left >= min_face_px:
            groups["decidable_face"].append(result)
    return {name: pass_stats(results) for name, results in groups.items()}


def loop_decisions(settings: Settings, gallery: SQLiteGallery) -> dict:
    """Return the access loop's decisions on the demo scene and how many frames it gated."""
    events: list[AccessEvent] = []
    loop = AccessLoop(settings, gallery, events.append)
    last = 0.0
    for frame in demo_scene():
        loop.process(frame.image, frame.timestamp)
        last = frame.timestamp
    events += loop.flush(last)
    return {
        "past_gate": round(loop.stats.gated / max(1, loop.stats.frames), 4),
        "decisions": [[e.decision, e.person] for e in events],
    }


def main() -> None:
    """Run the benchmark and print / write its results."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "results")
    args = parser.parse_args()
    settings = load_settings(environ={})
    modes = {m: settings.gate.model_copy(update={"mode": m}) for m in MODES}
    console = Console(width=160)
    default_threads = cv2.getNumThreads()
    cv2.setNumThreads(1)

    speed: dict[str, dict[str, dict]] = {m: {} for m in MODES}
    for name, (height, width) in SIZES.items():
        static = list(noisy_astronaut(height, width, 8, seed=0))
        changing = changing_frames(height, width)
        for mode, gate_settings in modes.items():
            frames = changing if mode == "cascade" else static
            speed[mode][name] = throughput(build_gate(gate_settings), frames)

    scenes: dict[str, Frames] = {
        f"static astronaut 1080p, noise sigma {NOISE_SIGMA:g} (a face, nothing moves)": (
            static_frames
        ),
        "generated empty street 640x360 (tree sways, no one)": street_frames,
    }
    if CROWD.exists():
        scenes["crowd_walking.mp4 (1920x1080, 25 fps, people in every frame)"] = crowd_frames
    else:
        console.print(f"[yellow]skipped the crowd video: {CROWD} not found (set FACEGATE_DATA)")
    passes = {
        mode: {name: pass_stats(run_gate(s, frames)) for name, frames in scenes.items()}
        for mode, s in modes.items()
    }
    demo = {m: demo_stats(s, settings.select.min_face_px) for m, s in modes.items()}
    with tempfile.TemporaryDirectory() as tmp, SQLiteGallery(Path(tmp) / "g.db") as gallery:
        enroll_scene_people(gallery, Path(tmp), settings)
        loop = {
            m: loop_decisions(settings.model_copy(update={"gate": s}), gallery)
            for m, s in modes.items()
        }
    cv2.setNumThreads(default_threads)
    card = json.loads(SHIPPED_MODEL.with_suffix(".json").read_text())

    table = Table(
        title=f"activity gate per mode, one OpenCV thread; presence threshold "
        f"{settings.gate.presence_threshold}, model {SHIPPED_MODEL.name} "
        f"({SHIPPED_MODEL.stat().st_size / 1024:.0f} KB)"
    )
    table.add_column("measurement")
    for mode in MODES:
        table.add_column(mode, justify="right")
    for name in SIZES:
        table.add_row(
            f"ms/frame (frames/s), synthetic {name}",
            *(
                f"{speed[m][name]['ms_per_frame']:.2f} ({speed[m][name]['frames_per_second']:.0f})"
                for m in MODES
            ),
        )
    for name in scenes:
        table.add_row(
            f"passed: {name}",
            *(f"{100 * passes[m][name]['pass_fraction']:.1f} %" for m in MODES),
        )
    for group in ("no_face", "face", "decidable_face"):
        table.add_row(
            f"passed: demo scene, {group} frames ({demo['pixel'][group]['frames']})",
            *(f"{100 * demo[m][group]['pass_fraction']:.1f} %" for m in MODES),
        )
    table.add_row(
        "access loop on the demo scene: past gate",
        *(f"{100 * loop[m]['past_gate']:.1f} %" for m in MODES),
    )
    table.add_row(
        "access loop on the demo scene: decisions",
        *(", ".join(f"{d}:{p}" for d, p in loop[m]["decisions"]) for m in MODES),
    )
    console.print(table)
    held = card["held_out"]
    console.print(
        f"presence net, held out ({held['samples']} frames): accuracy {held['accuracy']:.3f}, "
        f"recall {held['recall']:.3f}, specificity {held['specificity']:.3f}"
    )

    args.out.mkdir(parents=True, exist_ok=True)
    result = {
        "settings": settings.gate.model_dump(mode="json"),
        "machine": {
            "cpus": os.cpu_count(),
            "python": platform.python_version(),
            "opencv": cv2.__version__,
            "cv2_threads": 1,
        },
        "throughput_note": "update() only, one OpenCV thread, synthetic frames, decoding not "
        "included; pixel / presence on static noisy frames, cascade on frames that all change "
        "(its worst case: both tests on every frame)",
        "throughput": speed,
        "pass_rate": passes,
        "demo_scene": demo,
        "demo_scene_loop": loop,
        "presence_model": {
            "file": SHIPPED_MODEL.name,
            "bytes": SHIPPED_MODEL.stat().st_size,
            "held_out": held,
        },
    }
    (args.out / "gate.json").write_text(json.dumps(result, indent=2))
    console.print(f"wrote {args.out / 'gate.json'}")


if __name__ == "__main__":
    main()
