"""Many edge doors against one centre: decisions/s, latency, and nothing lost or duplicated.

    python bench/doors.py [--seconds 60] [--doors 20] [--backends sqlite,postgres] [--workers 1,2]

For each backend (a SQLite file, or a real PostgreSQL + pgvector from the tests' pgserver) and
worker count, a `facegate serve` is started on loopback over a gallery of the first --people
LFW people's image-1 dlib vectors (bench/lfw_vectors.py's cache), each door with its own
door-bound key. --doors threads, each a door (its own CentreClient, SQLite outbox and
CentreRuler, as `run --server` has), send templates one after another: the image-2 vectors of
all cached people (half enrolled, half unknown), as fused templates with liveness live. Phase
"steady" runs --seconds; phase "kill" runs --seconds too, with the centre killed (SIGKILL) at a
third and restarted at two thirds, while the doors deny and queue. Afterwards every door
delivers its queue and the centre's log is compared with what the doors sent: events logged =
sent (0 lost) and one row per (door, track) (0 duplicated). The failure limit is raised to
10^9 so unknown probes are not refused (the limiter's database work is still done per attempt),
and service.threads to --threads (8), so 2 workers stay under PostgreSQL's 100 connections.
Writes bench/results/doors.json (after each configuration) and prints a table.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from rich.console import Console
from rich.table import Table

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))
sys.path.insert(0, str(ROOT / "bench"))

from edge_centre import Centre  # noqa: E402
from lfw_vectors import load_or_embed  # noqa: E402
from service_server import TEST_CONFIG  # noqa: E402

from facegate.edge.client import CentreClient  # noqa: E402
from facegate.edge.outbox import EdgeOutbox  # noqa: E402
from facegate.edge.ruler import CentreRuler  # noqa: E402
from facegate.gallery import EmbeddingRecord  # noqa: E402
from facegate.settings import Settings  # noqa: E402
from facegate.stores import open_event_log, open_gallery, open_key_store  # noqa: E402
from facegate.stream.ruling import TrackEvidence  # noqa: E402

MODEL = "dlib-resnet-v1"
KILL_TRACKS = 1_000_000  # tracks of the kill phase are numbered from here


@dataclass
class DoorTally:
    """What one simulated door did in one phase."""

    sent: int = 0
    decided_ms: list[float] = field(default_factory=list)
    reasons: Counter = field(default_factory=Counter)


def build_site(target: str, people: dict[str, np.ndarray], doors: int) -> dict[str, str]:
    """Enroll the people's mates at target; return one door-bound key per door (door -> token)."""
    settings = Settings()
    with open_gallery(target, settings) as gallery:
        for name, vector in zip(people["names"], people["mates"], strict=True):
            record = EmbeddingRecord(vector, MODEL, "lfw", 100, 50.0, 120.0)
            gallery.add_person(str(name), [record], "LFW, research use (benchmark)")
    with open_key_store(target, settings) as keys:
        return {
            f"d{i:02d}": keys.create(f"d{i:02d}", ["door"], [f"d{i:02d}"])[1] for i in range(doors)
        }


def run_door(
    url: str,
    door: str,
    token: str,
    probes: np.ndarray,
    first_track: int,
    until: float,
    outbox: Path,
    tally: DoorTally,
) -> None:
    """Send templates as one door until `until`, then deliver what it queued."""
    client = CentreClient(url, token, timeout_s=3.0)
    ruler = CentreRuler(client, EdgeOutbox(outbox), retry_seconds=0.5)
    offset = int(door[1:]) * 37
    try:
        while time.monotonic() < until:
            vector = probes[(offset + tally.sent) % len(probes)]
            evidence = TrackEvidence(door, first_track + tally.sent, True, False, {}, {}, 5, 1.0)
            start = time.perf_counter()
            ruling = ruler.rule(vector, MODEL, evidence)
            if ruling.reason != "centre_unreachable":
                tally.decided_ms.append((time.perf_counter() - start) * 1000)
            tally.reasons[ruling.reason] += 1
            tally.sent += 1
            if ruling.reason == "centre_unreachable":
                time.sleep(0.05)  # a real door waits for the next person
    finally:
        ruler.close()
        client.close()


def drain(url: str, keys: dict[str, str], outboxes: dict[str, Path], seconds: float) -> int:
    """Deliver every door's leftover queue (retrying up to seconds); return events still queued."""
    deadline = time.monotonic() + seconds
    while True:
        left = 0
        for door, path in outboxes.items():
            with EdgeOutbox(path) as outbox, CentreClient(url, keys[door], 3.0) as client:
                ruler = CentreRuler(client, outbox, retry_seconds=3600)
                ruler.close()
                left += outbox.counts()["waiting"]
        if not left or time.monotonic() > deadline:
            return left
        time.sleep(1.0)


def phase(
    centre: Centre,
    keys: dict[str, str],
    probes: np.ndarray,
    seconds: float,
    first_track: int,
    root: Path,
    kill: bool,
) -> dict[str, object]:
    """Run every door for seconds (killing and restarting the centre if asked); return figures."""
    tallies = {door: DoorTally() for door in keys}
    outboxes = {door: root / f"outbox-{first_track}-{door}.db" for door in keys}
    start = time.monotonic()
    until = start + seconds
    threads = [
        threading.Thread(
            target=run_door,
            args=(centre.url, d, keys[d], probes, first_track, until, outboxes[d], tallies[d]),
        )
        for d in keys
    ]
    for thread in threads:
        thread.start()
    outage = None
    if kill:
        time.sleep(seconds / 3)
        centre.kill()
        killed = time.monotonic()
        time.sleep(max(0.0, start + 2 * seconds / 3 - time.monotonic()))
        centre.start()
        outage = round(time.monotonic() - killed, 1)
    for thread in threads:
        thread.join()
    elapsed = time.monotonic() - start
    left = drain(centre.url, keys, outboxes, 60.0)
    sent = sum(t.sent for t in tallies.values())
    with open_event_log(centre.db, Settings()) as log:
        rows = [e for door in keys for e in log.scan(door=door) if e.track is not None]
    last = KILL_TRACKS if first_track < KILL_TRACKS else 2**62
    mine = [(e.door, e.track) for e in rows if first_track <= (e.track or 0) < last]
    ms = [m for t in tallies.values() for m in t.decided_ms]
    reasons: Counter = Counter()
    for tally in tallies.values():
        reasons.update(tally.reasons)
    return {
        "phase": "kill" if kill else "steady",
        "seconds": round(elapsed, 1),
        "sent": sent,
        "decided": len(ms),
        "decisions_per_s": round(len(ms) / elapsed, 1),
        "p50_ms": round(float(np.percentile(ms, 50)), 1) if ms else None,
        "p95_ms": round(float(np.percentile(ms, 95)), 1) if ms else None,
        "logged": len(set(mine)),
        "lost": sent - len(set(mine)),
        "duplicated": len(mine) - len(set(mine)),
        "left_queued": left,
        "outage_s": outage,
        "reasons": dict(reasons),
    }


def bench(backend: str, workers: int, args: argparse.Namespace, people: dict) -> list[dict]:
    """Run both phases for one backend and worker count; return their rows."""
    with tempfile.TemporaryDirectory(prefix="facegate-doors-") as tmp:
        root = Path(tmp)
        server = None
        if backend == "postgres":
            from pg_server import LocalPostgres

            server = LocalPostgres()
            target = server.database()
        else:
            target = str(root / "centre.db")
        try:
            enrolled = {k: v[: args.people // 2] for k, v in people.items() if k != "seconds"}
            keys = build_site(target, enrolled, args.doors)
            config = TEST_CONFIG.replace("[service]", f"[service]\nthreads = {args.threads}")
            config += "\n[doors]\nrate_limit_failures = 1000000000\n"
            centre = Centre(root, target, config, workers=workers)
            centre.start()
            try:
                probes = people["probes"][: args.people]
                rows = [phase(centre, keys, probes, args.seconds, 0, root, kill=False)]
                rows.append(phase(centre, keys, probes, args.seconds, KILL_TRACKS, root, True))
            finally:
                centre.stop()
        finally:
            if server is not None:
                server.stop()
    return [{"backend": backend, "workers": workers, **row} for row in rows]


def main() -> None:
    """Run the bench, print the table and write bench/results/doors.json."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--doors", type=int, default=20)
    parser.add_argument("--people", type=int, default=800, help="Probes (half enrolled).")
    parser.add_argument("--backends", default="sqlite,postgres")
    parser.add_argument("--workers", default="1,2")
    parser.add_argument(
        "--threads", type=int, default=8, help="service.threads (PostgreSQL: 5 connections each)."
    )
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "results" / "doors.json")
    args = parser.parse_args()
    logging.getLogger("facegate.edge").setLevel(logging.ERROR)  # each outage denial warns
    people = load_or_embed(800)
    load = os.getloadavg()
    rows: list[dict] = []
    for backend in args.backends.split(","):
        for workers in map(int, args.workers.split(",")):
            rows += bench(backend, workers, args, people)
            write(args, rows, load)  # what is measured so far survives a later failure
    table = Table(
        "backend",
        "workers",
        "phase",
        "s",
        "sent",
        "decided/s",
        "p50 ms",
        "p95 ms",
        "logged",
        "lost",
        "dup",
        "outage s",
    )
    for r in rows:
        table.add_row(
            *(
                str(r[k])
                for k in (
                    "backend",
                    "workers",
                    "phase",
                    "seconds",
                    "sent",
                    "decisions_per_s",
                    "p50_ms",
                    "p95_ms",
                    "logged",
                    "lost",
                    "duplicated",
                    "outage_s",
                )
            )
        )
    Console(width=160).print(table)


def write(args: argparse.Namespace, rows: list[dict], load: tuple[float, ...]) -> None:
    """Write the rows so far, with the run's parameters and load, to the JSON file."""
    result = {
        "doors": args.doors,
        "seconds_per_phase": args.seconds,
        "people": args.people,
        "service_threads": args.threads,
        "load_average_at_start": [round(x, 2) for x in load],
        "load_average_now": [round(x, 2) for x in os.getloadavg()],
        "cpus": os.cpu_count(),
        "git": subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, cwd=ROOT
        ).stdout.strip(),
        "rows": rows,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n")


if __name__ == "__main__":
    main()
