"""`facegate db upgrade` and `facegate db copy`: versioned table sets, a site moved over."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import psycopg
import pytest
from test_events import make_event
from test_gallery import records
from typer.testing import CliRunner

from facegate import pg_db
from facegate.cli import app
from facegate.decide.rules import DoorRules, PersonAccess
from facegate.monitor.crops import open_crop_store
from facegate.settings import PostgresSettings, Settings
from facegate.stores import open_access_store, open_event_log, open_gallery, open_key_store

runner = CliRunner()


def facegate(*args: str) -> tuple[int, str]:
    """Run the facegate command in-process; return its exit code and output."""
    result = runner.invoke(app, list(args))
    return result.exit_code, result.output


def test_copy_moves_a_whole_site_with_ids_and_refuses_a_second_copy(
    tmp_path: Path, postgres
) -> None:
    site = str(tmp_path / "site.db")
    with open_gallery(site, Settings()) as gallery:
        gallery.add_person("Ada", records(3, seed=1), consent="signed")
        gallery.add_person("Bob", records(2, seed=2), consent="verbal")
        gallery.add_person("Ada", records(1, seed=3), consent="again", extend=True)
        gallery.remove_person("Bob")
        gallery.add_person("Cy", records(1, seed=4), consent="x")
        before = {p.name: p for p in gallery.people()}
        vectors = gallery.embeddings("test-model")
    with open_access_store(site, Settings()) as store:
        store.add_door(DoorRules("lab", allow=("staff",)))
        store.set_person_access("Cy", PersonAccess(frozenset({"staff", "night"})))
    with open_event_log(site, Settings()) as log:
        log.append_many([make_event(s, track=s) for s in range(5)])
    with open_crop_store(site) as crops:
        crops.add(3, 1e12, b"\xff\xd8crop of event 3")
    with open_key_store(site, Settings()) as keys:
        kept, token = keys.create("door", ["door"])
        revoked, _ = keys.create("old", ["read"])
        keys.revoke(revoked.id)
    url = postgres.database()
    code, out = facegate("db", "copy", site, url, "--json")
    assert code == 0, out
    assert json.loads(out)["copied"] == {
        "people": 2,
        "enrollments": 3,
        "embeddings": 5,
        "doors": 1,
        "person_access": 1,
        "person_groups": 2,
        "access_events": 5,
        "api_keys": 2,
        "event_crops": 1,
    }
    with open_crop_store(url) as crops:
        assert crops.get(3, 0.0) == b"\xff\xd8crop of event 3" and crops.count() == 1
    with open_access_store(url, Settings()) as store:
        assert [d.allow for d in store.doors()] == [("staff",)]
        assert store.person_access("Cy").groups == {"staff", "night"}
    with open_gallery(url, Settings()) as gallery:
        assert {p.name: p for p in gallery.people()} == before
        moved = gallery.embeddings("test-model")
        assert moved.names == vectors.names and np.array_equal(moved.vectors, vectors.vectors)
        probe = vectors.vectors[0]
        assert gallery.search("test-model", probe, 1)[0].name == "Ada"
        gallery.add_person("Dee", records(1, seed=5), consent="x")  # sequences moved past ids
        assert gallery.get_person("Dee").id > max(p.id for p in before.values())
    with open_event_log(url, Settings()) as log:
        assert [e.track for e in log.query()] == [4, 3, 2, 1, 0]
    with open_key_store(url, Settings()) as store:
        found = store.lookup(token)
        assert found is not None and found.id == kept.id
        listed = store.keys()
        assert [k.revoked_at is not None for k in listed] == [False, True]
    code, out = facegate("db", "copy", site, url)
    assert code == 2 and "not empty" in out
    with open_gallery(url, Settings()) as gallery:
        assert len(gallery.people()) == 3


def test_copy_refuses_bad_targets(tmp_path: Path) -> None:
    code, out = facegate("db", "copy", str(tmp_path / "missing.db"), "postgresql://x@/y?host=/z")
    assert code == 2 and "no SQLite file" in out
    code, out = facegate("db", "copy", str(tmp_path / "a.db"), str(tmp_path / "b.db"))
    assert code == 2 and "postgresql://" in out


def test_upgrade_creates_every_table_set(tmp_path: Path, postgres) -> None:
    url = postgres.database()
    code, out = facegate("db", "upgrade", url, "--json")
    assert code == 0, out
    steps = [json.loads(line) for line in out.splitlines()]
    assert [(s["table_set"], s["before"], s["after"]) for s in steps] == [
        ("gallery", 0, 1),
        ("access", 0, 1),
        ("events", 0, 4),
        ("keys", 0, 2),
        ("crops", 0, 1),
        ("failures", 0, 1),
        ("alarms", 0, 1),
        ("ui_sessions", 0, 1),
    ]
    code, out = facegate("db", "upgrade", url, "--json")
    assert [json.loads(line)["before"] for line in out.splitlines()] == [1, 1, 4, 2, 1, 1, 1, 1]
    code, out = facegate("db", "upgrade", "--db", str(tmp_path / "s.db"), "--json")
    after = [json.loads(line)["after"] for line in out.splitlines()]
    assert code == 0 and after == [1, 1, 3, 2, 1, 1, 1, 1]


def test_a_later_migration_is_applied_only_by_upgrade(postgres) -> None:
    url = postgres.database()
    first = "CREATE TABLE doors (id BIGINT PRIMARY KEY, name TEXT NOT NULL)"
    v1 = pg_db.TableSet("doors", (first,))
    v2 = pg_db.TableSet("doors", (first, "ALTER TABLE doors ADD COLUMN level TEXT"))
    with pg_db.connect(url, PostgresSettings()) as conn:
        pg_db.ensure(conn, v1)
        with pytest.raises(pg_db.SchemaError, match="facegate db upgrade"):
            pg_db.ensure(conn, v2)
        assert pg_db.upgrade(conn, v2) == (1, 2)
        pg_db.ensure(conn, v2)
        conn.execute("INSERT INTO doors VALUES (1, 'front', 'high')")
        with pytest.raises(pg_db.SchemaError, match="newer"):
            pg_db.upgrade(conn, v1)
        broken = pg_db.TableSet("doors", (first, "ALTER TABLE doors ADD COLUMN level TEXT", "BAD"))
        with pytest.raises(psycopg.Error):
            pg_db.upgrade(conn, broken)
        assert pg_db.stored_version(conn, v2) == 2  # the failed step left nothing behind


def test_commands_take_a_postgres_url(postgres) -> None:
    url = postgres.database()
    with open_gallery(url, Settings()) as gallery:
        gallery.add_person("Ada", records(2), consent="signed")
    code, out = facegate("people", "list", "--db", url, "--json")
    assert code == 0 and json.loads(out)["name"] == "Ada"
    code, out = facegate("keys", "create", "--name", "kiosk", "--scope", "door", "--db", url)
    assert code == 0, out
    with open_key_store(url, Settings()) as store:
        assert store.lookup(out.strip().splitlines()[-1]) is not None
    code, out = facegate("alarms", "check", "--db", url)
    assert code == 0, out  # the alarm state lives on PostgreSQL too
    code, out = facegate("people", "list", "--db", "postgresql://x@/y?host=/nonexistent")
    assert code == 2 and "cannot open gallery" in out
