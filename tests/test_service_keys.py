"""API keys: only hashes stored, scopes checked, revocation; the `facegate keys` commands."""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from facegate.service.keys import hash_token
from facegate.settings import Settings
from facegate.stores import open_key_store


@pytest.fixture(params=["sqlite", "postgres"])
def target(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """Return where an empty key store goes: a SQLite file, or a fresh PostgreSQL database."""
    if request.param == "sqlite":
        return str(tmp_path / "k.db")
    return request.getfixturevalue("postgres").database()


def stored_hashes(target: str) -> list[tuple[str]]:
    """Return the hash column of every stored key, read with the backend's own driver."""
    if target.startswith("postgresql://"):
        import psycopg

        with psycopg.connect(target) as conn:
            return conn.execute("SELECT hash FROM api_keys").fetchall()
    return sqlite3.connect(target).execute("SELECT hash FROM api_keys").fetchall()


def test_only_the_hash_is_stored_and_lookup_honours_revocation(target: str) -> None:
    with open_key_store(target, Settings()) as store:
        key, token = store.create("front door", ["door", "read", "door"])
        assert key.scopes == ("door", "read") and token.startswith("fg_") and len(token) > 40
        found = store.lookup(token)
        assert found is not None and found.grants("door") and not found.grants("enroll")
        assert store.lookup(token + "x") is None
        store.revoke(key.id)
        assert store.lookup(token) is None
        assert store.keys()[0].revoked_at is not None
    assert stored_hashes(target) == [(hash_token(token),)]


def test_admin_holds_every_scope_and_bad_scopes_are_refused(target: str) -> None:
    with open_key_store(target, Settings()) as store:
        admin, _ = store.create("ops", ["admin"])
        assert all(admin.grants(s) for s in ("enroll", "door", "read"))
        with pytest.raises(ValueError, match="scopes"):
            store.create("x", ["root"])
        with pytest.raises(ValueError, match="scopes"):
            store.create("x", [])
        with pytest.raises(ValueError, match="id 42"):
            store.revoke(42)


def facegate(*args: str) -> subprocess.CompletedProcess[str]:
    """Run the facegate command."""
    return subprocess.run(
        [sys.executable, "-m", "facegate", *args], capture_output=True, text=True, timeout=120
    )


def test_keys_commands_create_list_and_revoke(tmp_path: Path) -> None:
    db = str(tmp_path / "g.db")
    created = facegate("keys", "create", "--name", "kiosk", "--scope", "enroll", "--db", db)
    assert created.returncode == 0, created.stderr
    token = created.stdout.strip().splitlines()[-1]
    assert token.startswith("fg_")
    listed = facegate("keys", "list", "--json", "--db", db)
    assert [json.loads(line)["name"] for line in listed.stdout.splitlines()] == ["kiosk"]
    assert token not in listed.stdout
    revoked = facegate("keys", "revoke", "1", "--json", "--db", db)
    assert json.loads(revoked.stdout)["revoked"]["revoked_at"]
    bad = facegate("keys", "create", "--name", "x", "--scope", "root", "--db", db)
    assert bad.returncode == 2 and "scopes must be" in bad.stderr
