"""The access loop end to end: frames/s (decoding included), gate pass rate, time to decision.

Time to decision is measured two ways: wall ms from the track's first usable frame to its
decision (the events' latency_ms: what a person waits when the loop keeps up with the camera)
and stream ms (the same span in frame timestamps: how many frames the rule waited for).

Runs `AccessLoop` over the shared 1080p crowd video (with frames decoded ahead on a reader
thread, the default, and decoded in the loop's thread; median of --repeats runs each) and over
the generated demo scene, in one process, and prints a table and writes bench/results/loop.json.

    python bench/loop.py
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import time
from pathlib import Path

import numpy as np
from rich.console import Console
from rich.table import Table

from facegate.access_event import AccessEvent
from facegate.demo import enroll_scene_people
from facegate.gallery import SQLiteGallery
from facegate.settings import Settings, SourceSettings, load_settings
from facegate.stream.loop import AccessLoop
from facegate.stream.sources import FrameSource, open_source

ROOT = Path(__file__).resolve().parents[1]
READ_MODES = {
    "frames read ahead": SourceSettings(),
    "read in the loop": SourceSettings(prefetch_frames=0),
}
DATA = Path(os.environ.get("FACEGATE_DATA", ROOT.parent / "shared" / "datasets"))


def measure(
    name: str, source: FrameSource, gallery: SQLiteGallery, settings: Settings
) -> dict[str, object]:
    """Return throughput and decision figures of one run of the loop over a source."""
    events: list[AccessEvent] = []
    loop = AccessLoop(settings, gallery, events.append)
    loop.gallery.count(loop.pipeline.embedder.name)  # open the gallery before timing
    starts: dict[int, float] = {}  # track -> stream time of its first usable frame
    stream_ms: list[float] = []  # first usable frame -> the frame that decided it
    start = time.perf_counter()
    last = 0.0
    for timestamp, frame in source:
        for event in loop.process(frame, timestamp):
            stream_ms.append(round(1000 * (timestamp - starts[event.track]), 1))
        for track, state in loop._tracks.items():
            if state.frames.started_at is not None:
                starts.setdefault(track, state.frames.started_at)
        last = timestamp
    loop.flush(last)
    seconds = time.perf_counter() - start
    source.close()
    stats = loop.stats
    return {
        "source": name,
        "frames": stats.frames,
        "video_seconds": round(last, 2),
        "wall_seconds": round(seconds, 2),
        "frames_per_second": round(stats.frames / seconds, 1),
        "past_gate": round(stats.gated / max(1, stats.frames), 3),
        "faces_embedded": stats.embedded,
        "decisions": [(e.decision, e.person) for e in events],
        "distances": [None if e.distance is None else round(e.distance, 3) for e in events],
        "thresholds": [round(e.threshold, 3) for e in events],
        "decision_latency_ms": [e.latency_ms for e in events],
        "median_decision_latency_ms": float(np.median([e.latency_ms for e in events]))
        if events
        else None,
        "p95_decision_latency_ms": round(
            float(np.percentile([e.latency_ms for e in events], 95)), 1
        )
        if events
        else None,
        "stream_decision_ms": stream_ms,
        "stream_decision_ms_p50": round(float(np.median(stream_ms)), 1) if stream_ms else None,
        "stream_decision_ms_p95": round(float(np.percentile(stream_ms, 95)), 1)
        if stream_ms
        else None,
    }


def main() -> None:
    """Run the benchmark and print / write its results."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "results")
    parser.add_argument(
        "--repeats", type=int, default=3, help="Runs per crowd configuration (median reported)."
    )
    args = parser.parse_args()
    settings = load_settings(environ={})
    rows = []
    with tempfile.TemporaryDirectory() as tmp, SQLiteGallery(Path(tmp) / "g.db") as gallery:
        enroll_scene_people(gallery, Path(tmp), settings)
        crowd = DATA / "video" / "crowd_walking.mp4"
        if crowd.exists():
            for label, source_settings in READ_MODES.items():
                runs = [
                    measure(
                        f"crowd_walking.mp4 (1920x1080, 25 fps), {label}",
                        open_source(crowd, source_settings),
                        gallery,
                        settings,
                    )
                    for _ in range(args.repeats)
                ]
                rows.append(
                    sorted(runs, key=lambda r: float(r["frames_per_second"]))[len(runs) // 2]
                )
        rows.append(
            measure(
                "demo scene (640x360, 15 fps, generated)",
                open_source(None, settings.source),
                gallery,
                settings,
            )
        )
    table = Table(title="access loop, single process, decoding / generation included")
    for column in (
        "source",
        "frames",
        "video s",
        "wall s",
        "frames/s",
        "past gate",
        "embedded",
        "decisions",
        "wall ms p50 / p95",
        "stream ms p50 / p95",
    ):
        table.add_column(column)
    for r in rows:
        table.add_row(
            str(r["source"]),
            str(r["frames"]),
            str(r["video_seconds"]),
            str(r["wall_seconds"]),
            str(r["frames_per_second"]),
            f"{100 * float(r['past_gate']):.0f} %",
            str(r["faces_embedded"]),
            ", ".join(
                f"{d}:{p} ({dist})"
                for (d, p), dist in zip(r["decisions"], r["distances"], strict=True)
            ),
            f"{r['median_decision_latency_ms']} / {r['p95_decision_latency_ms']}",
            f"{r['stream_decision_ms_p50']} / {r['stream_decision_ms_p95']}",
        )
    Console(width=160).print(table)
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "loop.json").write_text(json.dumps({"runs": rows}, indent=2))
    Console().print(f"wrote {args.out / 'loop.json'}")


if __name__ == "__main__":
    main()
