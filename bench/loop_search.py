"""The embedded loop's decision through the gallery's search() against the old full scan.

    python bench/loop_search.py [--sizes 100 10000] [--probes 200] [--json]

A SQLite gallery of N identities (one vector each): the image-1 dlib vectors of the first 100
LFW people (bench/lfw_vectors.py cache) and distractors from a Gaussian fitted to the LFW
vectors (bench/gallery_scale.py), renormalised. Each probe is a 3-frame track: the person's
image-2 vector and two noisy copies (half the probes are enrolled people, half are unknown
LFW people). Per decision, "scan" is the loop as it was (identify_frames over an in-memory
EmbeddingSet of every vector, threshold from its length, the door policy), "search" is
AccessLoop._rule_here now (gallery.count() + search() through the in-memory copy of
gallery/cache.py, reloaded at most every loop.gallery_refresh_seconds, the same policy); after
each decision an event is appended to the gallery's file, as a door logs it. Both run on one
thread; wall-clock ms per decision, and whether every decision agreed. Writes
bench/results/loop_search.json.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from gallery_scale import distractors
from lfw_vectors import load_or_embed

from facegate.access import DoorPolicy
from facegate.access_event import AccessEvent, now_iso
from facegate.decide.match import identify_frames
from facegate.decide.policy import Match
from facegate.gallery import EmbeddingRecord
from facegate.gallery.cache import in_memory
from facegate.gallery.sqlite import SQLiteGallery
from facegate.monitor.events import EventLog
from facegate.settings import Settings
from facegate.stream.loop import AccessLoop, loop_pipeline
from facegate.stream.ruling import Ruling

ROOT = Path(__file__).resolve().parents[1]
MODEL = "dlib-resnet-v1"
REAL = 100  # LFW people enrolled in every gallery


def tracks(data: dict[str, np.ndarray], count: int, seed: int) -> list[np.ndarray]:
    """Return count 3-frame tracks: image-2 vectors (half enrolled, half not) plus noise."""
    rng = np.random.default_rng(seed)
    people = [*range(count // 2), *range(REAL, REAL + count - count // 2)]
    out = []
    for i in people:
        base = data["probes"][i]
        frames = base + rng.normal(scale=0.02, size=(3, base.size)) * np.array([[0], [1], [1]])
        out.append((frames / np.linalg.norm(frames, axis=1, keepdims=True)).astype(np.float32))
    return out


def event_of(ruling: Ruling) -> AccessEvent:
    """Return the access event a door logs for a ruling (the numbers that matter here)."""
    return AccessEvent(
        now_iso(),
        "main",
        "identify",
        1,
        None,
        ruling.decision,
        ruling.person,
        ruling.distance,
        ruling.threshold,
        3,
        reason=ruling.reason,
    )


def fill(path: Path, data: dict[str, np.ndarray], size: int) -> None:
    """Enroll REAL LFW people and size - REAL distractors, one vector each."""
    extra = distractors(data["mates"], size - REAL, seed=size)
    with SQLiteGallery(path) as gallery:
        for i in range(size):
            vector = data["mates"][i] if i < REAL else extra[i - REAL]
            name = str(data["names"][i]) if i < REAL else f"distractor {i:06d}"
            gallery.add_person(name, [EmbeddingRecord(vector, MODEL, "bench", 100, 50, 120)], "")


def measure(size: int, data: dict[str, np.ndarray], probes: int) -> dict[str, object]:
    """Return ms per decision of the full scan and of search() at one gallery size."""
    settings = Settings()
    pipeline = loop_pipeline(settings)
    model_path = pipeline.embedder.model_path
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "gallery.db"
        started = time.perf_counter()
        fill(path, data, size)
        fill_s = time.perf_counter() - started
        refresh = settings.loop.gallery_refresh_seconds
        with (
            SQLiteGallery(path) as gallery,
            in_memory(gallery, refresh) as searched,
            EventLog(path) as events,
        ):
            loop = AccessLoop(settings, searched, print, pipeline=pipeline)
            t0 = time.perf_counter()
            everyone = gallery.embeddings(MODEL)  # the old loop's copy, loaded before timing
            reload_ms = (time.perf_counter() - t0) * 1e3  # what a reload of the copy costs
            searched.count(MODEL)  # the cache, loaded before timing
            scan_ms, search_ms, agreed = [], [], 0
            for frames in tracks(data, probes, seed=size):
                t0 = time.perf_counter()
                policy = DoorPolicy(None, "main", "identify", settings)
                threshold = policy.threshold(len(everyone), MODEL, model_path)
                full = identify_frames(
                    frames, everyone, threshold, settings.decide.identify_k, settings.select.fusion
                )
                verdict = policy.decide(Match(full.person, full.distance, threshold), True)
                t1 = time.perf_counter()
                ruling = loop._rule_here(frames, True, False)
                t2 = time.perf_counter()
                scan_ms.append((t1 - t0) * 1e3)
                search_ms.append((t2 - t1) * 1e3)
                events.append(event_of(ruling))  # as run_door logs it, into the same file
                agreed += (verdict.decision, verdict.reason, verdict.person) == (
                    ruling.decision,
                    ruling.reason,
                    ruling.person,
                )
    return {
        "ids": size,
        "probes": probes,
        "scan_p50_ms": round(float(np.percentile(scan_ms, 50)), 3),
        "scan_p95_ms": round(float(np.percentile(scan_ms, 95)), 3),
        "search_p50_ms": round(float(np.percentile(search_ms, 50)), 3),
        "search_p95_ms": round(float(np.percentile(search_ms, 95)), 3),
        "decisions_agreed": agreed,
        "reload_ms": round(reload_ms, 1),
        "fill_s": round(fill_s, 1),
        "load_average": round(os.getloadavg()[0], 1),
    }


def main() -> None:
    """Measure each size, print a table (and --json lines), write the results file."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[100, 10_000])
    parser.add_argument("--probes", type=int, default=200)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    data = load_or_embed(800)
    rows = [measure(size, data, args.probes) for size in args.sizes]
    print("| ids | probes | scan p50 / p95 ms | search p50 / p95 ms | agreed | reload ms | load |")
    print("|---:|---:|---:|---:|---:|---:|---:|")
    for r in rows:
        print(
            f"| {r['ids']} | {r['probes']} | {r['scan_p50_ms']} / {r['scan_p95_ms']} | "
            f"{r['search_p50_ms']} / {r['search_p95_ms']} | {r['decisions_agreed']} | "
            f"{r['reload_ms']} | {r['load_average']} |"
        )
        if args.json:
            print(json.dumps(r))
    out = ROOT / "bench" / "results" / "loop_search.json"
    out.write_text(json.dumps(rows, indent=2) + "\n")


if __name__ == "__main__":
    main()
