"""UI login sessions on both backends: hashed tokens, expiry, logout, ending a key's sessions."""

from __future__ import annotations

import re
import sqlite3
from pathlib import Path

import httpx
import pytest
from service_server import TEST_CONFIG, running_server

from facegate.service.keys import hash_token
from facegate.service.ui.forms import day, moment, number, paged, words
from facegate.service.ui.sessions import open_session_store
from facegate.settings import Settings


@pytest.fixture(params=["sqlite", "postgres"])
def target(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """Return where an empty session store goes: a SQLite file, or a fresh PostgreSQL database."""
    if request.param == "sqlite":
        return str(tmp_path / "k.db")
    return request.getfixturevalue("postgres").database()


def _stored(target: str) -> list[tuple]:
    """Return every stored (hash, csrf) row, read with the backend's own driver."""
    sql = "SELECT hash, csrf FROM ui_sessions"
    if target.startswith("postgresql://"):
        import psycopg

        with psycopg.connect(target) as conn:
            return conn.execute(sql).fetchall()
    return sqlite3.connect(target).execute(sql).fetchall()


def test_sessions_expire_end_and_store_only_hashes(target: str) -> None:
    now = [1000.0]
    with open_session_store(target, Settings()) as store:
        store.clock = lambda: now[0]
        token, session = store.create(7, 60.0)
        other, _ = store.create(7, 600.0)
        third, _ = store.create(8, 600.0)
        assert session.expires == 1060.0 and len(token) > 40 and session.csrf != token
        assert store.lookup(token) == session
        assert store.lookup(token + "x") is None
        assert (hash_token(token), session.csrf) in _stored(target)
        assert all(token not in row for row in _stored(target))
        now[0] = 1060.0
        assert store.lookup(token) is None  # expired
        assert store.lookup(other) is not None
        store.end_for_key(7)  # the key was revoked
        assert store.lookup(other) is None and store.lookup(third) is not None
        store.end(third)  # logout
        assert store.lookup(third) is None
        store.create(9, 1.0)  # creating purges expired rows
        assert len(_stored(target)) == 1


def test_form_fields_give_clear_errors() -> None:
    assert words("staff, lab  visitors") == ["staff", "lab", "visitors"]
    assert day("", "valid from") is None and str(day("2030-01-02", "x")) == "2030-01-02"
    with pytest.raises(ValueError, match="valid until 'soon'"):
        day("soon", "valid until")
    assert moment("2026-12-01T10:00", "since").isoformat() == "2026-12-01T10:00:00+00:00"
    with pytest.raises(ValueError, match="since"):
        moment("yesterday", "since")
    with pytest.raises(ValueError, match="finite"):
        number("nan", "rate")
    page = paged(list(range(105)), 99, 50)
    assert (page.page, page.pages, page.rows) == (3, 3, list(range(100, 105)))


def _login_form(client: httpx.Client) -> str:
    """Return the login form's double-submit token (its cookie is now in the client)."""
    found = re.search(r'name="login_csrf" value="([^"]+)"', client.get("/ui/login").text)
    assert found is not None
    return found[1]


def test_failed_logins_are_limited_per_address(tmp_path: Path) -> None:
    config = TEST_CONFIG + "\n[ui]\nlogin_failures = 3\nlogin_window_seconds = 600\n"
    with running_server(tmp_path, config) as server, httpx.Client(base_url=server.url) as client:
        for key in ("fg_guess-1", server.tokens["door"], "fg_guess-3"):
            answer = client.post("/ui/login", data={"key": key, "login_csrf": _login_form(client)})
            assert answer.status_code == 401 and "not accepted" in answer.text
        right = {"key": server.tokens["admin"], "login_csrf": _login_form(client)}
        refused = client.post("/ui/login", data=right)
        assert refused.status_code == 429 and "too many failed logins" in refused.text
        assert "fg_session" not in refused.cookies


def test_an_oversized_form_field_gets_a_page_not_json(tmp_path: Path) -> None:
    """A UI form past a field's limit gets a 422 page naming the field; the API's stay JSON."""
    with running_server(tmp_path, TEST_CONFIG) as server:
        with server.client() as client:
            huge = {"key": "k" * 5000, "login_csrf": _login_form(client)}
            answer = client.post("/ui/login", data=huge)
        with server.client("admin") as admin:
            api = admin.get("/v1/events", params={"limit": "many"})
    assert answer.status_code == 422
    assert answer.headers["content-type"].startswith("text/html")
    assert "Not accepted: key" in answer.text and "Nothing was changed" in answer.text
    assert api.status_code == 422 and api.json()["error"] == "invalid_request"
