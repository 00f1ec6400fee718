"""The admin UI's page load times with 1,000 people and 10,000 events, in headless chromium.

The gallery holds 1,000 people with random unit vectors (1-3 each, half in a group), three
configured doors, and 10,000 events from `monitor/simulate.py` (three doors, newest kept).
`facegate serve` runs in a subprocess; Debian's chromium (Playwright) logs in and loads each
page `--rounds` times; from the browser's navigation timing it reports the response end
(server + transfer) and the load event (HTML, stylesheet and script parsed and run), median and
max over the rounds.

    python bench/ui.py [--rounds 5]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
from rich.console import Console
from rich.table import Table
from service import start_server

from facegate import api
from facegate.decide.rules import DoorRules, PersonAccess
from facegate.gallery import EmbeddingRecord, SQLiteGallery
from facegate.gallery.access import SQLiteAccessStore
from facegate.monitor.events import EventLog
from facegate.monitor.simulate import simulate
from facegate.service.keys import KeyStore
from facegate.settings import Settings

ROOT = Path(__file__).resolve().parents[1]
PEOPLE = 1000
EVENTS = 10_000
DOORS = ("front", "lab", "canteen")
CHROMIUM = "/usr/bin/chromium"
PAGES = (
    "/ui/",
    "/ui/people",
    "/ui/people?q=0042",
    "/ui/people?page=20",
    "/ui/people/500",
    "/ui/doors",
    "/ui/doors/lab",
    "/ui/events",
    "/ui/events?door=lab&decision=deny",
    "/ui/events?page=200",
    "/ui/keys",
    "/ui/alarms",
    "/ui/dashboard",
)


def build_site(db: Path, seed: int = 0) -> str:
    """Fill a new gallery file with people, doors, events and an admin key; return its token."""
    rng = np.random.default_rng(seed)
    model = api.get_pipeline(Settings().vision).embedder.name
    with SQLiteGallery(db) as gallery, SQLiteAccessStore(db) as store:
        for i in range(PEOPLE):
            vectors = rng.normal(size=(int(rng.integers(1, 4)), 128)).astype(np.float32)
            vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
            records = [EmbeddingRecord(v, model, "random", 120, 50.0, 120.0) for v in vectors]
            name = f"Person {i:04d}"
            gallery.add_person(name, records, consent="benchmark data")
            if i % 2:
                store.set_person_access(name, PersonAccess(frozenset({"staff"})))
        for door in DOORS:
            store.add_door(DoorRules(door, allow=("staff",) if door == "lab" else ()))
    start = datetime.now(UTC) - timedelta(days=12)
    events = [e for i, d in enumerate(DOORS) for e in simulate(d, start, 12, seed + i)]
    events = sorted(events, key=lambda e: e.time)[-EVENTS:]
    with EventLog(db) as log:
        log.append_many(events)
    with KeyStore(db) as keys:
        return keys.create("bench-admin", ["admin"])[1]


def measure(url: str, token: str, rounds: int) -> list[dict[str, object]]:
    """Return each page's response-end and load-event times (ms) over the rounds."""
    from playwright.sync_api import sync_playwright

    timing = (
        "(() => { const n = performance.getEntriesByType('navigation')[0];"
        " return [n.responseEnd - n.startTime, n.loadEventEnd - n.startTime]; })()"
    )
    rows = []
    with sync_playwright() as driver:
        browser = driver.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=["--no-sandbox"]
        )
        page = browser.new_context(base_url=url).new_page()
        page.goto("/ui/login")
        page.fill("input[name=key]", token)
        page.click("button[type=submit]")
        page.wait_for_url("**/ui/")
        for path in PAGES:
            response_ms, load_ms = [], []
            for _ in range(rounds):
                answer = page.goto(path, wait_until="load")
                assert answer is not None and answer.status == 200, (path, answer)
                page.wait_for_timeout(20)  # loadEventEnd is set just after the load event
                first, last = page.evaluate(timing)
                response_ms.append(first)
                load_ms.append(last)
            rows.append(
                {
                    "page": path,
                    "bytes": len(page.content().encode()),
                    "response_ms_median": round(statistics.median(response_ms), 1),
                    "load_ms_median": round(statistics.median(load_ms), 1),
                    "load_ms_max": round(max(load_ms), 1),
                }
            )
        browser.close()
    return rows


def main() -> None:
    """Build the site, serve it, time every page; print the table and write the JSON."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5, help="Loads of each page.")
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "results" / "ui.json")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        db = Path(tmp) / "site.db"
        token = build_site(db)
        proc, url = start_server(db, Path(tmp) / "server.log", None)
        try:
            rows = measure(url, token, args.rounds)
        finally:
            proc.terminate()
            proc.wait(timeout=30)
    load = os.getloadavg()
    table = Table("page", "KB", "response ms (median)", "load ms (median)", "load ms (max)")
    for row in rows:
        table.add_row(
            str(row["page"]),
            f"{int(row['bytes']) / 1024:.1f}",
            f"{row['response_ms_median']:.1f}",
            f"{row['load_ms_median']:.1f}",
            f"{row['load_ms_max']:.1f}",
        )
    Console(width=120).print(table)
    print(f"{PEOPLE} people, {EVENTS} events, {args.rounds} rounds; load average {load}")
    result = {
        "people": PEOPLE,
        "events": EVENTS,
        "rounds": args.rounds,
        "load_average": [round(x, 2) for x in load],
        "cpus": os.cpu_count(),
        "python": sys.version.split()[0],
        "pages": rows,
    }
    args.out.write_text(json.dumps(result, indent=2) + "\n")


if __name__ == "__main__":
    main()
