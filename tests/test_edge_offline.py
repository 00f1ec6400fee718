"""Edge doors offline: deciding from a copy of the door's allowed people, lost answers, limits."""

from __future__ import annotations

import http.server
import json
import os
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import httpx
import numpy as np
import pytest
from conftest import lfw_image
from edge_centre import Centre
from service_server import TEST_CONFIG, free_port

from facegate import api
from facegate.access import DoorPolicy
from facegate.decide.rules import DoorRules, PersonAccess, Window
from facegate.demo import enroll_scene_people
from facegate.door_copy import DoorCopy
from facegate.edge.client import CentreClient
from facegate.edge.copy_keeper import CopyKeeper, load_copy
from facegate.edge.offline import CopyDecider
from facegate.edge.outbox import EdgeOutbox
from facegate.edge.ruler import CentreRuler, template_body
from facegate.gallery.access import SQLiteAccessStore
from facegate.gallery.sqlite import SQLiteGallery
from facegate.media import load_image
from facegate.monitor.events import EventLog
from facegate.service.keys import KeyStore
from facegate.settings import Settings, load_settings
from facegate.stream.lockout import Lockout
from facegate.stream.ruling import TrackEvidence

MODEL = "dlib-resnet-v1"
CENTRE_CONFIG = TEST_CONFIG + "\n[edge]\nserve_copies = true\n"
PEOPLE = {  # name -> (LFW folder, group, valid until: None or days from today)
    "Colin Powell": ("Colin_Powell", "staff", None),
    "Serena Williams": ("Serena_Williams", "guests", None),
    "George W Bush": ("George_W_Bush", "visitors", -1),
}


def _vector(settings: Settings, folder: str, number: int) -> np.ndarray:
    """Return the embedding of the largest face of one LFW image."""
    image = load_image(lfw_image(folder, number), settings.media)
    return api.get_pipeline(settings.vision).encode(image)[0].embedding


@pytest.fixture(scope="module")
def site(lfw: Path, tmp_path_factory: pytest.TempPathFactory) -> dict:
    """Return a site: three people enrolled from LFW photos 1-2, door lab, keys, probes."""
    root = tmp_path_factory.mktemp("offline")
    db = root / "gallery.db"
    settings = load_settings()
    today = datetime.now(UTC).date()
    with SQLiteGallery(db) as gallery, SQLiteAccessStore(db) as store:
        for name, (folder, group, until) in PEOPLE.items():
            photos = [lfw_image(folder, n) for n in (1, 2)]
            api.enroll(
                gallery, name, photos, "test", settings=settings, groups=[group], store=store
            )
            if until is not None:
                access = store.person_access(name)
                store.set_person_access(
                    name, replace(access, valid_until=today + timedelta(days=until))
                )
        enroll_scene_people(gallery, root, settings)  # the demo scene's resident: staff
        store.set_person_access("Eileen Collins", PersonAccess(frozenset({"staff"})))
        for door in ("lab", "annex", "vault"):
            store.add_door(DoorRules(door, allow=("staff", "visitors")))
        store.add_door(DoorRules("keep", level="high", allow=("staff",)))
    with KeyStore(db) as keys:
        tokens = {
            "lab": keys.create("lab-door", ["door"], ["lab"])[1],
            "hall": keys.create("hall-door", ["door"], ["hall"])[1],
            "any": keys.create("any-door", ["door"])[1],
            "probe": keys.create("probe", ["door"])[1],
            "reader": keys.create("reader", ["read"])[1],
        }
    probes = {name: _vector(settings, folder, 3) for name, (folder, _, _) in PEOPLE.items()}
    probes["stranger"] = _vector(settings, "Tony_Blair", 1)
    return {"root": root, "db": db, "tokens": tokens, "probes": probes}


def _evidence(track: int, live: bool | None = True) -> TrackEvidence:
    """Return a track's evidence at door lab as the loop would send it."""
    return TrackEvidence("lab", track, live, False, {"live": live}, {"face_px": 90}, 5, 300.0)


def _logged(db: Path, door: str) -> list[tuple]:
    """Return (track, decision, reason, person, decided_offline, door_action) of a door's log."""
    return [
        (e.track, e.decision, e.reason, e.person, e.decided_offline, e.door_action)
        for e in EventLog(db).scan(door=door)
    ]


def _drain(outbox: EdgeOutbox, seconds: float = 30.0) -> None:
    """Wait until the ruler's thread has delivered the outbox."""
    deadline = time.monotonic() + seconds
    while outbox.counts()["waiting"] and time.monotonic() < deadline:
        time.sleep(0.2)


def test_offline_door_decides_from_its_copy_and_the_centre_logs_it_once(
    site: dict, tmp_path: Path
) -> None:
    db, probes = site["db"], site["probes"]
    server = Centre(tmp_path, db, config=CENTRE_CONFIG)
    server.start()
    settings = load_settings().edge.model_copy(update={"retry_seconds": 0.2})
    now = [time.time()]
    client = CentreClient(server.url, site["tokens"]["lab"], timeout_s=3.0)
    keeper = CopyKeeper(client, "lab", MODEL, settings, tmp_path / "copy.json", lambda: now[0])
    outbox = EdgeOutbox(tmp_path / "outbox.db")
    ruler = CentreRuler(client, outbox, 0.2, keeper.decider)
    try:
        keeper.start()
        stored = load_copy(tmp_path / "copy.json")
        assert stored is not None and (tmp_path / "copy.json").stat().st_mode & 0o777 == 0o600
        copy = stored[0]
        names = sorted(p.name for p in copy.people)
        assert names == ["Colin Powell", "Eileen Collins"]  # no guests, the visitor expired
        with SQLiteGallery(db) as gallery:
            total = gallery.count(MODEL)
        assert copy.gallery_vectors == total == 9
        embedder = api.get_pipeline(Settings().vision).embedder
        with SQLiteAccessStore(db) as store:
            policy = DoorPolicy(store, "lab", "identify", Settings())
            full = policy.threshold(total, MODEL, embedder.model_path)
        assert copy.threshold == pytest.approx(full)
        online = ruler.rule(probes["Colin Powell"], MODEL, _evidence(1))
        assert (online.decision, online.reason, online.decided_offline) == (
            "unlock",
            "granted",
            False,
        )
        server.kill()
        tries = [
            (2, "Colin Powell", True),
            (3, "Serena Williams", True),
            (4, "George W Bush", True),
            (5, "stranger", True),
            (6, "Colin Powell", None),
        ]
        offline = [ruler.rule(probes[who], MODEL, _evidence(t, live)) for t, who, live in tries]
        assert [(r.decision, r.reason, r.person) for r in offline] == [
            ("unlock", "granted", "Colin Powell"),
            ("deny", "unknown", None),
            ("deny", "unknown", None),
            ("deny", "unknown", None),
            ("deny", "not_live", None),
        ]
        assert all(r.decided_offline for r in offline)
        now[0] += settings.copy_max_age_seconds + 1  # the copy is now too old to be used
        stale = ruler.rule(probes["Colin Powell"], MODEL, _evidence(7))
        assert (stale.decision, stale.reason, stale.decided_offline) == (
            "deny",
            "centre_unreachable",
            False,
        )
        assert outbox.counts() == {"waiting": 6, "refused": 0}
        server.start()
        _drain(outbox)
    finally:
        ruler.close()
        keeper.close()
        client.close()
        server.stop()
    assert outbox.counts() == {"waiting": 0, "refused": 0}
    assert _logged(db, "lab") == [
        (1, "unlock", "granted", "Colin Powell", False, None),
        (2, "unlock", "granted", "Colin Powell", True, None),
        (3, "deny", "unknown", None, True, None),
        (4, "deny", "unknown", None, True, None),
        (5, "deny", "unknown", None, True, None),
        (6, "deny", "not_live", None, True, None),
        (7, "deny", "centre_unreachable", None, False, None),
    ]


def _copy_data(vector: np.ndarray) -> dict:
    """Return a copy's JSON for door lab: Colin Powell (staff, until 2026-06-30), Mon-Fri."""
    rules = DoorRules(
        "lab", allow=("staff",), schedules={"staff": (Window.parse("Mon-Fri 07:00-19:00"),)}
    )
    person = {
        "id": 1,
        "name": "Colin Powell",
        "groups": ["staff"],
        "valid_until": "2026-06-30",
        "vectors": [[float(v) for v in vector]],
    }
    return {
        "door": "lab",
        "issued_at": "2026-06-29T12:00:00+00:00",
        "timezone": "Europe/Berlin",
        "model": MODEL,
        "dimension": 128,
        "gallery_vectors": 1000,
        "threshold": 0.4,
        "identify_k": 1,
        "retry_margin": 0.05,
        "rules": {**rules.as_dict(), "closed": False},
        "people": [person],
    }


def test_the_copy_rechecks_dates_and_schedules_when_it_decides(site: dict) -> None:
    probes = site["probes"]
    copy = DoorCopy.model_validate(_copy_data(probes["Colin Powell"]))
    decider = CopyDecider.of(copy)
    at = [
        datetime(2026, 6, 29, 9, 0, tzinfo=UTC),  # Monday 11:00 in Berlin
        datetime(2026, 6, 27, 9, 0, tzinfo=UTC),  # Saturday
        datetime(2026, 6, 29, 17, 30, tzinfo=UTC),  # Monday 19:30 in Berlin
        datetime(2026, 7, 1, 9, 0, tzinfo=UTC),  # Wednesday, after valid_until
    ]
    reasons = [decider.rule(probes["Colin Powell"], _evidence(1), when).reason for when in at]
    assert reasons == ["granted", "outside_schedule", "outside_schedule", "expired"]
    assert decider.rule(probes["stranger"], _evidence(2), at[0]).reason == "unknown"
    assert (
        PersonAccess(frozenset({"staff"}), None, date(2026, 6, 30))
        == decider.accesses["Colin Powell"]
    )


class _LosingProxy(http.server.ThreadingHTTPServer):
    """Forwards requests to the centre; drops the answer of the first `lose` POSTs."""

    def __init__(self, target: str, lose: int) -> None:
        super().__init__(("127.0.0.1", free_port()), _ProxyHandler)
        self.target = target
        self.lose = lose

    @property
    def url(self) -> str:
        """Return the proxy's URL."""
        return f"http://127.0.0.1:{self.server_address[1]}"


class _ProxyHandler(http.server.BaseHTTPRequestHandler):
    """One proxied request."""

    server: _LosingProxy

    def do_POST(self) -> None:
        """Forward a POST; close without answering while answers are being lost."""
        body = self.rfile.read(int(self.headers["Content-Length"]))
        headers = {
            k: v for k, v in self.headers.items() if k.lower() in ("authorization", "content-type")
        }
        answer = httpx.post(
            self.server.target + self.path, content=body, headers=headers, timeout=30
        )
        if self.server.lose > 0:
            self.server.lose -= 1
            self.close_connection = True
            return
        self.send_response(answer.status_code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(answer.content)))
        self.end_headers()
        self.wfile.write(answer.content)

    def log_message(self, *args: object) -> None:
        """Keep the test output quiet."""


@pytest.fixture(scope="module")
def centre(site: dict, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Centre]:
    """Return a running centre over the site's gallery."""
    server = Centre(tmp_path_factory.mktemp("centre"), site["db"], config=CENTRE_CONFIG)
    server.start()
    yield server
    server.stop()


def test_a_lost_answer_logs_what_the_door_did(site: dict, centre: Centre, tmp_path: Path) -> None:
    proxy = _LosingProxy(centre.url, lose=1)
    thread = threading.Thread(target=proxy.serve_forever, daemon=True)
    thread.start()
    client = CentreClient(proxy.url, site["tokens"]["any"], timeout_s=10.0)
    outbox = EdgeOutbox(tmp_path / "outbox.db")
    ruler = CentreRuler(client, outbox, 0.2)
    evidence = replace(_evidence(1), door="annex")
    try:
        ruling = ruler.rule(site["probes"]["Colin Powell"], MODEL, evidence)
        assert (ruling.decision, ruling.reason) == ("deny", "centre_unreachable")
        _drain(outbox)
    finally:
        ruler.close()
        client.close()
        proxy.shutdown()
        proxy.server_close()
    assert _logged(site["db"], "annex") == [
        (1, "unlock", "granted", "Colin Powell", False, "deny:centre_unreachable")
    ]


def _get_copy(centre: Centre, token: str, door: str) -> httpx.Response:
    """Ask the centre for a door's copy with a key."""
    headers = {"Authorization": f"Bearer {token}"}
    return httpx.get(centre.url + "/v1/templates/copy", params={"door": door}, headers=headers)


def test_a_bound_key_gets_only_its_own_doors_copy(site: dict, centre: Centre) -> None:
    tokens = site["tokens"]
    mine = _get_copy(centre, tokens["lab"], "lab")
    assert mine.status_code == 200 and mine.headers["cache-control"] == "no-store"
    other = _get_copy(centre, tokens["hall"], "lab")
    assert other.status_code == 403 and other.json()["error"] == "wrong_door"
    assert "people" not in other.text
    unbound = _get_copy(centre, tokens["any"], "lab")
    assert unbound.json()["people"] == mine.json()["people"]
    assert "bound to no door" in (centre.root / "centre.log").read_text()
    assert _get_copy(centre, "fg_not-a-key", "lab").status_code == 401
    assert _get_copy(centre, tokens["lab"], "../lab").status_code == 422


def test_queued_offline_failures_count_toward_the_rate_limit(site: dict, centre: Centre) -> None:
    limit = load_settings().doors.rate_limit_failures
    token = site["tokens"]["probe"]
    headers = {"Authorization": f"Bearer {token}"}
    stranger = site["probes"]["stranger"]
    offline = {"decision": "deny", "reason": "unknown", "decided_offline": True, "threshold": 0.4}
    for track in range(limit):
        body = template_body(stranger, MODEL, replace(_evidence(track), door="vault"))
        answer = httpx.post(
            centre.url + "/v1/templates/decide", json={**body, "offline": offline}, headers=headers
        )
        assert answer.status_code == 200, answer.text
    live = template_body(
        site["probes"]["Colin Powell"], MODEL, replace(_evidence(99), door="vault")
    )
    refused = httpx.post(centre.url + "/v1/templates/decide", json=live, headers=headers)
    assert refused.status_code == 429, refused.text
    flags = [(e.reason, e.decided_offline) for e in EventLog(site["db"]).scan(door="vault")]
    assert flags == [("unknown", True)] * limit + [("rate_limited", False)]
    unnamed = {"decision": "unlock", "reason": "granted", "decided_offline": True}
    body = template_body(stranger, MODEL, replace(_evidence(100), door="vault2"))
    bad = httpx.post(
        centre.url + "/v1/templates/decide", json={**body, "offline": unnamed}, headers=headers
    )
    assert bad.status_code == 422 and json.loads(bad.text)["error"]


def _run(*args: str | Path, env: dict[str, str]) -> list[dict]:
    """Run `facegate run --json` and return its decisions."""
    clean = {k: v for k, v in os.environ.items() if not k.startswith("FACEGATE_")}
    command = [sys.executable, "-m", "facegate", "run", "--json", *map(str, args)]
    result = subprocess.run(
        command, capture_output=True, text=True, env={**clean, **env}, timeout=600
    )
    assert result.returncode == 0, result.stderr
    return [json.loads(line) for line in result.stdout.splitlines() if line.strip()]


def test_run_server_with_the_offline_setting_decides_from_its_stored_copy(
    site: dict, centre: Centre, tmp_path: Path
) -> None:
    token, db = site["tokens"]["lab"], site["db"]
    with CentreClient(centre.url, token, timeout_s=30.0) as client:
        keeper = CopyKeeper(client, "lab", MODEL, load_settings().edge, tmp_path / "copy.json")
        assert keeper.refresh()  # what the door's start did while the centre answered
    before = len(EventLog(db).scan(door="lab"))
    env = {
        "FACEGATE_EDGE__KEY": token,
        "FACEGATE_EDGE__OFFLINE": "cache",
        "FACEGATE_EDGE__COPY_PATH": str(tmp_path / "copy.json"),
        "FACEGATE_EDGE__OUTBOX": str(tmp_path / "outbox.db"),
    }
    gone = f"http://127.0.0.1:{free_port()}"  # the centre is unreachable for the whole run
    events = _run("--server", gone, "--door", "lab", env=env)
    decided = [(e["decision"], e["reason"], e["person"], e["decided_offline"]) for e in events]
    assert ("unlock", "granted", "Eileen Collins", True) in decided
    assert all(flag for *_, flag in decided) and len(decided) >= 2
    with CentreClient(centre.url, token, 30.0) as client, EdgeOutbox(tmp_path / "outbox.db") as box:
        assert box.counts() == {"waiting": len(events), "refused": 0}
        CentreRuler(client, box, 0.2).close()  # the link is back: closing delivers the queue
        assert box.counts() == {"waiting": 0, "refused": 0}
    logged = EventLog(db).scan(door="lab")[before:]
    assert [(e.decision, e.reason, e.person, e.decided_offline) for e in logged] == decided
    headers = {"Authorization": f"Bearer {site['tokens']['reader']}"}
    page = httpx.get(centre.url + "/v1/events", params={"door": "lab"}, headers=headers).json()
    newest = page["events"][: len(events)]
    assert all(e["decided_offline"] and e["door_action"] is None for e in newest)


def test_an_edge_door_of_level_high_challenges_at_the_camera(
    site: dict, centre: Centre, tmp_path: Path
) -> None:
    """run --server at a door whose security level is high (read from its copy): the resident
    is first asked to turn to a random side (retry, needs turn_left / turn_right), as at an
    embedded door, instead of being let in on passive evidence (before, an edge door never knew
    its level and unlocked her)."""
    env = {
        "FACEGATE_EDGE__KEY": site["tokens"]["any"],
        "FACEGATE_EDGE__OFFLINE": "cache",
        "FACEGATE_EDGE__COPY_PATH": str(tmp_path / "copy.json"),
        "FACEGATE_EDGE__OUTBOX": str(tmp_path / "outbox.db"),
    }
    events = _run("--server", centre.url, "--door", "keep", env=env)
    first = events[0]  # the resident (the centre names no one in a retry)
    assert (first["decision"], first["reason"]) == ("retry", "liveness_retry"), first
    assert first["liveness"]["reason"] == "challenge", first["liveness"]
    assert first["liveness"]["needs"] in ("turn_left", "turn_right"), first["liveness"]
    with CentreClient(centre.url, site["tokens"]["any"], timeout_s=30.0) as client:
        keeper = CopyKeeper(client, "keep", MODEL, load_settings().edge, tmp_path / "c2.json")
        assert keeper.level() is None and keeper.refresh() and keeper.level() == "high"


def test_a_refused_fetch_drops_the_doors_copy(site: dict, centre: Centre, tmp_path: Path) -> None:
    settings = load_settings().edge
    path = tmp_path / "copy.json"
    with CentreClient(centre.url, site["tokens"]["lab"], 30.0) as client:
        assert CopyKeeper(client, "lab", MODEL, settings, path).refresh()
    with CentreClient(centre.url, site["tokens"]["hall"], 30.0) as client:
        keeper = CopyKeeper(client, "lab", MODEL, settings, path)
        assert keeper.decider() is not None  # loaded from the file
        assert not keeper.refresh()  # 403 wrong_door: a key that may not have it
        assert keeper.decider() is None and not path.exists()


def test_a_foreign_tampered_or_stale_copy_file_is_not_used(site: dict, tmp_path: Path) -> None:
    data = _copy_data(site["probes"]["Colin Powell"])
    settings = load_settings().edge
    path = tmp_path / "copy.json"
    now = time.time()
    variants = {
        "good": (data, now, True),
        "other door": ({**data, "door": "hall"}, now, False),
        "other model": ({**data, "model": "arcface"}, now, False),
        "unknown zone": ({**data, "timezone": "Mars/Olympus"}, now, False),
        "not unit": (
            {**data, "people": [{**data["people"][0], "vectors": [[0.5] * 128]}]},
            now,
            False,
        ),
        "too old": (data, now - settings.copy_max_age_seconds - 5, False),
        "from the future": (data, now + 3600, False),
    }
    with CentreClient(f"http://127.0.0.1:{free_port()}", "fg_x", 1.0) as client:
        for name, (copy, fetched_at, usable) in variants.items():
            path.write_text(json.dumps({"fetched_at": fetched_at, "copy": copy}))
            keeper = CopyKeeper(client, "lab", MODEL, settings, path)
            assert (keeper.decider() is not None) == usable, name
        path.write_text("{not json")
        assert CopyKeeper(client, "lab", MODEL, settings, path).decider() is None


def test_an_offline_decision_must_fit_the_person_it_names(site: dict, centre: Centre) -> None:
    headers = {"Authorization": f"Bearer {site['tokens']['any']}"}
    probes = site["probes"]
    unlock = {"decision": "unlock", "reason": "granted", "decided_offline": True}
    claims = [
        (probes["stranger"], "Colin Powell", 422),  # a face that is not his
        (probes["Colin Powell"], "Nobody Enrolled", 422),
        (probes["Colin Powell"], "Colin Powell", 200),
    ]
    for track, (vector, person, status) in enumerate(claims):
        body = template_body(vector, MODEL, replace(_evidence(200 + track), door="annex"))
        answer = httpx.post(
            centre.url + "/v1/templates/decide",
            json={**body, "offline": {**unlock, "person": person}},
            headers=headers,
        )
        assert answer.status_code == status, (person, answer.text)
    logged = [(e.track, e.person) for e in EventLog(site["db"]).scan(door="annex")]
    assert logged[-1] == (202, "Colin Powell") and (200, "Colin Powell") not in logged


def test_an_offline_door_keeps_its_own_failure_limit(
    site: dict, centre: Centre, tmp_path: Path
) -> None:
    """Cut off from the centre, a door deciding from its copy counts its own refusals: past
    doors.rate_limit_failures in the window every attempt, the right person's too, is denied
    rate_limited (whoever cut the network cannot hold up print after print); once the oldest
    failure leaves the window the door admits again. Unlocks are not failures."""
    probes = site["probes"]
    edge = load_settings().edge.model_copy(update={"retry_seconds": 0.2})
    client = CentreClient(centre.url, site["tokens"]["lab"], timeout_s=3.0)
    keeper = CopyKeeper(client, "lab", MODEL, edge, tmp_path / "copy.json")
    clock = [1000.0]
    outbox = EdgeOutbox(tmp_path / "outbox.db")
    ruler = CentreRuler(client, outbox, 0.2, keeper.decider, Lockout(3, 60.0), lambda: clock[0])
    try:
        keeper.start()
        centre.kill()
        granted = ruler.rule(probes["Colin Powell"], MODEL, _evidence(1))
        tries = [ruler.rule(probes["stranger"], MODEL, _evidence(t)) for t in (2, 3, 4)]
        blocked = ruler.rule(probes["Colin Powell"], MODEL, _evidence(5))
        clock[0] += 61.0
        again = ruler.rule(probes["Colin Powell"], MODEL, _evidence(6))
        assert (granted.decision, granted.reason) == ("unlock", "granted")
        assert [(r.decision, r.reason) for r in tries] == [("deny", "unknown")] * 3
        assert (blocked.decision, blocked.reason, blocked.decided_offline) == (
            "deny",
            "rate_limited",
            True,
        )
        assert (again.decision, again.reason) == ("unlock", "granted")
        assert outbox.counts()["waiting"] == 6  # every attempt is queued for the centre's log
    finally:
        centre.start()
        ruler.close()
        keeper.close()
        client.close()
