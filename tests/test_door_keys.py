"""Door-bound keys: stored on both backends, migrated from v1, refused at other doors (403)."""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from edge_centre import Centre

from facegate.edge.ruler import template_body
from facegate.service.keys import KeyStore
from facegate.settings import Settings
from facegate.stores import open_key_store
from facegate.stream.ruling import TrackEvidence


@pytest.fixture(params=["sqlite", "postgres"])
def target(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """Return where an empty key store goes: a SQLite file, or a fresh PostgreSQL database."""
    if request.param == "sqlite":
        return str(tmp_path / "k.db")
    return request.getfixturevalue("postgres").database()


def test_bound_keys_are_stored_and_checked_on_both_backends(target: str) -> None:
    with open_key_store(target, Settings()) as store:
        bound, token = store.create("front door", ["door"], ["front", "side", "front"])
        anywhere, _ = store.create("old door", ["door"])
        assert bound.doors == ("front", "side")
        found = store.lookup(token)
        assert found is not None and found.doors == ("front", "side")
        assert found.serves("front") and not found.serves("vault")
        assert anywhere.doors == () and anywhere.serves("vault")
        listed = store.keys()
        assert [k.as_dict()["doors"] for k in listed] == [["front", "side"], []]
        with pytest.raises(ValueError, match="door scope"):
            store.create("reader", ["read"], ["front"])
        with pytest.raises(ValueError, match="door names"):
            store.create("bad", ["door"], ["front/../x"])


def test_a_version_1_key_store_is_migrated_and_its_keys_stay_unbound(tmp_path: Path) -> None:
    db = tmp_path / "old.db"
    conn = sqlite3.connect(db)
    conn.executescript(
        """
        CREATE TABLE key_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
        INSERT INTO key_meta VALUES ('schema_version', '1');
        CREATE TABLE api_keys (id INTEGER PRIMARY KEY, name TEXT NOT NULL,
            hash TEXT NOT NULL UNIQUE, scopes TEXT NOT NULL, created_at TEXT NOT NULL,
            revoked_at TEXT);
        INSERT INTO api_keys VALUES (1, 'legacy', 'abc', 'door', '2026-01-01T00:00:00', NULL);
        """
    )
    conn.commit()
    conn.close()
    with KeyStore(db) as store:
        (legacy,) = store.keys()
        assert legacy.doors == () and legacy.serves("anything")
        store.create("new", ["door"], ["front"])
    version = sqlite3.connect(db).execute("SELECT value FROM key_meta").fetchone()[0]
    assert version == "2"


def test_keys_create_binds_doors_and_refuses_bad_bindings(tmp_path: Path) -> None:
    db = str(tmp_path / "k.db")

    def keys(*args: str) -> subprocess.CompletedProcess[str]:
        command = [sys.executable, "-m", "facegate", "keys", *args, "--db", db]
        return subprocess.run(command, capture_output=True, text=True)

    made = keys("create", "--name", "front", "--scope", "door", "--door", "front", "--json")
    assert made.returncode == 0, made.stderr
    assert json.loads(made.stdout)["key"]["doors"] == ["front"]
    assert keys("create", "--name", "r", "--scope", "read", "--door", "front").returncode == 2
    assert keys("create", "--name", "x", "--scope", "door", "--door", "a b").returncode == 2
    listed = keys("list")
    assert "front" in listed.stdout and "any" not in listed.stdout


@pytest.fixture(scope="module")
def centre(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Centre, dict[str, str]]]:
    """Return a running centre (empty gallery) with a bound and an unbound door key."""
    root = tmp_path_factory.mktemp("bound")
    with KeyStore(root / "gallery.db") as store:
        tokens = {
            "front": store.create("front", ["door"], ["front"])[1],
            "any": store.create("any", ["door"])[1],
        }
    server = Centre(root, root / "gallery.db")
    server.start()
    yield server, tokens
    server.stop()


def _template(door: str) -> dict:
    """Return a template body of a unit vector for this door."""
    evidence = TrackEvidence(door, 1, True, False, {}, {}, 5, 100.0)
    return template_body([1.0] + [0.0] * 127, "dlib-resnet-v1", evidence)  # type: ignore[arg-type]


def test_a_bound_key_is_refused_at_another_door_over_http(centre: tuple[Centre, dict]) -> None:
    server, tokens = centre

    def post(token: str, door: str) -> httpx.Response:
        headers = {"Authorization": f"Bearer {token}"}
        return httpx.post(
            server.url + "/v1/templates/decide", json=_template(door), headers=headers
        )

    def identify(token: str, door: str) -> httpx.Response:
        headers = {"Authorization": f"Bearer {token}"}
        files = {"image": ("x.jpg", b"not an image", "image/jpeg")}
        return httpx.post(
            server.url + "/v1/identify", data={"door": door}, files=files, headers=headers
        )

    assert post(tokens["front"], "front").status_code == 200
    refused = post(tokens["front"], "vault")
    assert refused.status_code == 403 and refused.json()["error"] == "wrong_door"
    assert identify(tokens["front"], "vault").json()["error"] == "wrong_door"
    assert identify(tokens["front"], "front").status_code not in (401, 403)  # bad image, 4xx
    assert post(tokens["any"], "vault").status_code == 200  # unbound keys work as before
    log = (server.root / "centre.log").read_text()
    assert "ALARM wrong_door at door vault: key 'front'" in log
