"""Liveness per ISO/IEC 30107-3: APCER per attack kind, BPCER on bona fide tracks, cue costs.

Attacks: the generated set (facegate.stream.attacks: prints, mats, bezels, cut-outs, bent and
tilted prints, frame-filling prints, a talking-head video on a phone; kinds held out of tuning are
reported apart). Bona fide: person_talking_720p.mp4 cut into attempts, crowd_walking.mp4's tracks,
the demo scene's walkers. Each video goes through the loop's detector (vision.detector, YuNet by
default, downscaled to loop.detect_max_side, every loop.detect_every-th frame) and tracker; each
track's LivenessTrack is judged when the loop would decide it: once select.min_candidates frames
were seen (or the select window ended), later while liveness says it is pending (no sign of life
yet, up to liveness.max_wait_seconds). An attack video counts as accepted when any of its tracks
is live; in front of walking people (the posters) only the tracks on the artifact's face count.
A bona fide track still open when its footage ended with fewer than liveness.min_frames frames
was cut, not refused: it is counted apart (a failure to acquire), outside BPCER. Before each
attack video the camera is shown --lead-in-seconds of its scene without the artifact
(stream.attacks.render_lead_in: a fixed door camera sees its empty scene before anyone comes;
none for a poster on the wall, which has always hung there), and before each demo walker the
empty street, so the backdrop cue has learned the scene; the talker's clip never shows her room
without her and the crowd's camera moves, so the cue abstains there.

Challenge (liveness.challenge_always): every attack video is judged again as the answer to a
prompt for each side (turn left, turn right): a recording answers a random side by chance only;
the live answers are generated heads turning to the asked side (stream/turn_scene.py) after a
0.6 s reaction, and the time from the prompt to their decision is what the challenge adds.
Prints tables and writes JSON to bench/results/liveness.json (liveness_seed<N>.json for another
attack set seed: new videos, none of which set any limit).

    python bench/liveness.py [--per-kind 5] [--level standard] [--attempt-seconds 2]
        [--stride-seconds 1] [--seeds 4] [--seed 0] [--cache DIR] [--lead-in-seconds 1.5]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import time
from collections.abc import Iterable, Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path

import cv2
import numpy as np
from attacks import CACHE, ensure_videos, face_boxes
from rich.console import Console
from rich.table import Table

from facegate.settings import Settings, load_settings
from facegate.stream.attacks import KINDS, render_lead_in
from facegate.stream.liveness import TURN_LEFT, TURNS, LivenessResult, LivenessTrack
from facegate.stream.loop import loop_pipeline
from facegate.stream.scene import DEFAULT_FPS, SceneSegment, demo_scene
from facegate.stream.tracker import Tracker
from facegate.stream.turn_scene import answering_head
from facegate.vision.liveness.backdrop import Backdrop, hides_backdrop
from facegate.vision.liveness.landmarks import landmarks_68
from facegate.vision.liveness.motion import ring_motion
from facegate.vision.liveness.planarity import nose_parallax
from facegate.vision.liveness.rectangle import rectangle_in, region_lines
from facegate.vision.liveness.screen import screen_sides
from facegate.vision.types import FaceBox

ROOT = Path(__file__).resolve().parents[1]
DATA = Path(os.environ.get("FACEGATE_DATA", ROOT.parent / "shared" / "datasets"))
VIDEO = DATA / "video"


@dataclass
class Outcome:
    """One track judged as the loop would: verdict, time to decision, whether it waited."""

    source: str
    track: int
    result: LivenessResult
    decided_after_s: float
    ready_after_s: float
    observe_ms: list[float] = field(default_factory=list)
    boxes: list[tuple[float, FaceBox]] = field(default_factory=list)  # (timestamp, box) seen
    cut: bool = False  # still open when the footage ended (a live camera would see it go on)


def _iou(a: FaceBox, b: list[int]) -> float:
    """Return the intersection over union of a face box and an (l, t, r, b) box."""
    w = min(a.right, b[2]) - max(a.left, b[0])
    h = min(a.bottom, b[3]) - max(a.top, b[1])
    inter = max(0, w) * max(0, h)
    union = a.width * a.height + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return inter / union if union > 0 else 0.0


def on_artifact(outcomes: list[Outcome], truth: list[list[int]] | None, fps: float) -> list:
    """Return the outcomes of tracks on the artifact's face (IoU >= 0.3 in a frame); all of them
    where truth is None (a still background: every face there is a picture)."""
    if truth is None:
        return outcomes
    return [
        o
        for o in outcomes
        if any(_iou(box, truth[min(round(t * fps), len(truth) - 1)]) >= 0.3 for t, box in o.boxes)
    ]


def video_frames(path: Path, start_s: float = 0.0, seconds: float | None = None) -> Iterator:
    """Yield (timestamp, RGB frame) of a video file from start_s for seconds."""
    capture = cv2.VideoCapture(str(path))
    fps = capture.get(cv2.CAP_PROP_FPS) or 25.0
    capture.set(cv2.CAP_PROP_POS_FRAMES, round(start_s * fps))
    index = 0
    while seconds is None or index < seconds * fps:
        ok, bgr = capture.read()
        if not ok:
            break
        yield index / fps, cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)
        index += 1
    capture.release()


def _boxes_cached(
    cache: Path | None, settings: Settings, frames: Iterable
) -> Iterator[tuple[float, np.ndarray, list[FaceBox]]]:
    """Yield (timestamp, frame, detected boxes) of every detect_every-th frame; boxes cached."""
    key = {
        "detect_every": settings.loop.detect_every,
        "detect_max_side": settings.loop.detect_max_side,
        "detector": settings.vision.detector,
        "upsample": settings.vision.upsample,
    }
    stored = json.loads(cache.read_text()) if cache is not None and cache.exists() else None
    known = stored["boxes"] if stored and stored["key"] == key else None
    detector = None if known is not None else loop_pipeline(settings).detector
    found = []
    for index, (timestamp, image) in enumerate(frames):
        if index % settings.loop.detect_every:
            continue
        if known is not None:
            boxes = [FaceBox(**b) for b in known[len(found)]]
        else:
            assert detector is not None
            boxes = detector.detect(image)
        found.append([asdict(b) for b in boxes])
        yield timestamp, image, boxes
    if known is None and cache is not None:
        cache.parent.mkdir(parents=True, exist_ok=True)
        cache.write_text(json.dumps({"key": key, "boxes": found}))


def _watched(
    backdrop: Backdrop, frames: Iterable, lead_in: Iterable[np.ndarray], fps: float, seen: list
) -> Iterator[tuple[float, np.ndarray]]:
    """Yield the frames, after showing the camera its lead-in (the scene before, at fps); each
    frame's backdrop view goes to seen[0] as it is yielded."""
    before = list(lead_in)
    for index, image in enumerate(before):
        backdrop.observe(image, (index - len(before)) / fps)
    for timestamp, image in frames:
        seen[:] = [backdrop.observe(image, timestamp)]
        yield timestamp, image


def judge(
    source: str,
    frames: Iterable,
    settings: Settings,
    cache: Path | None,
    asked: str | None = None,
    lead_in: Iterable[np.ndarray] = (),
    fps: float = 15.0,
) -> list[Outcome]:
    """Run detector, tracker and one LivenessTrack per track; judge each track like the loop
    (asked: the motion a prompt asked for, as for the tracks after a liveness retry; lead_in:
    what the camera saw before, at fps, from which it learns its scene)."""
    backdrop, view = Backdrop(settings.liveness), []
    frames = _watched(backdrop, frames, lead_in, fps, view)
    tracker = Tracker(settings.track)
    tracks: dict[int, LivenessTrack] = {}
    seen: dict[int, list[float]] = {}  # observation times per track
    times: dict[int, list[float]] = {}
    done: dict[int, Outcome] = {}
    ready: dict[int, float] = {}
    placed: dict[int, list[tuple[float, FaceBox]]] = {}
    for timestamp, image, boxes in _boxes_cached(cache, settings, frames):
        for tracked in tracker.update(boxes, timestamp):
            tid = tracked.track_id
            if tid in done or tracked.box.width < settings.select.min_face_px:
                continue
            track = tracks.setdefault(tid, LivenessTrack(settings.liveness, asked=asked))
            start = time.perf_counter()
            track.observe(image, tracked.box, np.zeros((5, 2), np.float32), timestamp, view[0])
            times.setdefault(tid, []).append((time.perf_counter() - start) * 1000)
            seen.setdefault(tid, []).append(timestamp)
            placed.setdefault(tid, []).append((timestamp, tracked.box))
            first = seen[tid][0]
            full = len(seen[tid]) >= settings.select.min_candidates
            if full or timestamp - first >= settings.select.window_seconds:
                ready.setdefault(tid, timestamp - first)
            enough = tid in ready and len(seen[tid]) >= settings.liveness.min_frames
            if enough and not track.pending(timestamp):
                done[tid] = Outcome(
                    source, tid, track.verdict(), timestamp - first, ready[tid], times[tid],
                    placed[tid],
                )  # fmt: skip
    for tid, track in tracks.items():  # the source ended: open tracks are decided now
        if tid not in done and len(seen[tid]) >= settings.select.min_frames:
            span = seen[tid][-1] - seen[tid][0]
            done[tid] = Outcome(
                source, tid, track.verdict(), span, span, times[tid], placed[tid], cut=True
            )
    return list(done.values())


def cue_costs(settings: Settings, frames: list[tuple[np.ndarray, object]]) -> dict[str, float]:
    """Return the median ms per face-frame of each cue, measured on (frame, box) pairs."""
    s = settings.liveness
    from facegate.stream.liveness import _ring_params  # the track's own parameter mapping

    costs: dict[str, list[float]] = {"ring_motion": [], "landmarks_68": [], "planarity": []}
    costs["rectangle"] = []
    costs["screen_sides"] = []
    costs["backdrop_learn"] = []  # per camera frame (shrink, compare, learn), not per face
    costs["backdrop_sides"] = []
    backdrop = Backdrop(s)
    costs["grey"] = []
    previous = None
    last_points = None
    for image, box in frames:
        start = time.perf_counter()
        gray = cv2.cvtColor(image, cv2.COLOR_RGB2GRAY)
        costs["grey"].append((time.perf_counter() - start) * 1000)
        if previous is not None and previous.shape == gray.shape:
            start = time.perf_counter()
            ring_motion(previous, gray, box, _ring_params(s))
            costs["ring_motion"].append((time.perf_counter() - start) * 1000)
        previous = gray
        start = time.perf_counter()
        points = landmarks_68(image, box)
        costs["landmarks_68"].append((time.perf_counter() - start) * 1000)
        if last_points is not None:
            start = time.perf_counter()
            nose_parallax(last_points, points)
            costs["planarity"].append((time.perf_counter() - start) * 1000)
        last_points = points
        start = time.perf_counter()
        lines = region_lines(image, box, s)
        if lines is not None:
            rectangle_in(lines, s)
        costs["rectangle"].append((time.perf_counter() - start) * 1000)
        if lines is not None:
            start = time.perf_counter()
            screen_sides(lines, s)
            costs["screen_sides"].append((time.perf_counter() - start) * 1000)
        start = time.perf_counter()
        view = backdrop.observe(image, len(costs["grey"]) / 30.0)
        costs["backdrop_learn"].append((time.perf_counter() - start) * 1000)
        start = time.perf_counter()
        hides_backdrop(view, box, s)
        costs["backdrop_sides"].append((time.perf_counter() - start) * 1000)
    return {k: round(float(np.median(v)), 3) for k, v in costs.items() if v}


def bona_fide(
    settings: Settings, attempt_s: float, stride_s: float, seeds: int, cache: Path, lead_in_s: float
) -> list[Outcome]:
    """Return the judged bona fide tracks: talker attempts, crowd tracks, demo walkers (the
    camera first shown lead_in_s of its empty scene where there is one: not for the talker, whose
    clip never shows her room without her, nor for the crowd, filmed by a moving camera)."""
    outcomes: list[Outcome] = []
    talker = VIDEO / "person_talking_720p.mp4"
    if talker.exists():
        start = 0.0
        while start + attempt_s <= 10.0:
            frames = video_frames(talker, start, attempt_s)
            name = f"talker@{start:.1f}s"
            outcomes += judge(name, frames, settings, cache / f"{name}-{attempt_s}.boxes.json")
            start += stride_s
    crowd = VIDEO / "crowd_walking.mp4"
    if crowd.exists():
        outcomes += judge("crowd", video_frames(crowd), settings, cache / "crowd.boxes.json")
    for person in ("Eileen Collins", "Grace Hopper"):
        for seed in range(seeds):
            scene = demo_scene(segments=(SceneSegment("walk", 3.0, person),), seed=seed)
            frames = ((f.timestamp, f.image) for f in scene)
            street = demo_scene(segments=(SceneSegment("street", lead_in_s),), seed=seed)
            empty = [f.image for f in street]  # the same street, before the walker comes
            name = f"walk:{person}:{seed}"
            path = cache / f"{name}.boxes.json"
            outcomes += judge(name, frames, settings, path, None, empty, DEFAULT_FPS)
    return outcomes


def challenge_answers(settings: Settings, seeds: int, cache: Path) -> list[dict]:
    """Return the judged live answers: each demo head turning to each asked side, per seed."""
    rows = []
    for person in ("Eileen Collins", "Grace Hopper"):
        for side in TURNS:
            for seed in range(seeds):
                sign = 1 if side == TURN_LEFT else -1
                name = f"answer:{person}:{side}:{seed}"
                frames = answering_head(person, sign, seed=seed)
                path = cache / f"{name}.boxes.json"
                for o in judge(name, frames, settings, path, asked=side):
                    rows.append({"source": name, "side": side, "outcome": o})
    return rows


def challenge_attacks(attacks: list[dict], settings: Settings) -> dict[str, dict]:
    """Return per attack kind how many (video, side) answers passed a challenge."""
    per_kind: dict[str, dict] = {}
    for a in attacks:
        entry = per_kind.setdefault(a["spec"].kind, {"answers": 0, "accepted": 0, "videos": []})
        for side in TURNS:
            outcomes = judge(
                a["spec"].name, video_frames(a["path"]), settings, a["boxes"], side,
                a["lead_in"], a["spec"].fps,
            )  # fmt: skip
            outcomes = on_artifact(outcomes, a["truth"], a["spec"].fps)
            passed = any(o.result.live for o in outcomes)
            entry["answers"] += 1
            entry["accepted"] += int(passed)
            if passed:
                entry["videos"].append(f"{a['spec'].name}:{side}")
    return per_kind


def main() -> None:
    """Run the benchmark, print the table and write the JSON."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--per-kind", type=int, default=5, help="attack videos per kind")
    parser.add_argument("--level", choices=("low", "standard", "high"), default=None)
    parser.add_argument("--attempt-seconds", type=float, default=2.0)
    parser.add_argument("--stride-seconds", type=float, default=1.0, help="between attempts")
    parser.add_argument("--seeds", type=int, default=4, help="demo walker seeds per person")
    parser.add_argument("--seed", type=int, default=0, help="attack set seed")
    parser.add_argument("--cache", type=Path, default=CACHE, help="attack videos, cached boxes")
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "results")
    parser.add_argument(
        "--lead-in-seconds", type=float, default=1.5,
        help="the empty scene the camera sees before each attack or walker (backdrop cue)",
    )  # fmt: skip
    args = parser.parse_args()
    load_start = list(os.getloadavg())
    settings = load_settings()
    if args.level:
        liveness = settings.liveness.model_copy(update={"level": args.level})
        settings = settings.model_copy(update={"liveness": liveness})
    console = Console()
    attacks = []
    sample: list[tuple[np.ndarray, object]] = []
    for spec, path in ensure_videos(args.cache, args.per_kind, args.seed):
        frames = video_frames(path)
        lead_in = list(render_lead_in(spec, DATA, args.lead_in_seconds))
        boxes = path.with_suffix(".boxes.json")
        outcomes = judge(spec.name, frames, settings, boxes, None, lead_in, spec.fps)
        truth = face_boxes(args.cache, path)
        outcomes = on_artifact(outcomes, truth, spec.fps)
        accepted = any(o.result.live for o in outcomes)
        attacks.append(
            {
                "spec": spec,
                "outcomes": outcomes,
                "accepted": accepted,
                "path": path,
                "boxes": path.with_suffix(".boxes.json"),
                "truth": truth,
                "lead_in": lead_in,
            }
        )
        console.print(
            f"{spec.name:18} {spec.person[:22]:22} {spec.motion:8} {spec.background:8} "
            f"{spec.width}x{spec.height} tracks={len(outcomes)} accepted={accepted} "
            + " ".join(str(o.result.cues) for o in outcomes[:2])
        )
    live_tracks = bona_fide(
        settings, args.attempt_seconds, args.stride_seconds, args.seeds, args.cache / "bona_fide",
        args.lead_in_seconds,
    )  # fmt: skip
    for o in live_tracks:
        console.print(f"{o.source:22} track {o.track} live={o.result.live} {o.result.cues}")
    talker = VIDEO / "person_talking_720p.mp4"
    if talker.exists():
        detector = loop_pipeline(settings).detector
        for _, image in video_frames(talker, 0.0, 1.6):
            boxes = detector.detect(image)
            if boxes:
                sample.append((image, boxes[0]))
    costs = cue_costs(settings, sample) if sample else {}

    table = Table(title=f"Liveness (level {settings.liveness.level}): APCER per attack kind")
    for column in ("kind", "held out", "videos", "accepted", "APCER", "retry asked"):
        table.add_column(column, justify="left" if column == "kind" else "right")
    per_kind = {}
    for kind, held_out in KINDS.items():
        group = [a for a in attacks if a["spec"].kind == kind]
        if not group:
            continue
        accepted = sum(a["accepted"] for a in group)
        asked = sum(any(o.result.needs for o in a["outcomes"]) for a in group)
        per_kind[kind] = {
            "held_out": held_out,
            "videos": len(group),
            "accepted": accepted,
            "apcer": accepted / len(group),
            "videos_with_a_prompt": asked,
        }
        table.add_row(
            kind, "yes" if held_out else "no", str(len(group)), str(accepted),
            f"{accepted / len(group):.0%}", str(asked),
        )  # fmt: skip
    console.print(table)
    bpcer = Table(title="BPCER on bona fide tracks")
    columns = ("source", "tracks", "cut short", "refused", "of which prompted", "BPCER")
    for column in (*columns, "wait added s"):
        bpcer.add_column(column, justify="left" if column == "source" else "right")
    bona = {}
    for name in ("talker", "crowd", "walk"):
        every = [o for o in live_tracks if o.source.startswith(name)]
        # a track the footage's end cut short of liveness.min_frames was never a whole
        # presentation: a failure to acquire, counted apart (a live camera sees it go on)
        group = [o for o in every if not (o.cut and o.result.reason == "too_few_frames")]
        if not group:
            continue
        refused = [o for o in group if not o.result.live]
        waits = [o.decided_after_s - o.ready_after_s for o in group]
        bona[name] = {
            "tracks": len(group),
            "cut_by_footage_end": len(every) - len(group),
            "refused": len(refused),
            "prompted": sum(o.result.needs is not None for o in refused),
            "bpcer": len(refused) / len(group),
            "median_wait_added_s": float(np.median(waits)),
            "max_wait_added_s": float(np.max(waits)),
            "live_tracks_wait_added_s": float(
                np.median([w for w, o in zip(waits, group, strict=True) if o.result.live] or [0])
            ),
        }
        bpcer.add_row(
            name, str(len(group)), str(len(every) - len(group)), str(len(refused)),
            str(bona[name]["prompted"]),
            f"{len(refused) / len(group):.1%}", f"{np.median(waits):.2f} (max {np.max(waits):.2f})",
        )  # fmt: skip
    console.print(bpcer)
    challenged = challenge_attacks(attacks, settings)
    answers = challenge_answers(settings, max(1, args.seeds // 2), args.cache / "answers")
    ctable = Table(title="Challenge: a recording answering a random side (per video and side)")
    for column in ("attack kind", "answers", "passed", "APCER per attempt"):
        ctable.add_column(column, justify="left" if column == "attack kind" else "right")
    for kind, entry in challenged.items():
        ctable.add_row(
            kind, str(entry["answers"]), str(entry["accepted"]),
            f"{entry['accepted'] / entry['answers']:.0%}",
        )  # fmt: skip
    console.print(ctable)
    atable = Table(title="Challenge: generated heads turning to the asked side")
    for column in ("side", "answers", "refused", "decided after s (median, max)"):
        atable.add_column(column, justify="left" if column == "side" else "right")
    answered = {}
    for side in TURNS:
        group = [r["outcome"] for r in answers if r["side"] == side]
        if not group:
            continue
        times = [o.decided_after_s for o in group]
        answered[side] = {
            "answers": len(group),
            "refused": sum(not o.result.live for o in group),
            "median_decided_after_s": float(np.median(times)),
            "max_decided_after_s": float(np.max(times)),
        }
        atable.add_row(
            side, str(len(group)), str(answered[side]["refused"]),
            f"{np.median(times):.2f}, {np.max(times):.2f}",
        )  # fmt: skip
    console.print(atable)
    for r in answers:
        o = r["outcome"]
        console.print(f"{o.source:34} live={o.result.live} {o.decided_after_s:.2f} {o.result.cues}")
    observe = [ms for o in live_tracks for ms in o.observe_ms]
    observe += [ms for a in attacks for o in a["outcomes"] for ms in o.observe_ms]
    console.print(
        f"observe(): median {np.median(observe):.2f} ms, p95 {np.percentile(observe, 95):.2f} ms "
        f"per face-frame; per cue (talker 720p): {costs}"
    )
    tuned = [a for a in attacks if not a["spec"].held_out]
    held = [a for a in attacks if a["spec"].held_out]
    result = {
        "what": "liveness: generated attacks (APCER per kind) vs bona fide tracks (BPCER)",
        "settings": settings.liveness.model_dump(),
        "detect_every": settings.loop.detect_every,
        "detect_max_side": settings.loop.detect_max_side,
        "apcer_per_kind": per_kind,
        "apcer_tuned_kinds": sum(a["accepted"] for a in tuned) / max(1, len(tuned)),
        "apcer_held_out_kinds": sum(a["accepted"] for a in held) / max(1, len(held)),
        "bpcer": bona,
        "observe_ms": {
            "median": float(np.median(observe)),
            "p95": float(np.percentile(observe, 95)),
        },
        "cue_ms_median": costs,
        "challenge_attacks": challenged,
        "challenge_answers": answered,
        "challenge_answer_tracks": [
            {
                "source": r["source"],
                "live": r["outcome"].result.live,
                "reason": r["outcome"].result.reason,
                "decided_after_s": round(r["outcome"].decided_after_s, 3),
                **r["outcome"].result.cues,
            }
            for r in answers
        ],
        "attack_seed": args.seed,
        "load_average_start": load_start,
        "load_average": list(os.getloadavg()),
        "attacks": [
            {
                "name": a["spec"].name,
                "kind": a["spec"].kind,
                "person": a["spec"].person,
                "motion": a["spec"].motion,
                "background": a["spec"].background,
                "size": [a["spec"].width, a["spec"].height],
                "small": a["spec"].small,
                "accepted": a["accepted"],
                "tracks": [
                    {"live": o.result.live, "reason": o.result.reason, **o.result.cues}
                    for o in a["outcomes"]
                ],
            }
            for a in attacks
        ],
        "bona_fide": [
            {
                "source": o.source,
                "live": o.result.live,
                "reason": o.result.reason,
                "decided_after_s": round(o.decided_after_s, 3),
                "ready_after_s": round(o.ready_after_s, 3),
                "cut_by_footage_end": o.cut,
                **o.result.cues,
            }
            for o in live_tracks
        ],
        "platform": platform.platform(),
    }
    args.out.mkdir(parents=True, exist_ok=True)
    name = "liveness.json" if args.seed == 0 else f"liveness_seed{args.seed}.json"
    (args.out / name).write_text(json.dumps(result, indent=2))
    console.print(f"wrote {args.out / name}")


if __name__ == "__main__":
    main()
