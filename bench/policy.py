"""Access policy on a generated site: doors, groups, schedules, expiry; levels; rate limiting.

A site of 4 doors and SITE_ENROLLED LFW people (pairsDevTest, one image enrolled each) in 5
groups, 20 of them visitors whose access expired yesterday. Probes: each enrolled person's
other image and never-enrolled people's images, at every door, on a weekday morning and a
Saturday night (site time). Each decision is compared with the rule table written out here
(given whom matching named): mismatches must be 0. Against the ground truth it counts who
was let in wrongly (a stranger named) and who was kept out wrongly (a miss).

Per security level: the threshold at 300 enrolled vectors, the expected false-accept rate
(the target FPIR) and false-reject rate (genuine table), and the measured FPIR / FNIR on the
same people (one image enrolled, the other a genuine probe, never-enrolled strangers), as in
bench/open_set.py but one gallery instead of random trials.

Rate limiting: a real `facegate serve` and 8 concurrent clients sending strangers to one door
with one key: attempts past the limit answer 429, and every attempt is in the event log.

    python bench/policy.py [--workers 2] [--skip-http]
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from datetime import date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import httpx
import numpy as np
from rich.console import Console
from rich.table import Table
from site_data import DATA, ROOT, embeddings, site_people

from facegate.access import DoorPolicy, level_rates, operating_point
from facegate.decide.match import identify_embedding, verify_embedding
from facegate.decide.policy import Match
from facegate.decide.rules import DoorRules, PersonAccess, Window
from facegate.decide.threshold import identify_threshold, shipped_genuine, shipped_tail
from facegate.gallery import EmbeddingRecord, SQLiteGallery
from facegate.gallery.access import SQLiteAccessStore
from facegate.service.keys import KeyStore
from facegate.settings import Settings, load_settings

SITE_ENROLLED = 300
EXPIRED = 20
MODEL = "dlib-resnet-v1"
GROUPS = {"staff": 100, "engineers": 60, "cleaning": 40, "security": 40, "visitors": 60}
TODAY = date(2026, 12, 2)  # a Wednesday
MOMENTS = {
    "Wed 10:00": datetime(2026, 12, 2, 10, 0),
    "Sat 22:30": datetime(2026, 12, 5, 22, 30),
}
RATE_CLIENTS, RATE_ATTEMPTS, RATE_FAILURES = 8, 40, 5


def site_doors(settings: Settings) -> list[DoorRules]:
    """Return the site's 4 doors (levels, modes, groups, windows)."""
    rates = level_rates(settings)
    office = (Window.parse("Mon-Fri 07:00-19:00"),)
    return [
        DoorRules(
            "lobby",
            level="low",
            far=rates["low"],
            allow=("staff", "engineers", "cleaning", "security", "visitors"),
            schedules={"cleaning": (Window.parse("Mon-Sat 18:00-23:59"),), "visitors": office},
            liveness="off",
        ),
        DoorRules(
            "lab",
            far=rates["standard"],
            allow=("engineers", "staff"),
            schedules={"staff": office},
            liveness="off",
        ),
        DoorRules(
            "server",
            level="high",
            far=rates["high"],
            allow=("security", "engineers"),
            schedules={"engineers": (Window.parse("Mon-Fri 08:00-18:00"),)},
            liveness="off",
        ),
        DoorRules(
            "dock",
            mode="verify",
            far=rates["standard"],
            allow=("cleaning", "security"),
            liveness="off",
        ),
    ]


def rule_table(door: DoorRules, access: PersonAccess | None, local: datetime) -> str:
    """The rule table, written out independently of decide/policy.py: the expected reason."""
    if access is None:
        return "unknown"
    if access.valid_until is not None and local.date() > access.valid_until:
        return "expired"
    if access.valid_from is not None and local.date() < access.valid_from:
        return "not_yet_valid"
    if not door.allow:
        return "granted"
    mine = [g for g in door.allow if g in access.groups]
    if not mine:
        return "not_allowed"
    minute = local.hour * 60 + local.minute
    for group in mine:
        windows = door.schedules.get(group, ())
        if not windows:
            return "granted"
        for w in windows:
            if w.start < w.end and local.weekday() in w.days and w.start <= minute < w.end:
                return "granted"
    return "outside_schedule"


def build_site(db: Path, people: list[tuple[str, np.ndarray]]) -> dict[str, PersonAccess]:
    """Store the people (one vector each), their groups and dates, and the doors; return access."""
    accesses: dict[str, PersonAccess] = {}
    names = iter(people)
    with SQLiteGallery(db) as gallery, SQLiteAccessStore(db) as store:
        for group, count in GROUPS.items():
            for i in range(count):
                name, vector = next(names)
                record = EmbeddingRecord(vector, MODEL, "lfw", 100, 50.0, 120.0)
                gallery.add_person(name, [record], consent="LFW, research use (benchmark)")
                until = TODAY - timedelta(days=1) if group == "visitors" and i < EXPIRED else None
                accesses[name] = PersonAccess(frozenset({group}), None, until)
                store.set_person_access(name, accesses[name])
        for door in site_doors(load_settings(environ={})):
            store.add_door(door)
    return accesses


def run_site(
    db: Path, accesses: dict[str, PersonAccess], probes: list[tuple[str | None, np.ndarray]]
) -> tuple[list[dict], dict]:
    """Decide every probe at every door and moment; return per-door rows and totals."""
    settings = load_settings(environ={}, doors={"timezone": "UTC"})
    zone = ZoneInfo("UTC")
    names = list(accesses)
    rows = []
    totals: Counter[str] = Counter()
    with SQLiteGallery(db) as gallery, SQLiteAccessStore(db) as store:
        enrolled = gallery.embeddings(MODEL)
        for rules in store.doors():
            policy = DoorPolicy(store, rules.name, rules.mode, settings)
            counts: Counter[str] = Counter()
            for label, moment in MOMENTS.items():
                local = moment.replace(tzinfo=zone)
                for i, (truth, vector) in enumerate(probes):
                    if rules.mode == "identify":
                        threshold = policy.threshold(len(enrolled), MODEL, None)
                        found = identify_embedding(vector, enrolled, threshold)
                        match = Match(found.person, found.distance, threshold)
                    else:  # a stranger presents a stolen card of someone enrolled
                        claim = truth if truth is not None else names[i % len(names)]
                        claimed = gallery.embeddings(MODEL, claim)
                        threshold = policy.threshold(len(claimed), MODEL, None)
                        dist = verify_embedding(vector, claimed, threshold).distance
                        match = Match(claim if dist <= threshold else None, dist, threshold)
                    verdict = policy.decide(match, None, local)
                    named = accesses.get(match.person) if match.person else None
                    expected = rule_table(rules, named, local)
                    if match.person is None and verdict.reason == "retry":
                        expected = "retry"
                    counts["decisions"] += 1
                    counts["mismatches"] += verdict.reason != expected
                    truth_reason = rule_table(rules, accesses.get(truth) if truth else None, local)
                    should = truth_reason == "granted"
                    counts["false_unlock"] += verdict.decision == "unlock" and not should
                    counts["false_refusal"] += verdict.decision != "unlock" and should
                    counts[f"reason:{verdict.reason}"] += 1
                    counts[f"moment:{label}:{verdict.decision}"] += 1
            rows.append({"door": rules.name, "mode": rules.mode, "level": rules.level, **counts})
            totals.update(counts)
    return rows, dict(totals)


def level_rows(
    enrolled: np.ndarray, genuine: np.ndarray, strangers: np.ndarray, settings: Settings
) -> list[dict]:
    """Return per level: threshold at N enrolled, expected and measured FPIR / FNIR."""
    tail = shipped_tail()
    table = shipped_genuine()
    cap = load_settings(environ={}).decide.threshold
    rows = []
    n = len(enrolled)
    for level, far in level_rates(settings).items():
        threshold = identify_threshold(n, far, tail, cap)
        nearest = np.linalg.norm(strangers[:, None] - enrolled[None], axis=2).min(axis=1)
        dist = np.linalg.norm(genuine[:, None] - enrolled[None], axis=2)
        named = (dist.min(axis=1) <= threshold) & (dist.argmin(axis=1) == np.arange(n))
        point = operating_point(DoorRules("x", far=far), threshold, n, MODEL, None)
        rows.append(
            {
                "level": level,
                "target_fpir": far,
                "threshold": threshold,
                "expected_fpir": point["expected_false_accept"],
                "measured_fpir": float((nearest <= threshold).mean()),
                "strangers": len(strangers),
                "expected_fnir": table.frr_at(threshold) if table is not None else None,
                "measured_fnir": float((~named).mean()),
                "genuine": n,
            }
        )
    return rows


def _free_port() -> int:
    """Return a TCP port nobody listens on now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def rate_limit_run(db: Path, stranger_jpeg: bytes, root: Path) -> dict:
    """Send RATE_ATTEMPTS strangers from RATE_CLIENTS clients to one door; count what happened."""
    config = root / "facegate.toml"
    config.write_text(
        f"[doors]\nrate_limit_failures = {RATE_FAILURES}\nrate_limit_window_seconds = 600\n"
        "[vision]\nfallback_detectors = []\n"
    )
    with SQLiteAccessStore(db) as store:
        store.add_door(DoorRules("gate", liveness="off"))  # still images: refused as unknown
    with KeyStore(db) as keys:
        token = keys.create("bench-door", ["door"])[1]
        admin = keys.create("bench-admin", ["admin"])[1]
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("FACEGATE_")}
    command = [sys.executable, "-m", "facegate", "serve", "--port", str(port), "--db", str(db)]
    log = (root / "server.log").open("w")
    proc = subprocess.Popen(
        [*command, "--config", str(config)], stdout=log, stderr=subprocess.STDOUT, env=env
    )
    url = f"http://127.0.0.1:{port}"
    try:
        for _ in range(600):
            try:
                if httpx.get(url + "/healthz", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                time.sleep(0.2)

        def attempt(_: int) -> int:
            with httpx.Client(base_url=url, timeout=120) as client:
                return client.post(
                    "/v1/identify",
                    headers={"Authorization": f"Bearer {token}"},
                    data={"door": "gate"},
                    files={"image": ("s.jpg", stranger_jpeg, "image/jpeg")},
                ).status_code

        started = time.perf_counter()
        with ThreadPoolExecutor(RATE_CLIENTS) as pool:
            codes = Counter(pool.map(attempt, range(RATE_ATTEMPTS)))
        seconds = time.perf_counter() - started
        with httpx.Client(base_url=url, timeout=60) as client:
            page = client.get(
                "/v1/events",
                headers={"Authorization": f"Bearer {admin}"},
                params={"door": "gate", "limit": 500},
            ).json()
    finally:
        proc.terminate()
        proc.wait(timeout=30)
    reasons = Counter(e["reason"] for e in page["events"])
    return {
        "clients": RATE_CLIENTS,
        "attempts": RATE_ATTEMPTS,
        "limit": RATE_FAILURES,
        "answered_200": codes.get(200, 0),
        "answered_429": codes.get(429, 0),
        "other_status": sum(v for k, v in codes.items() if k not in (200, 429)),
        "logged": page["total"],
        "logged_reasons": dict(reasons),
        "lost_from_log": RATE_ATTEMPTS - page["total"],
        "seconds": round(seconds, 2),
    }


def main() -> None:
    """Build the site, decide every probe, measure the levels and the rate limit; print, write."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lfw", type=Path, default=DATA / "lfw")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "results")
    parser.add_argument("--skip-http", action="store_true", help="Leave out the rate-limit run.")
    args = parser.parse_args()
    vectors = embeddings(args.lfw, args.workers)
    pairs, singles = site_people(args.lfw)
    usable = [(a, b) for a, b in pairs if a in vectors and b in vectors][:SITE_ENROLLED]
    if len(usable) < SITE_ENROLLED:
        raise SystemExit(f"only {len(usable)} site people with two faces")
    people = [(a.parent.name, vectors[a]) for a, _ in usable]
    strangers = [vectors[p] for p in singles if p in vectors]
    probes: list[tuple[str | None, np.ndarray]] = [(a.parent.name, vectors[b]) for a, b in usable]
    probes += [(None, v) for v in strangers]
    settings = load_settings(environ={})
    console = Console()
    with tempfile.TemporaryDirectory(prefix="facegate-policy-") as tmp:
        db = Path(tmp) / "site.db"
        accesses = build_site(db, people)
        rows, totals = run_site(db, accesses, probes)
        levels = level_rows(
            np.stack([vectors[a] for a, _ in usable]),
            np.stack([vectors[b] for _, b in usable]),
            np.stack(strangers),
            settings,
        )
        rate = None
        if not args.skip_http:
            stranger_jpeg = next(p for p in singles if p in vectors).read_bytes()
            rate = rate_limit_run(db, stranger_jpeg, Path(tmp))

    shown = Table(
        "door",
        "mode",
        "level",
        "decisions",
        "mismatches",
        "false unlocks",
        "false refusals",
        "reasons",
    )
    for row in rows:
        reasons = ", ".join(
            f"{k.split(':')[1]} {v}" for k, v in sorted(row.items()) if k.startswith("reason:")
        )
        shown.add_row(
            row["door"],
            row["mode"],
            row["level"],
            str(row["decisions"]),
            str(row["mismatches"]),
            str(row["false_unlock"]),
            str(row["false_refusal"]),
            reasons,
        )
    console.print(shown)
    lv = Table(
        "level", "threshold", "expected FPIR", "measured FPIR", "expected FNIR", "measured FNIR"
    )
    for row in levels:
        exp_fnir = row["expected_fnir"]
        lv.add_row(
            row["level"],
            f"{row['threshold']:.4f}",
            f"{100 * row['expected_fpir']:.3f} %",
            f"{100 * row['measured_fpir']:.2f} % of {row['strangers']}",
            "n/a" if exp_fnir is None else f"{100 * exp_fnir:.2f} %",
            f"{100 * row['measured_fnir']:.2f} % of {row['genuine']}",
        )
    console.print(lv)
    if rate is not None:
        console.print(rate)
    result = {
        "site": {
            "enrolled": SITE_ENROLLED,
            "groups": GROUPS,
            "expired_visitors": EXPIRED,
            "strangers": len(strangers),
            "moments": list(MOMENTS),
            "data": "LFW pairsDevTest people (enrol image 1, probe image 2); single-image "
            "strangers",
        },
        "doors": rows,
        "totals": totals,
        "levels": levels,
        "rate_limit": rate,
    }
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "policy.json").write_text(json.dumps(result, indent=2, default=str) + "\n")


if __name__ == "__main__":
    main()
