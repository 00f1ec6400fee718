"""The SQLite gallery: atomic enrollment, removal without trace, read-only files, concurrency."""

from __future__ import annotations

import multiprocessing
import os
import signal
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from facegate.errors import GalleryUnavailableError, PersonExistsError, UnknownPersonError
from facegate.gallery import EmbeddingRecord, SQLiteGallery


def records(count: int, seed: int = 0, model: str = "test-model") -> list[EmbeddingRecord]:
    rng = np.random.default_rng(seed)
    vectors = rng.normal(size=(count, 128)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    return [
        EmbeddingRecord(v, model, f"img{i}.jpg", 100, 50.0, 120.0) for i, v in enumerate(vectors)
    ]


@pytest.fixture
def db(tmp_path: Path) -> Path:
    return tmp_path / "gallery.db"


def test_add_list_and_fetch_embeddings(db: Path) -> None:
    with SQLiteGallery(db) as gallery:
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
    assert SQLiteGallery(db)._conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_enrolling_a_name_twice_is_refused_unless_adding(db: Path) -> None:
    with SQLiteGallery(db) as gallery:
        gallery.add_person("Ada", records(2), consent="signed")
        with pytest.raises(PersonExistsError, match="already enrolled"):
            gallery.add_person("Ada", records(1, seed=3), consent="again")
        assert gallery.get_person("Ada").embeddings == 2
        assert (
            gallery.add_person("Ada", records(1, seed=3), consent="more", extend=True).embeddings
            == 3
        )


def test_removing_unknown_person_is_refused(db: Path) -> None:
    with SQLiteGallery(db) as gallery:
        gallery.add_person("Ada", records(1), consent="x")
        with pytest.raises(UnknownPersonError, match="not enrolled"):
            gallery.remove_person("Nobody")
        assert [p.name for p in gallery.people()] == ["Ada"]


def test_failed_enrollment_stores_nothing(db: Path) -> None:
    with SQLiteGallery(db) as gallery:
        good = records(2)
        bad = EmbeddingRecord(good[0].vector, "test-model", "x.jpg", "not-a-number", 1.0, 1.0)  # type: ignore[arg-type]
        with pytest.raises(ValueError):
            gallery.add_person("Ada", [*good, bad], consent="x")
        assert gallery.people() == []
        assert gallery._conn.execute("SELECT COUNT(*) FROM embeddings").fetchone()[0] == 0


def test_removal_leaves_no_trace_in_the_file(db: Path) -> None:
    marker = "Zebediah-Quartermain"
    with SQLiteGallery(db) as gallery:
        stored = records(2, seed=7)
        gallery.add_person(marker, stored, consent=f"consent of {marker}")
        gallery.add_person("Keep", records(1, seed=8), consent="x")
        gallery.remove_person(marker)
        counts = [
            gallery._conn.execute(f"SELECT COUNT(*) FROM {t}").fetchone()[0]
            for t in ("people", "enrollments", "embeddings")
        ]
        assert counts == [1, 1, 1]
    raw = b"".join(p.read_bytes() for p in db.parent.glob(db.name + "*"))
    assert marker.encode() not in raw
    assert stored[0].vector.tobytes()[:32] not in raw


def test_read_only_file_is_refused_and_unchanged(db: Path) -> None:
    with SQLiteGallery(db) as gallery:
        gallery.add_person("Ada", records(1), consent="x")
    before = db.read_bytes()
    db.chmod(0o444)
    try:
        with SQLiteGallery(db) as gallery:
            assert [p.name for p in gallery.people()] == ["Ada"]
            with pytest.raises(GalleryUnavailableError, match="read-only"):
                gallery.add_person("Bob", records(1), consent="x")
        assert db.read_bytes() == before
    finally:
        db.chmod(0o644)


def test_unwritable_location_gives_clear_error(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(GalleryUnavailableError, match="cannot open gallery"):
        SQLiteGallery(blocker / "gallery.db")


def _enroll_many(db: str, prefix: str, count: int) -> None:
    with SQLiteGallery(db) as gallery:
        for i in range(count):
            gallery.add_person(f"{prefix}{i}", records(2, seed=i), consent="x")


def test_two_processes_enrolling_at_once(db: Path) -> None:
    SQLiteGallery(db).close()
    ctx = multiprocessing.get_context("spawn")
    procs = [ctx.Process(target=_enroll_many, args=(str(db), p, 25)) for p in ("a", "b")]
    for proc in procs:
        proc.start()
    for proc in procs:
        proc.join(60)
        assert proc.exitcode == 0
    with SQLiteGallery(db) as gallery:
        people = gallery.people()
        assert len(people) == 50 and all(p.embeddings == 2 for p in people)


def _enroll_same(db: str, queue: multiprocessing.Queue) -> None:
    try:
        with SQLiteGallery(db) as gallery:
            gallery.add_person("Ada", records(2), consent="x")
        queue.put("ok")
    except PersonExistsError:
        queue.put("exists")


def test_two_processes_enrolling_the_same_name(db: Path) -> None:
    SQLiteGallery(db).close()
    ctx = multiprocessing.get_context("spawn")
    queue = ctx.Queue()
    procs = [ctx.Process(target=_enroll_same, args=(str(db), queue)) for _ in range(2)]
    for proc in procs:
        proc.start()
    for proc in procs:
        proc.join(60)
    assert sorted(queue.get(timeout=5) for _ in procs) == ["exists", "ok"]
    with SQLiteGallery(db) as gallery:
        assert gallery.get_person("Ada").embeddings == 2


KILLED_WRITER = """
import sys, time
from facegate.gallery import SQLiteGallery
gallery = SQLiteGallery(sys.argv[1])
with gallery._write() as conn:
    conn.execute("INSERT INTO people(name, created_at) VALUES ('Half', 'now')")
    print("inside", flush=True)
    time.sleep(60)
"""


def test_process_killed_mid_enrollment_leaves_nothing(db: Path) -> None:
    SQLiteGallery(db).close()
    proc = subprocess.Popen(
        [sys.executable, "-c", KILLED_WRITER, str(db)], stdout=subprocess.PIPE, text=True
    )
    assert proc.stdout is not None and proc.stdout.readline().strip() == "inside"
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(10)
    with SQLiteGallery(db) as gallery:
        assert gallery.people() == []
        gallery.add_person("Whole", records(1), consent="x")
        assert [p.name for p in gallery.people()] == ["Whole"]
