"""Doors over a real `facegate serve`: rules, one decision with the loop, rate limits, erasure."""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pytest
from json_receiver import JsonReceiver
from service_server import TEST_CONFIG, Server, running_server
from test_cli import facegate, lines
from test_service import image_part

from facegate import api
from facegate.access_event import AccessEvent
from facegate.decide.rules import PersonAccess
from facegate.gallery import SQLiteGallery
from facegate.gallery.access import SQLiteAccessStore
from facegate.media import load_image
from facegate.monitor.crops import CropStore
from facegate.service.keys import KeyStore
from facegate.settings import load_settings
from facegate.stream.loop import AccessLoop

FAILURES = 3


@pytest.fixture(scope="module")
def hooks() -> Iterator[tuple[JsonReceiver, JsonReceiver]]:
    """Return the webhook receivers of decisions and of alarms."""
    with JsonReceiver() as decisions, JsonReceiver() as alarms:
        yield decisions, alarms


@pytest.fixture(scope="module")
def server(
    tmp_path_factory: pytest.TempPathFactory, hooks: tuple[JsonReceiver, JsonReceiver]
) -> Iterator[Server]:
    """Return a running service with a small rate limit, sending to the webhook receivers."""
    decisions, alarms = hooks
    config = TEST_CONFIG + (
        f"\n[doors]\nrate_limit_failures = {FAILURES}\n"
        f'[actions]\nwebhooks = ["{decisions.url}"]\n[alarms]\nwebhooks = ["{alarms.url}"]\n'
    )
    with running_server(tmp_path_factory.mktemp("access"), config) as running:
        yield running


@pytest.fixture(scope="module")
def site(server: Server, faces: dict[str, list[Path]]) -> Server:
    """Enroll Colin Powell (staff) and Serena Williams (visitors); door lab admits staff."""
    with server.client("admin") as admin:
        for name, group in (("Colin Powell", "staff"), ("Serena Williams", "visitors")):
            created = admin.post(
                "/v1/people",
                data={"name": name, "group": [group], "consent": "test: LFW photo"},
                files=[("images", image_part(faces[name][0]))],
            )
            assert created.status_code == 201, created.text
        door = admin.put("/v1/doors/lab", json={"allow": ["staff"], "liveness": "off"})
        assert door.status_code == 200, door.text
        bad = admin.post(
            "/v1/people",
            data={"name": "Colin Powell\u200b", "consent": "t"},
            files=[("images", image_part(faces["Colin Powell"][1]))],
        )
        assert bad.status_code == 422 and "invisible" in bad.json()["message"]
    with SQLiteAccessStore(server.db) as store:
        assert store.person_access("Serena Williams") == PersonAccess(frozenset({"visitors"}))
    return server


def _key(server: Server, scope: str) -> str:
    """Return a fresh API key token of one scope (its own rate-limit budget)."""
    with KeyStore(server.db) as keys:
        return keys.create(f"fresh-{scope}-{np.random.default_rng().integers(1 << 30)}", [scope])[1]


def test_door_rules_over_http_need_admin_and_show_the_operating_point(server: Server) -> None:
    """PUT creates then changes a door (version up); door keys may not; bad rules get 422."""
    with server.client("door") as door:
        assert door.get("/v1/doors").status_code == 403
        assert door.put("/v1/doors/x", json={}).status_code == 403
    with server.client("admin") as admin:
        made = admin.put("/v1/doors/server", json={"allow": ["admins"], "level": "high"})
        assert made.status_code == 200, made.text
        body = made.json()
        assert body["version"] == 1 and body["far"] == 0.0001 and body["allow"] == ["admins"]
        assert body["threshold"] <= 0.42 and "expected_false_accept" in body
        changed = admin.put("/v1/doors/server", json={"level": "low"}).json()
        assert changed["version"] == 2 and changed["allow"] == ["admins"]
        assert changed["threshold"] >= body["threshold"]
        bad = admin.put("/v1/doors/server", json={"schedule": ["guests=Mon 07:00-08:00"]})
        assert bad.status_code == 422 and "does not allow" in bad.json()["message"]
        assert admin.put("/v1/doors/server", json={"bogus": 1}).status_code == 422
        assert admin.put("/v1/doors/server", json={"fpir": 5}).status_code == 422
        assert admin.delete("/v1/doors/server").status_code == 200
        assert admin.get("/v1/doors/server").status_code == 404


def _loop_decision(db: Path, door: str, image: Path) -> AccessEvent:
    """Return the access loop's decision for a person holding still in front of the camera."""
    settings = load_settings(environ={}, gate={"mode": "off"}, loop={"door": door})
    events: list[AccessEvent] = []
    with SQLiteGallery(db) as gallery, SQLiteAccessStore(db) as store:
        loop = AccessLoop(settings, gallery, events.append, access=store)
        frame = load_image(image)
        for i in range(30):
            loop.process(frame, i / 25)
        loop.flush(30 / 25)
    assert events, "the loop decided nothing"
    return events[0]


def test_the_loop_cli_and_http_give_the_same_decision(site: Server, faces: dict) -> None:
    """Same faces, same door: allowed, recognised-but-not-allowed and stranger agree."""
    probes = {
        "Colin Powell": (faces["Colin Powell"][1], "unlock", "granted"),
        "Serena Williams": (faces["Serena Williams"][1], "deny", "not_allowed"),
        "George W Bush": (faces["George W Bush"][0], "deny", "unknown"),
    }
    with site.client("admin") as admin:
        for name, (path, decision, reason) in probes.items():
            http = admin.post(
                "/v1/identify", data={"door": "lab"}, files={"image": image_part(path)}
            ).json()
            looped = _loop_decision(site.db, "lab", path)
            cli = facegate("identify", "--json", "--door", "lab", path, db=site.db)
            assert cli.returncode == (0 if decision == "unlock" else 1), cli.stderr
            command = lines(cli)[0]
            assert (http["decision"], http["reason"]) == (decision, reason), (name, http)
            assert (looped.decision, looped.reason) == (decision, reason), (name, looped)
            assert (command["decision"], command["reason"]) == (decision, reason), command
            assert looped.policy_version == http["policy_version"] == 1


def test_http_decisions_go_to_the_outputs(site: Server, hooks: tuple, faces: dict) -> None:
    """A door check over HTTP is sent to the webhook like the loop's decisions are."""
    decisions, _ = hooks
    with site.client("admin") as admin:  # a site with doors: each door is configured
        assert admin.put("/v1/doors/porch", json={"liveness": "off"}).status_code == 200
    with site.client("door") as door:
        door.post(
            "/v1/identify",
            data={"door": "porch"},
            files={"image": image_part(faces["Colin Powell"][3])},
        )
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and not any(
        e.get("door") == "porch" for e in decisions.received
    ):
        time.sleep(0.1)
    sent = [e for e in decisions.received if e.get("door") == "porch"]
    assert sent and sent[0]["decision"] == "unlock" and sent[0]["reason"] == "granted"


def test_rate_limit_under_8_concurrent_clients(site: Server, hooks: tuple, faces: dict) -> None:
    """Past N failures per key and door: 429 rate_limited, every attempt logged, none lost."""
    token = _key(site, "door")
    stranger = image_part(faces["George W Bush"][1])
    with site.client("admin") as admin:  # a site with doors: each door is configured
        for name in ("front", "side"):
            assert admin.put(f"/v1/doors/{name}", json={"liveness": "off"}).status_code == 200

    def attempt(_: int) -> int:
        with site.client() as client:
            client.headers["Authorization"] = f"Bearer {token}"
            return client.post(
                "/v1/identify", data={"door": "front"}, files={"image": stranger}
            ).status_code

    with ThreadPoolExecutor(8) as pool:
        codes = list(pool.map(attempt, range(16)))
    assert sorted(codes) == [200] * FAILURES + [429] * (16 - FAILURES), codes
    with site.client("read") as read:
        logged = read.get("/v1/events", params={"door": "front", "limit": 100}).json()
    assert logged["total"] == 16
    reasons = sorted(e["reason"] for e in logged["events"])
    assert reasons == ["rate_limited"] * (16 - FAILURES) + ["unknown"] * FAILURES
    with site.client() as client:  # the key is blocked at any door now, the door for any key
        client.headers["Authorization"] = f"Bearer {token}"
        other = client.post("/v1/identify", data={"door": "side"}, files={"image": stranger})
        assert other.status_code == 429 and other.json()["error"] == "rate_limited"
        client.headers["Authorization"] = f"Bearer {_key(site, 'door')}"
        same = client.post("/v1/identify", data={"door": "front"}, files={"image": stranger})
        assert same.status_code == 429
    _, alarms = hooks
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and not alarms.received:
        time.sleep(0.1)
    assert alarms.received and alarms.received[0]["alarm"] == "rate_limited"
    assert alarms.received[0]["door"] == "front"


def test_removing_a_person_leaves_no_name_in_any_database_file(site: Server, faces: dict) -> None:
    """DELETE /v1/people/{id}: events keep a tombstone id; no file holds the name."""
    name = "Zebulon Quarterfield"
    with site.client("admin") as admin:
        hall = admin.put("/v1/doors/hall", json={"mode": "verify", "liveness": "off"})
        assert hall.status_code == 200, hall.text
        created = admin.post(
            "/v1/people",
            data={"name": name, "consent": "test: LFW photo"},
            files=[("images", image_part(faces["Colin Powell"][2]))],
        )
        person_id = created.json()["person"]["id"]
        for door in ("hall", "lab"):
            admin.post(
                "/v1/verify",
                data={"person": name, "door": door},
                files={"image": image_part(faces["Colin Powell"][3])},
            )
        assert admin.get("/v1/events", params={"person": name}).json()["total"] >= 1
        crop = b"\xff\xd8" + b"CROP-OF-ZEBULON-" * 16
        with CropStore(site.db) as crops:
            named = sqlite3.connect(site.db).execute(
                "SELECT id FROM access_events WHERE person = ? OR claimed = ?", (name, name)
            )
            ids = [row[0] for row in named]
            for event_id in ids:
                crops.add(event_id, 1e12, crop)
            assert admin.delete(f"/v1/people/{person_id}").status_code == 200
            assert crops.having(ids, 0.0) == set()
        events = admin.get("/v1/events", params={"limit": 500}).json()["events"]
    tombstone = api.tombstone(api.PersonSummary(person_id, name, "", 0, None))
    assert any(e["claimed"] == tombstone for e in events)
    files = [p for p in site.db.parent.iterdir() if p.name.startswith(site.db.name)]
    assert site.db in files
    for path in files:
        data = path.read_bytes()
        assert name.encode() not in data, path
        assert name.encode("utf-16-le") not in data, path
        assert crop[2:40] not in data, path


def test_dashboard_shows_each_door_policy_and_refusals_by_reason(site: Server, faces: dict) -> None:
    """The served dashboard lists door lab's level and threshold and denials by reason."""
    with site.client("admin") as admin:  # one refusal of each reason, whatever ran before
        for path in (faces["Serena Williams"][1], faces["George W Bush"][0]):
            admin.post("/v1/identify", data={"door": "lab"}, files={"image": image_part(path)})
    with site.client("read") as read:
        page = read.get("/dashboard").text
    panel = page[page.index('id="policies"') :]
    assert "<td>lab</td>" in panel and "<td>standard</td>" in panel
    assert "Refusals by reason" in panel
    for reason in ("not_allowed", "unknown"):
        assert f"<th>{reason}</th>" in panel


def test_a_typo_in_the_door_name_admits_nobody(site: Server, faces: dict) -> None:
    """At a site with configured doors, an unknown door name refuses everywhere: unknown_door."""
    path = faces["Colin Powell"][1]  # allowed and granted at "lab" above
    with site.client() as door:
        door.headers["Authorization"] = f"Bearer {_key(site, 'door')}"  # its own failure budget
        http = door.post(
            "/v1/identify", data={"door": "lba"}, files={"image": image_part(path)}
        ).json()
    looped = _loop_decision(site.db, "lba", path)
    cli = facegate("identify", "--json", "--door", "lba", path, db=site.db)
    assert cli.returncode == 1, cli.stderr
    for decision, reason in (
        (http["decision"], http["reason"]),
        (looped.decision, looped.reason),
        (lines(cli)[0]["decision"], lines(cli)[0]["reason"]),
    ):
        assert (decision, reason) == ("deny", "unknown_door")
