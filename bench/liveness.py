"""Liveness on the demo scene and the crowd video: are replayed photos rejected, walkers passed?

Feeds each replay segment (photo on a phone, moved and zoomed) and each walk segment of the
generated scene, with the ground-truth face box and align_face landmarks, to one LivenessTrack,
for two persons and several seeds; also tracks real faces in crowd_walking.mp4 (HOG, 960 px
wide). Prints a table and writes JSON to bench/results/liveness.json.

    python bench/liveness.py [--seeds 4] [--crowd-frames 120]
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

from facegate.stream import liveness
from facegate.stream.liveness import LivenessResult, LivenessTrack
from facegate.stream.scene import DEFAULT_HEIGHT, DEFAULT_WIDTH, SceneSegment, demo_scene
from facegate.stream.tracker import Tracker
from facegate.vision.align import align_face
from facegate.vision.detect import HogDetector
from facegate.vision.types import FaceBox

ROOT = Path(__file__).resolve().parents[1]
DATA = Path(os.environ.get("FACEGATE_DATA", ROOT.parent / "shared" / "datasets"))
CROWD = DATA / "video" / "crowd_walking.mp4"
PERSONS = ("Eileen Collins", "Grace Hopper")
CROWD_WIDTH = 960
MIN_CROWD_TRACK = 3  # crowd tracks shorter than this many frames are not judged


def scene_track(kind: str, person: str, seed: int) -> tuple[LivenessResult, list[float]]:
    """Return the verdict of one scene segment and the per-frame observe times (ms)."""
    track, times = LivenessTrack(), []
    for frame in demo_scene(segments=(SceneSegment(kind, 3.0, person),), seed=seed):
        assert frame.truth.face_box is not None
        left, top, right, bottom = frame.truth.face_box
        box = FaceBox(
            max(0, left),
            max(0, top),
            min(DEFAULT_WIDTH, right),
            min(DEFAULT_HEIGHT, bottom),
            1,
            "gt",
        )
        _, landmarks = align_face(frame.image, box)
        start = time.perf_counter()
        track.observe(frame.image, box, landmarks, frame.timestamp)
        times.append((time.perf_counter() - start) * 1000)
    return track.verdict(), times


def crowd_tracks(max_frames: int) -> tuple[list[LivenessResult], list[float], int] | None:
    """Return verdicts of the real faces tracked in the crowd video, times and frames read."""
    if not CROWD.exists():
        return None
    capture = cv2.VideoCapture(str(CROWD))
    fps = capture.get(cv2.CAP_PROP_FPS) or 25.0
    detector, tracker = HogDetector(upsample=1), Tracker()
    tracks: dict[int, LivenessTrack] = {}
    times: list[float] = []
    index = 0
    while index < max_frames:
        ok, bgr = capture.read()
        if not ok:
            break
        scale = CROWD_WIDTH / bgr.shape[1]
        size = (CROWD_WIDTH, round(bgr.shape[0] * scale))
        rgb = cv2.cvtColor(cv2.resize(bgr, size, interpolation=cv2.INTER_AREA), cv2.COLOR_BGR2RGB)
        for tracked in tracker.update(detector.detect(rgb), index / fps):
            _, landmarks = align_face(rgb, tracked.box)
            start = time.perf_counter()
            tracks.setdefault(tracked.track_id, LivenessTrack()).observe(
                rgb, tracked.box, landmarks, index / fps
            )
            times.append((time.perf_counter() - start) * 1000)
        index += 1
    capture.release()
    verdicts = [t.verdict() for t in tracks.values() if len(t.rectangles) >= MIN_CROWD_TRACK]
    return verdicts, times, index


def summary(results: list[LivenessResult]) -> dict:
    """Return counts and cue medians of a group of verdicts."""
    if not results:
        return {"tracks": 0}
    return {
        "tracks": len(results),
        "live": sum(r.live for r in results),
        "rejected": sum(not r.live for r in results),
        "median_score": float(np.median([r.score for r in results])),
        "median_rect_present": float(np.median([r.cues["rect_present"] for r in results])),
        "median_frames": float(np.median([r.frames for r in results])),
    }


def main() -> None:
    """Run the benchmark, print the table and write the JSON."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=4)
    parser.add_argument("--crowd-frames", type=int, default=120)
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "results")
    args = parser.parse_args()
    console = Console()
    groups: dict[str, list[LivenessResult]] = {"replay": [], "walk": []}
    per_track = []
    times: list[float] = []
    for kind in groups:
        for person in PERSONS:
            for seed in range(args.seeds):
                result, took = scene_track(kind, person, seed)
                groups[kind].append(result)
                times += took
                per_track.append(
                    {"kind": kind, "person": person, "seed": seed, "live": result.live,
                     "score": result.score, "frames": result.frames, **result.cues}
                )  # fmt: skip
    crowd = crowd_tracks(args.crowd_frames)
    attack = groups["replay"]
    live_groups = {"walk (synthetic)": groups["walk"]}
    if crowd is not None:
        live_groups["crowd_walking.mp4 (real)"] = crowd[0]
    table = Table(title="Multi-frame liveness (rigid enclosing rectangle)")
    for column in ("tracks", "kind", "accepted as live", "rejected", "rate", "median present"):
        table.add_column(column, justify="right" if column != "kind" else "left")
    s = summary(attack)
    table.add_row(
        str(s["tracks"]), "replay (attack)", str(s["live"]), str(s["rejected"]),
        f"APCER {s['live'] / s['tracks']:.1%}", f"{s['median_rect_present']:.2f}",
    )  # fmt: skip
    for name, results in live_groups.items():
        s = summary(results)
        if not s["tracks"]:
            table.add_row("0", name, "-", "-", "-", "-")
            continue
        table.add_row(
            str(s["tracks"]), name, str(s["live"]), str(s["rejected"]),
            f"BPCER {s['rejected'] / s['tracks']:.1%}", f"{s['median_rect_present']:.2f}",
        )  # fmt: skip
    console.print(table)
    all_times = times + (crowd[1] if crowd else [])
    median, p95 = np.median(all_times), np.percentile(all_times, 95)
    console.print(f"observe(): median {median:.2f} ms, p95 {p95:.2f} ms per face-frame")
    constants = {k: v for k, v in vars(liveness).items() if k.isupper()}
    result = {
        "what": "liveness on demo-scene replay/walk segments and real crowd-video tracks",
        "persons": list(PERSONS),
        "seeds": args.seeds,
        "constants": constants,
        "replay": {
            **summary(attack),
            "attack_acceptance_rate": summary(attack)["live"] / len(attack),
        },
        "walk": {
            **summary(groups["walk"]),
            "live_rejection_rate": summary(groups["walk"])["rejected"] / len(groups["walk"]),
        },
        "crowd": None
        if crowd is None
        else {
            **summary(crowd[0]),
            "frames_read": crowd[2],
            "face_observations": len(crowd[1]),
            "live_rejection_rate": (
                summary(crowd[0])["rejected"] / len(crowd[0]) if crowd[0] else None
            ),
        },
        "observe_ms": {
            "median": float(np.median(all_times)),
            "p95": float(np.percentile(all_times, 95)),
        },
        "tracks": per_track,
        "platform": platform.platform(),
    }
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "liveness.json").write_text(json.dumps(result, indent=2))
    console.print(f"wrote {args.out / 'liveness.json'}")


if __name__ == "__main__":
    main()
