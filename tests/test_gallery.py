"""The gallery on SQLite and on PostgreSQL + pgvector: one suite, real databases for both.

Atomic enrollment, removal without trace, read-only stores, concurrency, and nearest-neighbour
search checked against the numpy exact reference.
"""

from __future__ import annotations

import multiprocessing
import os
import signal
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import pytest

from facegate.errors import GalleryUnavailableError, PersonExistsError, UnknownPersonError
from facegate.gallery import EmbeddingRecord, SQLiteGallery
from facegate.gallery.exact import exact_search
from facegate.settings import Settings
from facegate.stores import open_gallery


def records(count: int, seed: int = 0, model: str = "test-model") -> list[EmbeddingRecord]:
    rng = np.random.default_rng(seed)
    vectors = rng.normal(size=(count, 128)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    return [
        EmbeddingRecord(v, model, f"img{i}.jpg", 100, 50.0, 120.0) for i, v in enumerate(vectors)
    ]


def count_rows(gallery: object, table: str) -> int:
    """Return the rows in one gallery table (both backends' connections run plain SQL)."""
    return int(gallery._conn.execute(f"SELECT COUNT(*) FROM {table}").fetchone()[0])  # type: ignore[attr-defined]


@dataclass
class Backend:
    """One gallery backend under test: where it is and how to make it read-only."""

    name: str
    target: str
    read_only: Callable[[], str]

    def open(self, target: str | None = None):
        """Return an open gallery at the target (default: this backend's)."""
        return open_gallery(target or self.target, Settings())


def _pg_reader(postgres, url: str) -> str:
    """Create a login role that may only read the gallery; return its URL."""
    import psycopg

    database = url.split("/")[3].split("?")[0]
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("DROP ROLE IF EXISTS reader")
        conn.execute("CREATE ROLE reader LOGIN")
        conn.execute("GRANT SELECT ON ALL TABLES IN SCHEMA public TO reader")
    return postgres.url(database, user="reader")


@pytest.fixture(params=["sqlite", "postgres"])
def backend(request: pytest.FixtureRequest, tmp_path: Path) -> Backend:
    if request.param == "sqlite":
        path = tmp_path / "gallery.db"

        def chmod() -> str:
            path.chmod(0o444)
            request.addfinalizer(lambda: path.chmod(0o644))
            return str(path)

        return Backend("sqlite", str(path), chmod)
    postgres = request.getfixturevalue("postgres")
    url = postgres.database()
    return Backend("postgres", url, lambda: _pg_reader(postgres, url))


def test_add_list_and_fetch_embeddings(backend: Backend) -> None:
    with backend.open() as gallery:
        stored = records(3)
        person = gallery.add_person("Ada", stored, consent="signed")
        gallery.add_person("Bob", records(2, seed=1), consent="verbal")
        assert (person.name, person.embeddings, person.consent) == ("Ada", 3, "signed")
        assert [p.name for p in gallery.people()] == ["Ada", "Bob"]
        ada = gallery.embeddings("test-model", "Ada")
        assert ada.names == ["Ada"] * 3
        assert np.array_equal(ada.vectors, np.stack([r.vector for r in stored]))
        assert len(gallery.embeddings("test-model")) == 5
        assert len(gallery.embeddings("other-model")) == 0


def test_sqlite_runs_in_wal_mode(tmp_path: Path) -> None:
    with SQLiteGallery(tmp_path / "g.db") as gallery:
        assert gallery._conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_enrolling_a_name_twice_is_refused_unless_adding(backend: Backend) -> None:
    with backend.open() as gallery:
        gallery.add_person("Ada", records(2), consent="signed")
        with pytest.raises(PersonExistsError, match="already enrolled"):
            gallery.add_person("Ada", records(1, seed=3), consent="again")
        assert gallery.get_person("Ada").embeddings == 2
        assert (
            gallery.add_person("Ada", records(1, seed=3), consent="more", extend=True).embeddings
            == 3
        )


def test_removing_unknown_person_is_refused(backend: Backend) -> None:
    with backend.open() as gallery:
        gallery.add_person("Ada", records(1), consent="x")
        with pytest.raises(UnknownPersonError, match="not enrolled"):
            gallery.remove_person("Nobody")
        assert [p.name for p in gallery.people()] == ["Ada"]


def test_failed_enrollment_stores_nothing(backend: Backend) -> None:
    with backend.open() as gallery:
        good = records(2)
        bad = EmbeddingRecord(good[0].vector, "test-model", "x.jpg", "not-a-number", 1.0, 1.0)  # type: ignore[arg-type]
        with pytest.raises(ValueError):
            gallery.add_person("Ada", [*good, bad], consent="x")
        assert gallery.people() == []
        assert count_rows(gallery, "embeddings") == 0


def test_vectors_of_another_length_are_refused_and_nothing_is_stored(backend: Backend) -> None:
    with backend.open() as gallery:
        gallery.add_person("Ada", records(1), consent="x")
        short = EmbeddingRecord(np.ones(64, dtype=np.float32) / 8, "test-model", "s", 90, 1.0, 1.0)
        with pytest.raises(ValueError, match="128-value vectors, not 64"):
            gallery.add_person("Bob", [short], consent="x")
        with pytest.raises(ValueError, match="same length"):
            gallery.add_person("Cy", [records(1, model="m2")[0], replace(short, model="m2")], "x")
        nan = EmbeddingRecord(np.full(128, np.nan, dtype=np.float32), "test-model", "n", 90, 1, 1)
        with pytest.raises(ValueError, match="finite"):
            gallery.add_person("Dee", [nan], consent="x")
        assert [p.name for p in gallery.people()] == ["Ada"]
        assert count_rows(gallery, "embeddings") == 1


def test_removal_deletes_every_row(backend: Backend) -> None:
    marker = "Zebediah-Quartermain"
    with backend.open() as gallery:
        stored = records(2, seed=7)
        gallery.add_person(marker, stored, consent=f"consent of {marker}")
        gallery.add_person("Keep", records(1, seed=8), consent="x")
        gallery.remove_person(marker)
        assert [count_rows(gallery, t) for t in ("people", "enrollments", "embeddings")] == [1] * 3
        assert [n.name for n in gallery.search("test-model", stored[0].vector, 5)] == ["Keep"]


def test_sqlite_removal_leaves_no_trace_in_the_file(tmp_path: Path) -> None:
    marker = "Zebediah-Quartermain"
    db = tmp_path / "gallery.db"
    with SQLiteGallery(db) as gallery:
        stored = records(2, seed=7)
        gallery.add_person(marker, stored, consent=f"consent of {marker}")
        gallery.add_person("Keep", records(1, seed=8), consent="x")
        gallery.remove_person(marker)
    raw = b"".join(p.read_bytes() for p in db.parent.glob(db.name + "*"))
    assert marker.encode() not in raw
    assert stored[0].vector.tobytes()[:32] not in raw


def test_read_only_store_is_refused_and_unchanged(backend: Backend) -> None:
    with backend.open() as gallery:
        gallery.add_person("Ada", records(1), consent="x")
    reader = backend.read_only()
    with backend.open(reader) as gallery:
        assert gallery.read_only
        assert [p.name for p in gallery.people()] == ["Ada"]
        with pytest.raises(GalleryUnavailableError, match="read-only"):
            gallery.add_person("Bob", records(1), consent="x")
        with pytest.raises(GalleryUnavailableError, match="read-only"):
            gallery.remove_person("Ada")
    with backend.open() as gallery:
        assert [(p.name, p.embeddings) for p in gallery.people()] == [("Ada", 1)]


def test_unreachable_store_gives_clear_error(backend: Backend, tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("x")
    bad = (
        str(blocker / "gallery.db")
        if backend.name == "sqlite"
        else f"postgresql://postgres@/nowhere?host={blocker}"
    )
    with pytest.raises(GalleryUnavailableError, match="cannot open gallery"):
        backend.open(bad)


def test_search_equals_the_exact_reference(backend: Backend) -> None:
    with backend.open() as gallery:
        for i in range(60):
            gallery.add_person(f"p{i:02d}", records(3, seed=100 + i), consent="x")
        everyone = gallery.embeddings("test-model")
        probes = records(25, seed=999)
        for probe in probes:
            found = gallery.search("test-model", probe.vector, 5)
            expected = exact_search(everyone, probe.vector, 5)
            assert [n.name for n in found] == [n.name for n in expected]
            assert np.allclose([n.distance for n in found], [n.distance for n in expected], 1e-5)
        assert gallery.search("other-model", probes[0].vector, 3) == []
        assert len(gallery.search("test-model", probes[0].vector, 1000)) == 180


@pytest.mark.parametrize(
    "probe, k, message",
    [
        (np.ones(64, dtype=np.float32), 3, "values"),
        (np.full(128, np.nan, dtype=np.float32), 3, "finite"),
        (np.ones((2, 128), dtype=np.float32), 3, "one finite"),
        (np.ones(128, dtype=np.float32), 0, "k must be"),
    ],
)
def test_search_refuses_bad_probes(backend: Backend, probe: np.ndarray, k: int, message: str):
    with backend.open() as gallery:
        gallery.add_person("Ada", records(2), consent="x")
        with pytest.raises(ValueError, match=message):
            gallery.search("test-model", probe, k)


def _enroll_many(target: str, prefix: str, count: int) -> None:
    with open_gallery(target, Settings()) as gallery:
        for i in range(count):
            gallery.add_person(f"{prefix}{i}", records(2, seed=i), consent="x")


def test_two_processes_enrolling_at_once(backend: Backend) -> None:
    backend.open().close()
    ctx = multiprocessing.get_context("spawn")
    procs = [ctx.Process(target=_enroll_many, args=(backend.target, p, 25)) for p in ("a", "b")]
    for proc in procs:
        proc.start()
    for proc in procs:
        proc.join(60)
        assert proc.exitcode == 0
    with backend.open() as gallery:
        people = gallery.people()
        assert len(people) == 50 and all(p.embeddings == 2 for p in people)


def _enroll_same(target: str, queue: multiprocessing.Queue) -> None:
    try:
        with open_gallery(target, Settings()) as gallery:
            gallery.add_person("Ada", records(2), consent="x")
        queue.put("ok")
    except PersonExistsError:
        queue.put("exists")


def test_two_processes_enrolling_the_same_name(backend: Backend) -> None:
    backend.open().close()
    ctx = multiprocessing.get_context("spawn")
    queue = ctx.Queue()
    procs = [ctx.Process(target=_enroll_same, args=(backend.target, queue)) for _ in range(2)]
    for proc in procs:
        proc.start()
    for proc in procs:
        proc.join(60)
    assert sorted(queue.get(timeout=5) for _ in procs) == ["exists", "ok"]
    with backend.open() as gallery:
        assert gallery.get_person("Ada").embeddings == 2


KILLED_WRITER = """
import sys, time
from facegate.settings import Settings
from facegate.stores import open_gallery
gallery = open_gallery(sys.argv[1], Settings())
with gallery._write() as conn:
    conn.execute("INSERT INTO people(name, created_at) VALUES ('Half', 'now')")
    print("inside", flush=True)
    time.sleep(60)
"""


def test_process_killed_mid_enrollment_leaves_nothing(backend: Backend) -> None:
    backend.open().close()
    proc = subprocess.Popen(
        [sys.executable, "-c", KILLED_WRITER, backend.target], stdout=subprocess.PIPE, text=True
    )
    assert proc.stdout is not None and proc.stdout.readline().strip() == "inside"
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(10)
    with backend.open() as gallery:
        assert gallery.people() == []
        gallery.add_person("Whole", records(1), consent="x")
        assert [p.name for p in gallery.people()] == ["Whole"]


def test_doors_and_access_records_live_beside_the_gallery(backend: Backend) -> None:
    """Doors, groups and validity dates round-trip on both backends; removal cascades."""
    from datetime import date

    from facegate.decide.rules import DoorRules, PersonAccess, Window
    from facegate.stores import access_store_of

    with backend.open() as gallery, access_store_of(gallery, Settings()) as store:
        gallery.add_person("Ada", records(2), consent="form")
        rules = DoorRules(
            "lab", allow=("staff",), schedules={"staff": (Window.parse("Mon-Fri 07:00-19:00"),)}
        )
        assert store.add_door(rules).version == 1
        assert store.update_door(DoorRules("lab", allow=("staff", "visitors"))).version == 2
        access = PersonAccess(frozenset({"staff"}), None, date(2030, 1, 1))
        assert store.set_person_access("Ada", access) == access
        assert store.accesses() == {"Ada": access}
        gallery.remove_person("Ada")
        assert store.accesses() == {}
        assert [d.name for d in store.doors()] == ["lab"]
        assert count_rows(gallery, "person_groups") == 0


def test_a_name_in_another_unicode_form_finds_the_same_person(backend: Backend) -> None:
    """Lookups, vectors and removal take a decomposed spelling as the stored (NFC) one."""
    import unicodedata

    composed = "Zoë Ångström"
    decomposed = unicodedata.normalize("NFD", composed)
    assert decomposed != composed
    with backend.open() as gallery:
        gallery.add_person(decomposed, records(2), consent="form")
        assert gallery.get_person(decomposed).name == composed
        assert len(gallery.embeddings("test-model", decomposed)) == 2
        assert gallery.remove_person(decomposed).name == composed
        assert gallery.people() == []
