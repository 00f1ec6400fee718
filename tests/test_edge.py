"""Edge doors and the centre: `run --server` end to end, forged templates, the offline queue."""

from __future__ import annotations

import json
import math
import os
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import numpy as np
import pytest
from edge_centre import Centre

from facegate.access_event import AccessEvent, now_iso
from facegate.demo import enroll_scene_people
from facegate.edge.client import CentreClient
from facegate.edge.outbox import EdgeOutbox
from facegate.edge.ruler import CentreRuler, template_body
from facegate.gallery.sqlite import SQLiteGallery
from facegate.monitor.events import EventLog
from facegate.service.keys import KeyStore
from facegate.settings import load_settings
from facegate.stores import open_event_log
from facegate.stream.ruling import TrackEvidence

MODEL = "dlib-resnet-v1"


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Return a folder with a gallery of the demo scene's resident (Eileen Collins)."""
    root = tmp_path_factory.mktemp("site")
    with SQLiteGallery(root / "gallery.db") as gallery:
        enroll_scene_people(gallery, root, load_settings())
    return root


def _keys(db: Path, *names: str) -> dict[str, str]:
    """Create keys (name -> token): names starting with 'read' get door + read, others door."""
    with KeyStore(db) as store:
        scopes = {n: ["door", "read"] if n.startswith("read") else ["door"] for n in names}
        return {n: store.create(n, s)[1] for n, s in scopes.items()}


@pytest.fixture(scope="module")
def centre(site: Path) -> Iterator[tuple[Centre, dict[str, str]]]:
    """Return a running centre over the site's gallery and its door keys."""
    tokens = _keys(site / "gallery.db", "door", "read", "probe", "forger")
    server = Centre(site, site / "gallery.db")
    server.start()
    yield server, tokens
    server.stop()


def _resident(site: Path) -> np.ndarray:
    """Return one of Eileen Collins's enrolled vectors."""
    with SQLiteGallery(site / "gallery.db") as gallery:
        return gallery.embeddings(MODEL).vectors[0]


def _evidence(door: str = "main", track: int = 1, live: bool | None = True) -> TrackEvidence:
    """Return a track's evidence as the loop would send it."""
    liveness = {"live": live, "score": 1.0}
    return TrackEvidence(door, track, live, False, liveness, {"face_px": 90}, 5, 400.0)


def _post(centre: Centre, token: str, body: dict | str) -> httpx.Response:
    """Post one template body (a dict as JSON, a str as it is) to the centre."""
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
    content = body if isinstance(body, str) else json.dumps(body)
    return httpx.post(centre.url + "/v1/templates/decide", content=content, headers=headers)


def _run(*args: str | Path, env: dict[str, str] | None = None) -> list[dict]:
    """Run `facegate run --json` and return its decisions."""
    clean = {k: v for k, v in os.environ.items() if not k.startswith("FACEGATE_")}
    result = subprocess.run(
        [sys.executable, "-m", "facegate", "run", "--json", *map(str, args)],
        capture_output=True,
        text=True,
        env={**clean, **(env or {})},
        timeout=600,
    )
    assert result.returncode == 0, result.stderr
    return [json.loads(line) for line in result.stdout.splitlines() if line.strip()]


def test_edge_door_decides_like_a_local_run(site: Path, centre: tuple[Centre, dict]) -> None:
    server, tokens = centre
    before = EventLog(site / "gallery.db").count()
    env = {"FACEGATE_EDGE__KEY": tokens["read"], "FACEGATE_EDGE__OUTBOX": str(site / "o1.db")}
    edge = _run("--server", server.url, "--door", "front", env=env)
    local = _run("--db", site / "gallery.db", "--events", site / "local.db", "--door", "front")
    assert [(e["decision"], e["reason"], e["person"]) for e in edge] == [
        (e["decision"], e["reason"], e["person"]) for e in local
    ]
    assert [e["distance"] for e in edge] == pytest.approx([e["distance"] for e in local])
    assert ("unlock", "Eileen Collins") in [(e["decision"], e["person"]) for e in edge]
    logged = EventLog(site / "gallery.db").scan(door="front")
    assert len(logged) == len(edge) == EventLog(site / "gallery.db").count() - before
    assert [(e.decision, e.person, e.track) for e in logged] == [
        (e["decision"], e["person"], e["track"]) for e in local
    ]
    assert all(e.liveness and e.liveness["via"] == "template" for e in logged)
    assert EdgeOutbox(site / "o1.db").counts() == {"waiting": 0, "refused": 0}


def test_door_key_sees_decision_only_and_read_key_the_numbers(
    site: Path, centre: tuple[Centre, dict]
) -> None:
    server, tokens = centre
    body = template_body(_resident(site), MODEL, _evidence("side"))
    door = _post(server, tokens["door"], body)
    assert door.status_code == 200, door.text
    assert (door.json()["decision"], door.json()["person"], door.json()["distance"]) == (
        "unlock",
        None,
        None,
    )
    body = template_body(_resident(site), MODEL, _evidence("side", 2))
    read = _post(server, tokens["read"], body).json()
    assert (read["person"], read["distance"]) == ("Eileen Collins", pytest.approx(0.0, abs=1e-6))
    not_live = template_body(_resident(site), MODEL, _evidence("side", 3, live=False))
    assert _post(server, tokens["door"], not_live).json()["reason"] == "not_live"
    no_verdict = template_body(_resident(site), MODEL, _evidence("side", 4, live=None))
    assert _post(server, tokens["door"], no_verdict).json()["reason"] == "not_live"


def test_a_centre_hands_out_no_door_copies_unless_told(
    site: Path, centre: tuple[Centre, dict]
) -> None:
    server, tokens = centre
    headers = {"Authorization": f"Bearer {tokens['door']}"}
    answer = httpx.get(server.url + "/v1/templates/copy", params={"door": "front"}, headers=headers)
    assert answer.status_code == 403 and answer.json()["error"] == "copies_off"


def _bad_bodies(site: Path) -> dict[str, dict | str]:
    """Return templates a forger or a broken door might send, each to be refused with 422."""
    good = template_body(_resident(site), MODEL, _evidence("forged"))
    bodies: dict[str, dict | str] = {
        "other model": {**good, "model": "arcface"},
        "short": {**good, "vector": good["vector"][:64]},
        "long": {**good, "vector": good["vector"] * 40},
        "not unit": {**good, "vector": [2 * v for v in good["vector"]]},
        "zero": {**good, "vector": [0.0] * 128},
        "bad key": {**good, "event_key": "x"},
        "extra field": {**good, "image": "aGVsbG8="},
        "big evidence": {**good, "liveness": {f"k{i}": 1.0 for i in range(100)}},
        "long text": {**good, "liveness": {"reason": "x" * 10_000}},
        "offline unlock": {**good, "offline": {"decision": "unlock", "reason": "granted"}},
        "offline unnamed unlock": {
            **good,
            "offline": {"decision": "unlock", "reason": "granted", "decided_offline": True},
        },
        "offline mismatch": {
            **good,
            "offline": {"decision": "deny", "reason": "granted", "decided_offline": True},
        },
        "offline decided unreachable": {
            **good,
            "offline": {
                "decision": "deny",
                "reason": "centre_unreachable",
                "decided_offline": True,
            },
        },
        "offline bad distance": {
            **good,
            "offline": {
                "decision": "deny",
                "reason": "unknown",
                "decided_offline": True,
                "distance": 7.0,
            },
        },
        "offline future": {
            **good,
            "offline": {"decision": "deny", "reason": "centre_unreachable"},
            "time": "2999-01-01T00:00:00+00:00",
        },
    }
    bodies["nan"] = json.dumps(good).replace(str(good["vector"][0]), "NaN", 1)
    bodies["infinity in evidence"] = json.dumps({**good, "face_quality": {"x": 1}}).replace(
        '"x": 1', '"x": Infinity'
    )
    return bodies


def test_forged_and_malformed_templates_are_refused(
    site: Path, centre: tuple[Centre, dict]
) -> None:
    server, tokens = centre
    before = EventLog(site / "gallery.db").count()
    for name, body in _bad_bodies(site).items():
        answer = _post(server, tokens["forger"], body)
        assert answer.status_code == 422, (name, answer.text)
        assert set(answer.json()) == {"error", "message"}, name
    good = template_body(_resident(site), MODEL, _evidence("forged"))
    assert _post(server, "fg_not-a-key", good).status_code == 401
    assert EventLog(site / "gallery.db").count() == before  # nothing logged for a refusal


def test_forged_templates_hit_the_rate_limit(site: Path, centre: tuple[Centre, dict]) -> None:
    server, tokens = centre
    rng = np.random.default_rng(0)
    limit = load_settings().doors.rate_limit_failures
    for _ in range(limit - 1):  # the forger's random vectors are unknown faces: failures
        vector = rng.normal(size=128).astype(np.float32)
        body = template_body(vector / np.linalg.norm(vector), MODEL, _evidence("vault"))
        assert _post(server, tokens["probe"], body).json()["decision"] == "deny"
    bad = {**template_body(_resident(site), MODEL, _evidence("vault")), "model": "other"}
    assert _post(server, tokens["probe"], bad).status_code == 422  # counted too: the limit
    refused = _post(
        server, tokens["probe"], template_body(_resident(site), MODEL, _evidence("vault"))
    )
    assert refused.status_code == 429, refused.text
    assert refused.json()["error"] == "rate_limited"
    reasons = [e.reason for e in EventLog(site / "gallery.db").scan(door="vault")]
    assert reasons == ["unknown"] * (limit - 1) + ["rate_limited"]


def test_a_retried_template_is_decided_and_logged_once(
    site: Path, centre: tuple[Centre, dict]
) -> None:
    server, tokens = centre
    body = template_body(_resident(site), MODEL, _evidence("retry"))
    first = _post(server, tokens["door"], body).json()
    again = _post(server, tokens["door"], {**body, "vector": [1.0] + [0.0] * 127}).json()
    assert (first["replayed"], again["replayed"]) == (False, True)
    assert (again["decision"], again["time"], again["attempt"]) == (
        first["decision"],
        first["time"],
        first["attempt"],
    )
    assert EventLog(site / "gallery.db").count(door="retry") == 1
    other_door = _post(server, tokens["door"], {**body, "door": "elsewhere"})
    assert other_door.status_code == 422  # a key seen at another door is not answered
    assert EventLog(site / "gallery.db").count(door="elsewhere") == 0


def test_centre_killed_mid_run_loses_and_duplicates_nothing(site: Path, tmp_path: Path) -> None:
    db = tmp_path / "gallery.db"
    with sqlite3.connect(site / "gallery.db") as source, sqlite3.connect(db) as copy:
        source.backup(copy)  # the site's gallery (and its events at other doors)
    token = _keys(db, "door")["door"]
    server = Centre(tmp_path, db)
    server.start()
    resident = _resident(site)
    stranger = np.roll(resident, 1) / np.linalg.norm(np.roll(resident, 1))
    client = CentreClient(server.url, token, timeout_s=3.0)
    outbox = EdgeOutbox(tmp_path / "outbox.db")
    ruler = CentreRuler(client, outbox, retry_seconds=0.2)
    try:
        sent = [ruler.rule(resident, MODEL, _evidence("lab", 1))]
        sent.append(ruler.rule(stranger, MODEL, _evidence("lab", 2)))
        server.kill()
        sent += [
            ruler.rule(v, MODEL, _evidence("lab", t)) for t, v in ((3, resident), (4, stranger))
        ]
        assert [r.reason for r in sent] == ["granted", "unknown"] + ["centre_unreachable"] * 2
        assert outbox.counts() == {"waiting": 2, "refused": 0}
        server.start()
        deadline = time.monotonic() + 30
        while outbox.counts()["waiting"] and time.monotonic() < deadline:
            time.sleep(0.2)
        sent.append(ruler.rule(resident, MODEL, _evidence("lab", 5)))
    finally:
        ruler.close()
        client.close()
        server.stop()
    assert outbox.counts() == {"waiting": 0, "refused": 0}
    logged = EventLog(db).scan(door="lab")
    assert [(e.track, e.decision, e.reason) for e in logged] == [
        (1, "unlock", "granted"),
        (2, "deny", "unknown"),
        (3, "deny", "centre_unreachable"),
        (4, "deny", "centre_unreachable"),
        (5, "unlock", "granted"),
    ]


@pytest.fixture(params=["sqlite", "postgres"])
def events_target(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """Return an empty event log's path or URL, on each backend."""
    if request.param == "sqlite":
        return str(tmp_path / "events.db")
    return request.getfixturevalue("postgres").database()


def test_append_once_stores_one_event_per_key_on_both_backends(events_target: str) -> None:
    settings = load_settings()
    event = AccessEvent(now_iso(), "lab", "identify", 1, None, "deny", None, 0.5, 0.3, 5)
    with open_event_log(events_target, settings) as log:
        _, new = log.append_once(event, "k" * 20)
        other = AccessEvent(**{**event.as_dict(), "decision": "unlock"})
        again, second = log.append_once(other, "k" * 20)
        assert (new, second) == (True, False)
        assert again.decision == "deny" and log.count() == 1
        assert log.logged("k" * 20, "lab") == again
        assert log.logged("u" * 20, "lab") is None
        with pytest.raises(ValueError, match="another door"):
            log.logged("k" * 20, "hall")
        assert math.isclose(log.scan()[0].distance or 0.0, 0.5)
        noted = log.record_door_action("k" * 20, "lab", "deny:centre_unreachable")
        assert noted is not None and noted.door_action == "deny:centre_unreachable"
        assert log.record_door_action("k" * 20, "lab", "unlock:granted") == noted  # first wins
        assert log.record_door_action("u" * 20, "lab", "deny:unknown") is None
        offline = AccessEvent(**{**event.as_dict(), "track": 2, "decided_offline": True})
        log.append_once(offline, "o" * 20)
        assert [(e.decided_offline, e.door_action) for e in log.scan()] == [
            (False, "deny:centre_unreachable"),
            (True, None),
        ]
