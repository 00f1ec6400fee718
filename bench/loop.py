"""The access loop end to end: frames/s (decoding included), gate pass rate, time to decision.

Time to decision is measured two ways: wall ms from the track's first usable frame to its
decision (the events' latency_ms: what a person waits when the loop keeps up with the camera)
and stream ms (the same span in frame timestamps: how many frames the rule waited for), for
enrolled people who were let in and for everyone else, apart. Each track's breakdown goes into
the JSON: first detection, first usable frame, when the selector was ready (select.best_k good
frames, select.min_candidates or the window), when liveness stopped waiting
(liveness.min_seconds / max_wait_seconds), the decision, frames seen and kept, and what it
waited for last; and the loop's wall ms per frame.

Every other person of the shared 1080p crowd video who comes close enough to be decided is
enrolled from one frame (the crop around their largest face, usually their last frame, after
the decision's frames), beside the demo scene's resident, so the crowd run has enrolled people
and strangers (latency is reported for the unlocked, for every other decision, and for the
strangers, whatever was decided). Both the loop's rule before this change
(`loop.early_decide` off, no `select.max_overlap` check) and after it run in the same process
over the crowd video (frames read ahead; median of --repeats runs; after: also decoded in the
loop's thread) and the generated demo scene; prints a table and writes bench/results/loop.json.

    python bench/loop.py [--repeats 3]
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from rich.console import Console
from rich.table import Table

from facegate import api
from facegate.access_event import AccessEvent
from facegate.demo import enroll_scene_people
from facegate.errors import FacegateError
from facegate.gallery import SQLiteGallery
from facegate.settings import Settings, SourceSettings, load_settings
from facegate.stream.gates import build_gate
from facegate.stream.loop import AccessLoop, loop_pipeline
from facegate.stream.loop import _TrackState as TrackState
from facegate.stream.ruling import Ruling
from facegate.stream.sources import FrameSource, open_source
from facegate.stream.tracker import Tracker, iou
from facegate.vision.types import FaceBox

ROOT = Path(__file__).resolve().parents[1]
DATA = Path(os.environ.get("FACEGATE_DATA", ROOT.parent / "shared" / "datasets"))
CROP_MARGIN = 0.6  # the enrollment crop: the face box grown by this many box sides each way
SAME_TRACK_IOU = 0.5  # a loop track is an enrollment track when their boxes overlap this much


@dataclass
class CrowdTrack:
    """One person of the enrollment pass: boxes by frame time, and the largest face's frame."""

    boxes: dict[float, FaceBox] = field(default_factory=dict)
    best: tuple[int, float, np.ndarray] | None = None  # face width, time, crop


def _crop(frame: np.ndarray, box: FaceBox) -> np.ndarray:
    """Return the frame cut around one face box (CROP_MARGIN box sides each way)."""
    grow = round(CROP_MARGIN * box.width)
    top, left = max(0, box.top - grow), max(0, box.left - grow)
    return frame[top : box.bottom + grow, left : box.right + grow].copy()


def crowd_tracks(video: Path, settings: Settings) -> dict[int, CrowdTrack]:
    """Return the crowd video's tracks as the loop's gate, detector and tracker find them."""
    gate, detector = build_gate(settings.gate), loop_pipeline(settings).detector
    tracker, tracks = Tracker(settings.track), {}
    for timestamp, frame in open_source(video, settings.source):
        gate.update(frame, timestamp)
        for face in tracker.update(detector.detect(frame), timestamp):
            track = tracks.setdefault(face.track_id, CrowdTrack())
            track.boxes[timestamp] = face.box
            if track.best is None or face.box.width > track.best[0]:
                track.best = (face.box.width, timestamp, _crop(frame, face.box))
    return tracks


def enroll_crowd(gallery: SQLiteGallery, video: Path, settings: Settings) -> dict[str, object]:
    """Enroll every other decidable crowd person from one frame; return who and from when."""
    tracks = crowd_tracks(video, settings)
    wide = [
        tid
        for tid, t in tracks.items()
        if t.best is not None and t.best[0] >= settings.select.min_face_px
    ]
    enrolled: dict[str, dict[str, object]] = {}
    for tid in wide[::2]:
        width, when, crop = tracks[tid].best  # type: ignore[misc]
        name = f"crowd-{tid}"
        try:
            api.enroll(
                gallery, name, [crop], "bench: one frame of the shared video", settings=settings
            )
        except FacegateError as exc:
            enrolled[name] = {"refused": str(exc)}
            continue
        enrolled[name] = {"frame_s": round(when, 2), "face_px": width}
    return {"tracks": tracks, "enrolled": enrolled}


def identity(boxes: dict[float, FaceBox], crowd: dict[int, CrowdTrack]) -> str | None:
    """Return the enrollment pass's name of a loop track ("crowd-N"), matched by box overlap."""
    best, name = 0.0, None
    for tid, track in crowd.items():
        for when, box in boxes.items():
            other = track.boxes.get(when)
            if other is not None and iou(box, other) > best:
                best, name = iou(box, other), f"crowd-{tid}"
    return name if best >= SAME_TRACK_IOU else None


def _pct(values: list[float], q: float) -> float | None:
    """Return the q-th percentile rounded to 0.1 (None for no values)."""
    return round(float(np.percentile(values, q)), 1) if values else None


def _rel(value: float | None, start: float) -> float | None:
    """Return ms from start to a stream time (None stays None)."""
    return None if value is None else round(1000 * (value - start), 1)


def measure(
    name: str,
    source: FrameSource,
    gallery: SQLiteGallery,
    settings: Settings,
    crowd: dict[int, CrowdTrack] | None = None,
    enrolled: frozenset[str] = frozenset(),
) -> dict[str, object]:
    """Return throughput, decisions and each track's latency breakdown for one loop run."""
    loop = AccessLoop(settings, gallery, lambda event: None)
    loop.gallery.count(loop.pipeline.embedder.name)  # open the gallery before timing
    seen: dict[int, float] = {}  # track -> stream time of its first detection
    usable: dict[int, float] = {}  # attempt's first usable frame (a liveness retry starts anew)
    ready: dict[int, float] = {}  # first time the attempt's selector was ready
    lively: dict[int, float] = {}  # first time liveness no longer held the attempt back
    how: dict[int, tuple[str, int, int]] = {}  # what decided it, frames seen, frames kept
    boxes: dict[int, dict[float, FaceBox]] = {}
    decide = loop._decide

    def watch(
        tid: int, state: TrackState, timestamp: float, early: Ruling | None = None
    ) -> AccessEvent:
        """Note what the track waited for, then decide it as the loop would."""
        usable.setdefault(tid, state.frames.started_at)
        is_ready, pending = state.frames.ready(timestamp), state.liveness.pending(timestamp)
        if is_ready:
            ready.setdefault(tid, timestamp)
        if not pending:
            lively.setdefault(tid, timestamp)
        if early is not None:
            rule = "early: clear match"
        elif not (is_ready and not pending):
            rule = "track closed or source ended"
        else:
            last = "the selector" if ready[tid] >= lively[tid] else "liveness"
            rule = f"usual rule, last waited for {last}"
        how[tid] = (rule, state.frames._seen, len(state.frames))
        return decide(tid, state, timestamp, early)

    loop._decide = watch  # type: ignore[method-assign]
    tracks: list[dict[str, object]] = []

    def record(event: AccessEvent, when: float) -> None:
        """Keep one decision's breakdown and start the track's next attempt afresh."""
        tid = event.track
        first = usable.pop(tid)
        rule, frames_seen, frames_kept = how.pop(tid)
        tracks.append(
            {
                "track": tid,
                "decision": event.decision,
                "reason": event.reason,
                "person": event.person,
                "distance": None if event.distance is None else round(event.distance, 3),
                "threshold": round(event.threshold, 3),
                "first_detection_ms": _rel(seen.get(tid), first),
                "selector_ready_ms": _rel(ready.pop(tid, None), first),
                "liveness_done_ms": _rel(lively.pop(tid, None), first),
                "stream_decision_ms": round(1000 * (when - first), 1),
                "wall_decision_ms": event.latency_ms,
                "frames_seen": frames_seen,
                "frames_kept": frames_kept,
                "frames_used": event.frames_used,
                "live": (event.liveness or {}).get("live"),
                "best_box": event.face_quality.get("box"),
                "decided_by": rule,
            }
        )

    frame_ms: list[float] = []
    start = time.perf_counter()
    last = 0.0
    for timestamp, frame in source:
        begin = time.perf_counter()
        decided = loop.process(frame, timestamp)
        frame_ms.append(1000 * (time.perf_counter() - begin))
        for event in decided:
            record(event, timestamp)
        for tid, track in loop.tracker._tracks.items():
            seen.setdefault(tid, timestamp)
            boxes.setdefault(tid, {})[timestamp] = track.box
        for tid, state in loop._tracks.items():
            if state.frames.started_at is None:
                continue
            usable.setdefault(tid, state.frames.started_at)
            if state.frames.ready(timestamp):
                ready.setdefault(tid, timestamp)
            if not state.liveness.pending(timestamp):
                lively.setdefault(tid, timestamp)
        last = timestamp
    for event in loop.flush(last):
        record(event, last)
    seconds = time.perf_counter() - start
    source.close()
    groups: dict[str, list[tuple[float, float]]] = {"unlocked": [], "others": [], "strangers": []}
    wrong = 0  # a stranger let in, or an enrolled person let in as someone else
    for t in tracks:
        who = identity(boxes.get(int(t["track"]), {}), crowd) if crowd else None
        t["who"], t["enrolled"] = who, who in enrolled
        if crowd is not None and t["decision"] == "unlock" and t["person"] != who:
            wrong += 1
        times = (float(t["stream_decision_ms"]), float(t["wall_decision_ms"]))
        groups["unlocked" if t["decision"] == "unlock" else "others"].append(times)
        if crowd is not None and not t["enrolled"]:
            groups["strangers"].append(times)  # not enrolled, whatever was decided
    summary = {
        f"{g}_{kind}_ms_p{q}": _pct([pair[i] for pair in groups[g]], q)
        for g in groups
        for i, kind in enumerate(("stream", "wall"))
        for q in (50, 95)
    }
    stream_all = [float(t["stream_decision_ms"]) for t in tracks]
    return {
        "source": name,
        "early_decide": settings.loop.early_decide,
        "frames": loop.stats.frames,
        "video_seconds": round(last, 2),
        "wall_seconds": round(seconds, 2),
        "frames_per_second": round(loop.stats.frames / seconds, 1),
        "frame_wall_ms_p50_p95": [_pct(frame_ms, 50), _pct(frame_ms, 95)],
        "past_gate": round(loop.stats.gated / max(1, loop.stats.frames), 3),
        "faces_embedded": loop.stats.embedded,
        "decisions": len(tracks),
        "unlocked": len(groups["unlocked"]),
        "strangers": len(groups["strangers"]) if crowd is not None else None,
        "wrong_unlocks": wrong if crowd is not None else None,
        **summary,
        "stream_decision_ms_p50": _pct(stream_all, 50),
        "stream_decision_ms_p95": _pct(stream_all, 95),
        "tracks": tracks,
    }


def main() -> None:
    """Run the benchmark and print / write its results."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "results")
    parser.add_argument(
        "--repeats", type=int, default=3, help="Runs per crowd configuration (median reported)."
    )
    args = parser.parse_args()
    after = load_settings(environ={})
    before = after.model_copy(  # the loop as it was: no early decisions, no overlap check
        update={
            "loop": after.loop.model_copy(update={"early_decide": False}),
            "select": after.select.model_copy(update={"max_overlap": 1.0}),
        }
    )
    rows, enrolled_info = [], {}
    crowd_video = DATA / "video" / "crowd_walking.mp4"
    with tempfile.TemporaryDirectory() as tmp, SQLiteGallery(Path(tmp) / "g.db") as gallery:
        enroll_scene_people(gallery, Path(tmp), after)
        crowd: dict[int, CrowdTrack] | None = None
        enrolled: frozenset[str] = frozenset()
        if crowd_video.exists():
            found = enroll_crowd(gallery, crowd_video, after)
            crowd, enrolled_info = found["tracks"], found["enrolled"]  # type: ignore[assignment]
            enrolled = frozenset(n for n, i in enrolled_info.items() if "refused" not in i)
        for label, settings in (("before", before), ("after", after)):
            modes = {"frames read ahead": SourceSettings()}
            if label == "after":
                modes["read in the loop"] = SourceSettings(prefetch_frames=0)
            for mode, source_settings in modes.items() if crowd is not None else ():
                runs = [
                    measure(
                        f"{label}: crowd_walking.mp4 (1920x1080, 25 fps), {mode}",
                        open_source(crowd_video, source_settings),
                        gallery,
                        settings,
                        crowd,
                        enrolled,
                    )
                    for _ in range(args.repeats)
                ]
                rows.append(
                    sorted(runs, key=lambda r: float(r["frames_per_second"]))[len(runs) // 2]
                )
            rows.append(
                measure(
                    f"{label}: demo scene (640x360, 15 fps, generated)",
                    open_source(None, settings.source),
                    gallery,
                    settings,
                )
            )
    table = Table(title="access loop, single process, decoding / generation included")
    for column in (
        "run",
        "frames/s",
        "decisions (unlocked)",
        "wrong unlocks",
        "unlocked: stream p50 / p95",
        "others: stream p50 / p95",
        "strangers: stream p50 / p95",
        "unlocked: wall p50 / p95",
        "others: wall p50 / p95",
    ):
        table.add_column(column)
    for r in rows:
        table.add_row(
            str(r["source"]),
            str(r["frames_per_second"]),
            f"{r['decisions']} ({r['unlocked']})",
            str(r["wrong_unlocks"]),
            *(
                f"{r[f'{g}_{kind}_ms_p50']} / {r[f'{g}_{kind}_ms_p95']}"
                for kind, names in (
                    ("stream", ("unlocked", "others", "strangers")),
                    ("wall", ("unlocked", "others")),
                )
                for g in names
            ),
        )
    Console(width=200).print(table)
    args.out.mkdir(parents=True, exist_ok=True)
    result = {"load_average": os.getloadavg(), "crowd_enrolled": enrolled_info, "runs": rows}
    (args.out / "loop.json").write_text(json.dumps(result, indent=2))
    Console().print(f"wrote {args.out / 'loop.json'}")


if __name__ == "__main__":
    main()
