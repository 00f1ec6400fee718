"""The admin web UI in a real headless chromium (Debian's), against a real `facegate serve`."""

from __future__ import annotations

import os
import re
import sqlite3
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from conftest import lfw_image
from service_server import TEST_CONFIG, Server, running_server

playwright_api = pytest.importorskip("playwright.sync_api", reason="needs playwright (dev extra)")

CHROMIUM = Path("/usr/bin/chromium")
SHOTS = os.environ.get("FACEGATE_UI_SCREENSHOTS")  # a folder: save each page's screenshot
UI_CONFIG = (
    TEST_CONFIG
    + """
[ui]
poll_seconds = 0.5

[alarms]
max = { unknown_rate = 0.2 }
min = { faces_per_hour = 1000 }
per_door = false
"""
)
PAGES = ["/ui/", "/ui/people", "/ui/doors", "/ui/events", "/ui/keys", "/ui/alarms"]
WAIT_MS = 20_000


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory, lfw: Path) -> Iterator[Server]:
    """Return a running service for this module's tests."""
    with running_server(tmp_path_factory.mktemp("ui"), UI_CONFIG) as running:
        yield running


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    """Return headless chromium (Debian's), with a fake webcam, for the module."""
    if not CHROMIUM.exists():
        pytest.skip(f"no chromium at {CHROMIUM} (apt-get install chromium)")
    with playwright_api.sync_playwright() as driver:
        launched = driver.chromium.launch(
            executable_path=str(CHROMIUM),
            headless=True,
            args=[
                "--no-sandbox",
                "--use-fake-device-for-media-stream",
                "--use-fake-ui-for-media-stream",
            ],
        )
        yield launched
        launched.close()


class Visit:
    """A fresh browser context on the server: its page and every request the page made."""

    def __init__(self, browser: object, server: Server, viewport: dict[str, int]) -> None:
        self.server = server
        self.context = browser.new_context(base_url=server.url, viewport=viewport)  # type: ignore[attr-defined]
        self.requests: list[str] = []
        self.context.on("request", lambda request: self.requests.append(request.url))
        self.page = self.context.new_page()
        self.page.set_default_timeout(WAIT_MS)

    def login(self, scope: str) -> None:
        """Log in with the server's key of this scope."""
        self.page.goto("/ui/login")
        self.page.fill("input[name=key]", self.server.tokens[scope])
        self.page.click("button[type=submit]")
        self.page.wait_for_url(re.compile(r"/ui/$"))

    def csrf(self) -> str:
        """Return the CSRF token of the page shown now."""
        return self.page.locator("input[name=csrf]").first.get_attribute("value") or ""

    def wait_until(self, script: str) -> None:
        """Wait until a JavaScript expression is true (evaluated by the driver, not eval: CSP)."""
        deadline = time.monotonic() + WAIT_MS / 1000
        while not self.page.evaluate(script):
            assert time.monotonic() < deadline, f"timed out waiting for {script}"
            self.page.wait_for_timeout(100)

    def shoot(self, name: str) -> None:
        """Save a screenshot of the page when FACEGATE_UI_SCREENSHOTS names a folder."""
        if SHOTS:
            self.page.screenshot(path=str(Path(SHOTS) / f"{name}.png"))


@pytest.fixture
def visit(browser: object, server: Server) -> Iterator[Visit]:
    """Return a fresh desktop-size browser context (1280x800) on the server."""
    opened = Visit(browser, server, {"width": 1280, "height": 800})
    yield opened
    opened.context.close()


def _session_cookie(visit: Visit) -> dict:
    """Return the browser's session cookie."""
    return next(c for c in visit.context.cookies() if c["name"] == "fg_session")


def test_login_and_logout(visit: Visit) -> None:
    visit.page.goto("/ui/people")
    assert visit.page.url.endswith("/ui/login")  # no session: sent to the login page
    visit.shoot("login")
    visit.login("admin")
    cookie = _session_cookie(visit)
    assert cookie["httpOnly"] and cookie["sameSite"] == "Strict" and cookie["path"] == "/ui"
    assert 0 < cookie["expires"] - time.time() <= 8 * 3600 + 5  # ui.session_seconds
    token = cookie["value"]
    visit.page.click("header button[type=submit]")  # log out
    visit.page.wait_for_url(re.compile(r"/ui/login$"))
    visit.page.goto("/ui/people")
    assert visit.page.url.endswith("/ui/login")
    replayed = httpx.get(visit.server.url + "/ui/people", cookies={"fg_session": token})
    assert replayed.status_code == 303 and replayed.headers["location"] == "/ui/login"


def test_bad_logins_look_alike(visit: Visit) -> None:
    answers = []
    for key in ("fg_not-a-key", visit.server.tokens["door"], visit.server.tokens["enroll"]):
        visit.page.goto("/ui/login")
        visit.page.fill("input[name=key]", key)
        visit.page.click("button[type=submit]")
        answers.append(visit.page.locator(".error").inner_text())
    assert len(set(answers)) == 1 and "not accepted" in answers[0]
    assert not [c for c in visit.context.cookies() if c["name"] == "fg_session"]


def test_enroll_by_photo_upload(visit: Visit, server: Server) -> None:
    visit.login("admin")
    visit.page.goto("/ui/people")
    form = visit.page.locator("#enroll")
    form.locator("input[name=name]").fill("Colin Powell")
    form.locator("textarea[name=consent]").fill("signed form 2026-12-01, front desk")
    form.locator("input[name=groups]").fill("staff, lab")
    form.locator("input[name=valid_until]").fill("2030-12-31")
    form.locator("input[name=images]").set_input_files(
        [str(lfw_image("Colin_Powell", 1)), str(lfw_image("Colin_Powell", 2))]
    )
    form.locator("button[type=submit]").click()
    visit.page.wait_for_url(re.compile(r"/ui/people/\d+\?done=enrolled$"))
    facts = visit.page.locator(".facts").inner_text()
    assert "2 (face vectors only" in facts and "signed form 2026-12-01" in facts
    assert "lab, staff" in facts and "2030-12-31" in facts
    visit.shoot("person")
    listed = server.client("read").get("/v1/people").json()["people"]
    assert [(p["name"], p["embeddings"]) for p in listed] == [("Colin Powell", 2)]


def test_bad_photo_says_why_and_keeps_the_form(visit: Visit, tmp_path: Path) -> None:
    visit.login("admin")
    visit.page.goto("/ui/people")
    junk = tmp_path / "notes.jpg"
    junk.write_bytes(b"this is not a picture")
    form = visit.page.locator("#enroll")
    form.locator("input[name=name]").fill("Nobody Real")
    form.locator("textarea[name=consent]").fill("consent kept")
    form.locator("input[name=images]").set_input_files(str(junk))
    form.locator("button[type=submit]").click()
    visit.page.wait_for_load_state()
    assert "notes.jpg" in visit.page.locator(".error").inner_text()
    form = visit.page.locator("#enroll")  # the typed values survive the failure
    assert form.locator("input[name=name]").input_value() == "Nobody Real"
    assert form.locator("textarea[name=consent]").input_value() == "consent kept"
    names = [p["name"] for p in visit.server.client("read").get("/v1/people").json()["people"]]
    assert "Nobody Real" not in names


def test_many_faces_huge_photos_and_big_uploads_say_why(visit: Visit, tmp_path: Path) -> None:
    from PIL import Image

    pair = [Image.open(lfw_image(n, 1)) for n in ("Colin_Powell", "Serena_Williams")]
    two = Image.new("RGB", (500, 250))
    two.paste(pair[0], (0, 0))
    two.paste(pair[1], (250, 0))
    two.save(tmp_path / "two.jpg", quality=90)
    Image.new("RGB", (1600, 1600), (90, 120, 150)).save(tmp_path / "wide.png")  # 2.6 MP
    (tmp_path / "big.jpg").write_bytes(b"\xff" * 400_000)  # over the 300,000-byte body limit
    visit.login("admin")
    expected = {
        "two.jpg": "2 faces found",
        "wide.png": "pixels",
        "big.jpg": "the service accepts at most 292 KB per upload",
    }
    for name, message in expected.items():
        visit.page.goto("/ui/people")
        form = visit.page.locator("#enroll")
        form.locator("input[name=name]").fill(f"Bad {name}")
        form.locator("textarea[name=consent]").fill("consent")
        form.locator("input[name=images]").set_input_files(str(tmp_path / name))
        form.locator("button[type=submit]").click()
        visit.page.wait_for_load_state()
        assert message in visit.page.locator(".error").first.inner_text(), name
        assert form.locator("input[name=name]").input_value() == f"Bad {name}"
    names = [p["name"] for p in visit.server.client("read").get("/v1/people").json()["people"]]
    assert not [n for n in names if n.startswith("Bad ")]


def test_consent_is_required_server_side(visit: Visit) -> None:
    visit.login("admin")
    visit.page.goto("/ui/people")
    form = visit.page.locator("#enroll")
    form.locator("textarea[name=consent]").evaluate("e => e.removeAttribute('required')")
    form.locator("input[name=name]").fill("No Consent")
    form.locator("input[name=images]").set_input_files(str(lfw_image("Serena_Williams", 1)))
    form.locator("button[type=submit]").click()
    visit.page.wait_for_load_state()
    assert "consent note is required" in visit.page.locator(".error").inner_text()


def test_webcam_frame_is_posted_as_jpeg(visit: Visit) -> None:
    visit.login("admin")
    visit.page.goto("/ui/people")
    form = visit.page.locator("#enroll")
    form.locator("input[name=name]").fill("Webcam Person")
    form.locator("textarea[name=consent]").fill("asked at the desk")
    form.locator(".webcam-start").click()
    form.locator(".webcam-take").wait_for(state="visible")
    visit.wait_until("document.querySelector('.webcam-video').videoWidth > 0")
    form.locator(".webcam-take").click()
    visit.wait_until("document.getElementById('photos').files.length === 1")
    form.locator("button[type=submit]").click()
    visit.page.wait_for_load_state()
    # chromium's fake camera shows a test pattern: the JPEG arrived, was decoded, had no face
    assert "no face" in visit.page.locator(".error").inner_text().lower()


def test_door_creation_shows_operating_point(visit: Visit) -> None:
    visit.login("admin")
    visit.page.goto("/ui/doors")
    form = visit.page.locator("#new-door")
    form.locator("input[name=name]").fill("lab")
    form.locator("input[name=allow]").fill("lab")
    form.locator("select[name=level]").select_option("high")
    form.locator("textarea[name=schedule]").fill("lab=Mon-Sun 00:00-23:59")
    form.locator("button[type=submit]").click()
    visit.page.wait_for_url(re.compile(r"/ui/doors/lab$"))
    facts = visit.page.locator(".facts").inner_text()
    assert "high (target false-accept rate 0.0001)" in facts
    assert re.search(r"Threshold\s+0\.\d{4} at \d+ face vectors", facts)
    assert "Expected false rejects" in facts
    visit.shoot("door")
    rules = visit.server.client("admin").get("/v1/doors/lab").json()
    assert rules["allow"] == ["lab"] and rules["level"] == "high" and rules["threshold"] > 0


def test_events_page_shows_an_api_decision_without_reload(visit: Visit, server: Server) -> None:
    with lfw_image("Serena_Williams", 1).open("rb") as photo:
        enrolled = server.client("enroll").post(
            "/v1/people",
            data={"name": "Serena Williams", "consent": "test"},
            files={"images": photo},
        )
    assert enrolled.status_code in (201, 409)
    opened = server.client("admin").put("/v1/doors/hall", json={"liveness": "off"})
    assert opened.status_code == 200  # a door admitting everyone enrolled
    visit.login("read")
    visit.page.goto("/ui/events?door=hall")
    visit.page.evaluate("window.notReloaded = true")
    with lfw_image("Serena_Williams", 2).open("rb") as photo:
        answer = server.client("door").post(
            "/v1/identify", data={"door": "hall"}, files={"image": photo}
        )
    assert answer.status_code == 200, answer.text
    row = visit.page.locator("#events tbody tr", has_text="Serena Williams")
    row.wait_for()
    assert answer.json()["decision"] in row.inner_text()
    assert visit.page.evaluate("window.notReloaded") is True
    visit.shoot("events")


def test_groups_photos_and_removal_from_the_person_page(visit: Visit, server: Server) -> None:
    with lfw_image("George_W_Bush", 1).open("rb") as photo:
        made = server.client("enroll").post(
            "/v1/people", data={"name": "George W Bush", "consent": "api"}, files={"images": photo}
        )
    person_id = made.json()["person"]["id"]
    assert server.client("admin").put("/v1/doors/gate", json={"liveness": "off"}).status_code == 200
    with lfw_image("George_W_Bush", 2).open("rb") as photo:
        server.client("door").post("/v1/identify", data={"door": "gate"}, files={"image": photo})
    visit.login("admin")
    visit.page.goto(f"/ui/people/{person_id}")
    access = visit.page.locator("form[action$='/access']")
    access.locator("input[name=groups]").fill("visitors")
    access.locator("input[name=valid_from]").fill("2026-01-01")
    access.locator("button[type=submit]").click()
    visit.page.wait_for_url(re.compile(r"done=access$"))
    assert "visitors" in visit.page.locator(".facts").inner_text()
    more = visit.page.locator("#add-photos")
    more.locator("input[name=images]").set_input_files(str(lfw_image("George_W_Bush", 3)))
    more.locator("button[type=submit]").click()
    visit.page.wait_for_url(re.compile(r"done=photos$"))
    assert "2 (face vectors only" in visit.page.locator(".facts").inner_text()
    visit.page.locator("#remove button").click()
    visit.page.wait_for_load_state()
    assert "removed with every photo vector" in visit.page.locator(".message").inner_text()
    names = [p["name"] for p in server.client("read").get("/v1/people").json()["people"]]
    assert "George W Bush" not in names
    logged = server.client("read").get("/v1/events", params={"door": "gate"}).json()["events"]
    assert [e["person"] for e in logged] == [f"removed-person-{person_id}"]  # as the CLI does


def test_door_rules_change_and_removal(visit: Visit, server: Server) -> None:
    admin = server.client("admin")
    assert admin.put("/v1/doors/annex", json={"allow": ["staff"]}).status_code == 200
    visit.login("admin")
    visit.page.goto("/ui/doors/annex")
    form = visit.page.locator("#edit-door")
    form.locator("select[name=level]").select_option("custom")
    form.locator("input[name=fpir]").fill("0.0005")
    form.locator("select[name=mode]").select_option("verify")
    form.locator("button[type=submit]").click()
    visit.page.wait_for_load_state()
    rules = admin.get("/v1/doors/annex").json()
    assert (rules["level"], rules["far"], rules["mode"], rules["version"]) == (
        "custom",
        0.0005,
        "verify",
        2,
    )
    form = visit.page.locator("#edit-door")
    form.locator("textarea[name=schedule]").fill("cleaners=Mon 06:00-07:00")
    form.locator("button[type=submit]").click()
    visit.page.wait_for_load_state()
    assert "cleaners" in visit.page.locator(".error").inner_text()  # not an allowed group
    visit.page.locator("#remove-door button").click()
    visit.page.wait_for_load_state()
    assert admin.get("/v1/doors/annex").status_code == 404


def test_read_key_sees_no_write_forms_and_cannot_post(visit: Visit, server: Server) -> None:
    visit.login("read")
    for path in ("/ui/people", "/ui/doors"):
        visit.page.goto(path)
        assert visit.page.locator("main form[method=post]").count() == 0, path
    visit.page.goto("/ui/keys")
    assert "needs an admin key" in visit.page.locator(".error").inner_text()
    visit.page.goto("/ui/people")
    csrf = visit.csrf()  # the logout form's token: a read session has one too
    forged = visit.context.request.post(
        "/ui/doors", form={"csrf": csrf, "name": "forged", "allow": ""}, max_redirects=0
    )
    assert forged.status == 403
    assert server.client("admin").get("/v1/doors/forged").status_code == 404


def test_posts_without_the_csrf_token_are_refused(visit: Visit, server: Server) -> None:
    visit.login("admin")
    for form in ({"name": "nocsrf"}, {"name": "nocsrf", "csrf": "wrong-token"}):
        answer = visit.context.request.post("/ui/doors", form=form, max_redirects=0)
        assert answer.status == 403
        assert "security token" in answer.text()
    assert server.client("admin").get("/v1/doors/nocsrf").status_code == 404
    login = httpx.post(server.url + "/ui/login", data={"key": server.tokens["admin"]})
    assert login.status_code == 403  # the login form has its own token too


def test_expired_and_revoked_sessions_end(visit: Visit, browser: object, server: Server) -> None:
    visit.login("admin")
    token = _session_cookie(visit)["value"]
    import hashlib

    digest = hashlib.sha256(token.encode()).hexdigest()
    with sqlite3.connect(server.db) as conn:
        conn.execute("UPDATE ui_sessions SET expires = 0 WHERE hash = ?", (digest,))
    visit.page.goto("/ui/doors")
    assert visit.page.url.endswith("/ui/login")

    visit.login("admin")
    visit.page.goto("/ui/keys")
    form = visit.page.locator("#new-key")
    form.locator("input[name=name]").fill("temp-admin")
    form.locator("input[value=admin]").check()
    form.locator("button[type=submit]").click()
    new_token = visit.page.locator("#new-token").inner_text()
    other = Visit(browser, server, {"width": 1280, "height": 800})
    try:
        other.server = Server(server.url, server.db, {**server.tokens, "temp": new_token})
        other.login("temp")
        visit.page.goto("/ui/keys")
        visit.page.locator("#keys tr", has_text="temp-admin").locator("button").click()
        visit.page.wait_for_load_state()
        other.page.goto("/ui/people")
        assert other.page.url.endswith("/ui/login")
    finally:
        other.context.close()


def test_alarms_page_shows_each_bound_now(visit: Visit) -> None:
    visit.login("read")
    visit.page.goto("/ui/alarms")
    rows = visit.page.locator("#alarm-checks tbody tr").all_inner_texts()
    assert len(rows) == 2
    unknown = next(r for r in rows if r.startswith("unknown_rate"))
    assert "max 0.2" in unknown and "not enough data" in unknown  # fewer than min_events
    faces = next(r for r in rows if r.startswith("faces_per_hour"))
    assert "min 1000" in faces and "BREACHED" in faces
    assert "rate_limited" in visit.page.locator("main").inner_text()


def test_no_request_leaves_localhost(visit: Visit, server: Server) -> None:
    visit.login("admin")
    for path in [*PAGES, "/ui/people/1", "/ui/doors/lab", "/ui/dashboard"]:
        response = visit.page.goto(path)
        assert response is not None and response.status == 200, path
        assert "default-src 'none'" in response.headers["content-security-policy"], path
        visit.page.wait_for_load_state("load")
        visit.page.wait_for_timeout(700)  # the events page's poll runs every 0.5 s
    for shot, path in [
        ("overview", "/ui/"),
        ("people", "/ui/people"),
        ("doors", "/ui/doors"),
        ("keys", "/ui/keys"),
        ("alarms", "/ui/alarms"),
    ]:
        visit.page.goto(path)
        visit.shoot(shot)
    outside = [u for u in visit.requests if not u.startswith((server.url + "/", "data:"))]
    assert visit.requests and not outside


def test_phone_size_page(browser: object, server: Server) -> None:
    phone = Visit(browser, server, {"width": 390, "height": 844})
    try:
        phone.login("admin")
        phone.page.goto("/ui/people")
        width = phone.page.evaluate("document.documentElement.scrollWidth")
        assert width <= 390  # nothing forces sideways scrolling; wide tables scroll in place
        phone.shoot("people-phone")
    finally:
        phone.context.close()
