"""The HTTP service as clients use it: a real server in a subprocess, real LFW faces."""

from __future__ import annotations

import io
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import numpy as np
import pytest
from PIL import Image
from service_server import Server, running_server
from test_dashboard import assert_not_blank, chromium_load, needs_chromium

from facegate.service.keys import KeyStore


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """Return a running service on an empty gallery."""
    with running_server(tmp_path_factory.mktemp("service")) as running:
        yield running


def png(width: int, height: int) -> bytes:
    """Return a flat grey PNG (no face) of this size."""
    buffer = io.BytesIO()
    Image.fromarray(np.full((height, width, 3), 128, np.uint8)).save(buffer, format="PNG")
    return buffer.getvalue()


def image_part(path: Path) -> tuple[str, bytes, str]:
    """Return a multipart file tuple for an image file."""
    return (path.name, path.read_bytes(), "image/jpeg")


# (method, path, form fields, needs a file, scopes that may call it)
ROUTES = [
    ("POST", "/v1/people", {"name": "nobody"}, "images", {"admin", "enroll"}),
    ("GET", "/v1/people", None, None, {"admin", "enroll", "read"}),
    ("DELETE", "/v1/people/999999", None, None, {"admin", "enroll"}),
    ("POST", "/v1/verify", {"person": "nobody"}, "image", {"admin", "door"}),
    ("POST", "/v1/identify", {}, "image", {"admin", "door"}),
    ("GET", "/v1/events", None, None, {"admin", "read"}),
    ("GET", "/dashboard", None, None, {"admin", "read"}),
    ("GET", "/v1/drift", None, None, {"admin", "read"}),
    ("GET", "/v1/doors", None, None, {"admin"}),
    ("DELETE", "/v1/doors/nosuch", None, None, {"admin"}),
]


def call(client: httpx.Client, method: str, path: str, form: dict | None, file: str | None):
    """Send one request of the ROUTES table (with a tiny non-face image where a file is due)."""
    files = {file: ("grey.png", png(64, 64), "image/png")} if file else None
    return client.request(method, path, data=form, files=files)


@pytest.mark.parametrize(("method", "path", "form", "file", "allowed"), ROUTES)
def test_every_route_checks_the_key_and_its_scope(
    server: Server, method: str, path: str, form: dict | None, file: str | None, allowed: set[str]
) -> None:
    with server.client() as anonymous:
        missing = call(anonymous, method, path, form, file)
        assert missing.status_code == 401
        assert missing.json()["error"] == "missing_key"
        assert missing.headers["www-authenticate"] == "Bearer"
    with httpx.Client(base_url=server.url, headers={"X-API-Key": "fg_not-a-key"}) as wrong:
        bogus = call(wrong, method, path, form, file)
        assert bogus.status_code == 401 and bogus.json()["error"] == "invalid_key"
    for scope in ("admin", "enroll", "door", "read"):
        with server.client(scope) as client:
            response = call(client, method, path, form, file)
        if scope in allowed:
            assert response.status_code not in (401, 403), (scope, response.text)
        else:
            assert response.status_code == 403, (scope, response.text)
            assert response.json()["error"] == "forbidden"


def test_x_api_key_header_works_like_bearer(server: Server) -> None:
    headers = {"X-API-Key": server.tokens["read"]}
    assert httpx.get(server.url + "/v1/events", headers=headers).status_code == 200


def test_api_key_query_parameter_is_for_the_read_scope_only(server: Server) -> None:
    events = httpx.get(server.url + "/v1/events", params={"api_key": server.tokens["read"]})
    assert events.status_code == 200
    door_key = httpx.get(server.url + "/v1/events", params={"api_key": server.tokens["door"]})
    assert door_key.status_code == 403
    identify = httpx.post(
        server.url + "/v1/identify",
        params={"api_key": server.tokens["admin"]},
        files={"image": ("grey.png", png(64, 64), "image/png")},
    )
    assert identify.status_code == 401


def test_a_revoked_key_stops_working_at_once(server: Server) -> None:
    with KeyStore(server.db) as store:
        key, token = store.create("short-lived", ["read"])
        headers = {"Authorization": f"Bearer {token}"}
        assert httpx.get(server.url + "/v1/events", headers=headers).status_code == 200
        store.revoke(key.id)
    assert httpx.get(server.url + "/v1/events", headers=headers).status_code == 401


def test_health_and_metrics_need_no_key(server: Server) -> None:
    assert httpx.get(server.url + "/healthz").json()["status"] == "ok"
    metrics = httpx.get(server.url + "/metrics")
    assert metrics.status_code == 200
    assert metrics.headers["content-type"].startswith("text/plain")
    assert "facegate_http_requests_total" in metrics.text
    assert "facegate_gallery_people" in metrics.text


def test_openapi_docs_are_served(server: Server) -> None:
    spec = httpx.get(server.url + "/openapi.json").json()
    assert {"/v1/people", "/v1/verify", "/v1/identify", "/v1/events"} <= set(spec["paths"])
    assert httpx.get(server.url + "/docs").status_code == 200


def test_oversize_bodies_are_refused_before_they_are_read(server: Server) -> None:
    big = b"\xff" * 400_000
    with server.client("door") as client:
        declared = client.post("/v1/identify", files={"image": ("big.jpg", big, "image/jpeg")})
        assert declared.status_code == 413
        assert declared.json()["error"] == "upload_too_large"
        encoded = httpx.Request("POST", "/", files={"image": ("big.jpg", big, "image/jpeg")})
        body = encoded.read()
        chunks = (body[i : i + 65_536] for i in range(0, len(body), 65_536))
        streamed = client.post(  # chunked: no Content-Length to refuse it by
            "/v1/identify",
            content=chunks,
            headers={"Content-Type": encoded.headers["Content-Type"]},
        )
        assert streamed.status_code == 413
        assert streamed.json()["error"] == "upload_too_large"


def test_bad_images_get_clear_json_errors(server: Server) -> None:
    cases = [
        (b"just some text, not a picture", 415, "not_an_image"),
        (png(2000, 1500), 413, "image_too_large"),  # 3 MP > media.max_pixels in the test config
        (png(8, 8), 422, "image_too_small"),
        (png(64, 64), 422, "no_face"),
    ]
    with server.client("door") as client:
        for data, status, code in cases:
            response = client.post("/v1/identify", files={"image": ("x", data, "image/png")})
            assert (response.status_code, response.json()["error"]) == (status, code)
            assert response.json()["message"]
        missing = client.post("/v1/verify", data={"door": "front"})
        assert missing.status_code == 422 and missing.json()["error"] == "invalid_request"
        bad_door = client.post(
            "/v1/identify", data={"door": "a door/with slash"}, files={"image": ("g", png(64, 64))}
        )
        assert bad_door.status_code == 422


def test_enroll_verify_identify_and_events(server: Server, faces: dict[str, list[Path]]) -> None:
    powell, serena, bush = faces["Colin Powell"], faces["Serena Williams"], faces["George W Bush"]
    with server.client("enroll") as enroll:
        created = enroll.post(
            "/v1/people",
            data={"name": "Colin Powell", "consent": "badge photo, signed"},
            files=[("images", image_part(p)) for p in powell[:2]],
        )
        assert created.status_code == 201, created.text
        assert created.json()["person"]["embeddings"] == 2
        assert created.json()["person"]["consent"] == "badge photo, signed"
        again = enroll.post(
            "/v1/people",
            data={"name": "Colin Powell", "consent": "t"},
            files=[("images", image_part(powell[2]))],
        )
        assert again.status_code == 409 and again.json()["error"] == "person_exists"
        added = enroll.post(
            "/v1/people",
            data={"name": "Serena Williams", "no_consent_note": "true"},
            files=[("images", image_part(serena[0]))],
        )
        assert added.status_code == 201
        listed = enroll.get("/v1/people").json()["people"]
        assert [p["name"] for p in listed] == ["Colin Powell", "Serena Williams"]
    with server.client("admin") as door:  # admin keys see the numbers; door keys do not
        ok = door.post(
            "/v1/verify",
            data={"person": "Colin Powell", "door": "lab"},
            files={"image": image_part(powell[3])},
        ).json()
        assert ok["decision"] == "unlock" and ok["person"] == "Colin Powell" and ok["attempt"] == 1
        wrong = door.post(
            "/v1/verify",
            data={"person": "Serena Williams", "door": "lab"},
            files={"image": image_part(powell[2])},
        ).json()
        assert wrong["decision"] == "deny" and wrong["person"] is None
        retry = door.post(
            "/v1/verify",
            data={"person": "Serena Williams", "door": "lab"},
            files={"image": image_part(serena[1])},
        ).json()
        assert retry["decision"] == "unlock" and retry["attempt"] == 2  # re-authentication
        who = door.post(
            "/v1/identify", data={"door": "hall"}, files={"image": image_part(powell[2])}
        ).json()
        assert who["mode"] == "identify" and who["person"] == "Colin Powell"
        assert who["threshold"] <= ok["threshold"]  # the 1:N threshold is stricter
        stranger = door.post(
            "/v1/identify", data={"door": "hall"}, files={"image": image_part(bush[0])}
        ).json()
        assert stranger["decision"] == "deny" and stranger["person"] is None
    with server.client("door") as door:
        unknown_claim = door.post(
            "/v1/verify", data={"person": "Nobody"}, files={"image": image_part(bush[0])}
        )
        wrong_claim = door.post(
            "/v1/verify", data={"person": "Colin Powell"}, files={"image": image_part(bush[0])}
        )
        assert unknown_claim.status_code == wrong_claim.status_code == 200
        brief = {k: v for k, v in unknown_claim.json().items() if k not in ("time", "latency_ms")}
        assert brief == {k: v for k, v in wrong_claim.json().items() if k in brief}
        assert unknown_claim.json()["decision"] == "deny"
        assert unknown_claim.json()["reason"] == "unknown"
        # a door key learns decision and reason only: no distance, threshold or names
        assert all(unknown_claim.json()[k] is None for k in ("distance", "threshold", "person"))
    with server.client("read") as read:
        claims = read.get("/v1/events", params={"door": "main", "decision": "deny"}).json()
        assert {e["claimed"] for e in claims["events"]} >= {"Nobody", "Colin Powell"}
        assert all(e["reason"] == "unknown" for e in claims["events"])
        hall = read.get("/v1/events", params={"door": "hall"}).json()
        assert hall["total"] == 2 and [e["decision"] for e in hall["events"]] == ["deny", "unlock"]
        lab = read.get("/v1/events", params={"door": "lab", "decision": "unlock"}).json()
        assert {e["person"] for e in lab["events"]} == {"Colin Powell", "Serena Williams"}
        assert all(e["mode"] == "verify" and e["frames_used"] == 1 for e in lab["events"])
        page = read.get("/v1/events", params={"limit": 2}).json()
        assert len(page["events"]) == 2 and page["next_offset"] == 2 and page["total"] >= 7
        since = page["events"][0]["time"]
        newest = read.get("/v1/events", params={"since": since}).json()
        assert newest["total"] >= 1
        future = read.get("/v1/events", params={"since": "2999-01-01T00:00:00Z"}).json()
        assert future["total"] == 0 and future["next_offset"] is None
        clamped = read.get("/v1/events", params={"limit": 100_000}).json()
        assert clamped["limit"] == 500  # service.max_page
    with server.client("enroll") as enroll:
        serena_id = next(p["id"] for p in listed if p["name"] == "Serena Williams")
        removed = enroll.delete(f"/v1/people/{serena_id}")
        assert removed.status_code == 200 and removed.json()["removed"]["name"] == "Serena Williams"
        assert enroll.delete(f"/v1/people/{serena_id}").status_code == 404
    with server.client("admin") as door:
        gone = door.post(
            "/v1/identify", data={"door": "hall"}, files={"image": image_part(serena[1])}
        ).json()
        assert gone["person"] is None  # the cached gallery saw the removal
    metrics = httpx.get(server.url + "/metrics").text
    assert 'facegate_decisions_total{decision="unlock",door="hall",mode="identify"}' in metrics
    assert "Colin Powell" not in metrics


def test_concurrent_requests_are_all_answered_correctly(
    server: Server, faces: dict[str, list[Path]]
) -> None:
    with server.client("admin") as admin:
        for name in ("George W Bush", "Colin Powell"):
            if name not in {p["name"] for p in admin.get("/v1/people").json()["people"]}:
                response = admin.post(
                    "/v1/people",
                    data={"name": name, "consent": "test: LFW photo"},
                    files=[("images", image_part(faces[name][0]))],
                )
                assert response.status_code == 201
    probes = [("George W Bush", faces["George W Bush"][i]) for i in (1, 2)]
    probes += [("Colin Powell", faces["Colin Powell"][i]) for i in (1, 3)]

    def identify(item: tuple[str, Path]) -> tuple[str, str | None]:
        name, path = item
        with server.client("admin") as door:
            response = door.post(
                "/v1/identify", data={"door": "busy"}, files={"image": image_part(path)}
            )
        assert response.status_code == 200, response.text
        return name, response.json()["person"]

    with ThreadPoolExecutor(8) as pool:
        answers = list(pool.map(identify, probes * 2))
    assert len(answers) == 8
    assert all(expected == got for expected, got in answers), answers
    with server.client("read") as read:
        assert read.get("/v1/events", params={"door": "busy"}).json()["total"] == 8


@needs_chromium
def test_served_dashboard_with_a_read_key_loads_in_headless_chromium(
    server: Server, tmp_path: Path
) -> None:
    with server.client("read") as client:
        page = client.get("/dashboard")
        drift = client.get("/v1/drift")
    assert page.status_code == 200 and "<svg" in page.text
    assert drift.status_code == 200 and "features" in drift.json()
    shot, console = chromium_load(
        f"{server.url}/dashboard?api_key={server.tokens['read']}", tmp_path
    )
    assert_not_blank(shot)
    assert console == []
