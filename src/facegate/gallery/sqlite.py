"""The gallery in SQLite (WAL mode): people, their embeddings, and consent records."""

from __future__ import annotations

import os
import sqlite3
import stat
import unicodedata
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

from facegate.db_url import is_postgres_url, redact
from facegate.errors import (
    GalleryUnavailableError,
    PersonExistsError,
    UnknownPersonError,
)
from facegate.gallery.exact import exact_search
from facegate.gallery.names import person_name
from facegate.gallery.types import EmbeddingRecord, EmbeddingSet, Neighbour, PersonSummary
from facegate.sqlite_db import apply_schema, connect, transaction

SCHEMA_VERSION = 1

SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS people (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    created_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS enrollments (
    id INTEGER PRIMARY KEY,
    person_id INTEGER NOT NULL REFERENCES people(id) ON DELETE CASCADE,
    consent TEXT NOT NULL,
    created_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS embeddings (
    id INTEGER PRIMARY KEY,
    person_id INTEGER NOT NULL REFERENCES people(id) ON DELETE CASCADE,
    enrollment_id INTEGER NOT NULL REFERENCES enrollments(id) ON DELETE CASCADE,
    model TEXT NOT NULL,
    vector BLOB NOT NULL,
    source TEXT NOT NULL,
    face_px INTEGER NOT NULL,
    sharpness REAL NOT NULL,
    brightness REAL NOT NULL,
    created_at TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS embeddings_person ON embeddings(person_id);
CREATE INDEX IF NOT EXISTS embeddings_model ON embeddings(model);
CREATE INDEX IF NOT EXISTS enrollments_person ON enrollments(person_id);
"""


PEOPLE_SQL = (
    "SELECT p.id, p.name, p.created_at,"
    " (SELECT COUNT(*) FROM embeddings e WHERE e.person_id = p.id),"
    " (SELECT consent FROM enrollments n WHERE n.person_id = p.id AND n.consent <> ''"
    "  ORDER BY n.id DESC LIMIT 1)"
    " FROM people p"
)


def utc_now() -> str:
    """Return the current UTC time as ISO 8601."""
    return datetime.now(UTC).isoformat(timespec="seconds")


def _is_read_only(path: Path) -> bool:
    """Return True when the file exists and is marked read-only (honoured even for root)."""
    if not path.exists():
        return False
    mode = path.stat().st_mode
    return not os.access(path, os.W_OK) or not mode & (stat.S_IWUSR | stat.S_IWGRP | stat.S_IWOTH)


def _check_lengths(conn: sqlite3.Connection, records: Sequence[EmbeddingRecord]) -> None:
    """Refuse non-finite vectors, and lengths that differ from the model's stored ones."""
    lengths: dict[str, int] = {}
    for r in records:
        vector = np.asarray(r.vector, dtype=np.float32)
        if not np.all(np.isfinite(vector)):
            raise ValueError("vectors must be finite")
        if lengths.setdefault(r.model, vector.size) != vector.size or vector.size == 0:
            raise ValueError(f"every vector of model {r.model!r} must have the same length")
    for model, size in lengths.items():
        row = conn.execute(
            "SELECT length(vector) FROM embeddings WHERE model = ? LIMIT 1", (model,)
        ).fetchone()
        if row is not None and row[0] != size * 4:
            raise ValueError(f"model {model!r} stores {row[0] // 4}-value vectors, not {size}")


def _ids_and_vectors(rows: list[tuple]) -> tuple[np.ndarray, np.ndarray]:
    """Return (ids, N x D float32 vectors) from (id, blob) rows."""
    ids = np.array([row[0] for row in rows], dtype=np.int64)
    if not rows:
        return ids, np.zeros((0, 0), dtype=np.float32)
    return ids, np.stack([np.frombuffer(row[1], dtype=np.float32) for row in rows])


class SQLiteGallery:
    """People and their face embeddings in one SQLite file; safe across processes."""

    def __init__(self, path: str | Path, read_only: bool = False) -> None:
        if is_postgres_url(path):
            raise GalleryUnavailableError(f"not a SQLite file: {redact(str(path))}")
        self.path = Path(path)
        self.read_only = read_only or _is_read_only(self.path)
        try:
            self._conn = self._connect()
        except (sqlite3.Error, OSError) as exc:
            raise GalleryUnavailableError(f"cannot open gallery {self.path}: {exc}") from exc

    def _connect(self) -> sqlite3.Connection:
        """Return a connection (read-only, or WAL with the schema in place)."""
        conn = connect(self.path, self.read_only)
        if not self.read_only:
            apply_schema(conn, SCHEMA, "meta", SCHEMA_VERSION, self._write_error)
        return conn

    def _write_error(self, reason: str) -> GalleryUnavailableError:
        """Return the error for a failed write."""
        return GalleryUnavailableError(f"cannot write gallery {self.path}: {reason}")

    @contextmanager
    def _write(self) -> Iterator[sqlite3.Connection]:
        """Yield the connection inside one IMMEDIATE transaction: all of it commits or none."""
        if self.read_only:
            raise GalleryUnavailableError(f"gallery {self.path} is read-only")
        with transaction(self._conn, self._write_error) as conn:
            yield conn

    def close(self) -> None:
        """Close the database connection."""
        self._conn.close()

    def __enter__(self) -> SQLiteGallery:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _read(self, sql: str, params: Sequence[object] = ()) -> list[tuple]:
        """Return all rows of a query, wrapping database errors."""
        try:
            return self._conn.execute(sql, params).fetchall()
        except sqlite3.Error as exc:
            raise GalleryUnavailableError(f"cannot read gallery {self.path}: {exc}") from exc

    def add_person(
        self,
        name: str,
        records: Sequence[EmbeddingRecord],
        consent: str,
        extend: bool = False,
    ) -> PersonSummary:
        """Store a person's embeddings atomically; refuse an existing name unless extend."""
        name = person_name(name)
        if not records:
            raise ValueError("enrollment needs at least one embedding")
        now = utc_now()
        with self._write() as conn:
            row = conn.execute("SELECT id FROM people WHERE name = ?", (name,)).fetchone()
            if row and not extend:
                raise PersonExistsError(f"{name!r} is already enrolled (use --add to add images)")
            _check_lengths(conn, records)
            if row:
                person_id = row[0]
            else:
                person_id = conn.execute(
                    "INSERT INTO people(name, created_at) VALUES (?, ?)", (name, now)
                ).lastrowid
            enrollment_id = conn.execute(
                "INSERT INTO enrollments(person_id, consent, created_at) VALUES (?, ?, ?)",
                (person_id, consent, now),
            ).lastrowid
            conn.executemany(
                "INSERT INTO embeddings(person_id, enrollment_id, model, vector, source, face_px,"
                " sharpness, brightness, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                [
                    (
                        person_id,
                        enrollment_id,
                        r.model,
                        np.asarray(r.vector, dtype=np.float32).tobytes(),
                        r.source,
                        int(r.face_px),
                        float(r.sharpness),
                        float(r.brightness),
                        now,
                    )
                    for r in records
                ],
            )
        return self.get_person(name)

    def remove_person(self, name: str) -> PersonSummary:
        """Delete a person and every row about them, scrub the file, and return what was removed."""
        person = self.get_person(name)
        with self._write() as conn:
            conn.execute("DELETE FROM people WHERE id = ?", (person.id,))
        try:
            self._conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        except sqlite3.Error as exc:
            raise GalleryUnavailableError(f"removed, but could not checkpoint: {exc}") from exc
        return person

    def people(self) -> list[PersonSummary]:
        """Return every enrolled person, by name."""
        return [PersonSummary(*row) for row in self._read(PEOPLE_SQL + " ORDER BY p.name")]

    def get_person(self, name: str) -> PersonSummary:
        """Return one enrolled person by name, or raise UnknownPersonError."""
        rows = self._read(PEOPLE_SQL + " WHERE p.name = ?", (unicodedata.normalize("NFC", name),))
        if not rows:
            raise UnknownPersonError(f"{name!r} is not enrolled")
        return PersonSummary(*rows[0])

    def embeddings(self, model: str, name: str | None = None) -> EmbeddingSet:
        """Return the stored vectors of one model, for everyone or for one named person."""
        sql = (
            "SELECT p.name, e.vector FROM embeddings e JOIN people p ON p.id = e.person_id"
            " WHERE e.model = ?"
        )
        params: list[object] = [model]
        if name is not None:
            sql += " AND p.name = ?"
            params.append(unicodedata.normalize("NFC", name))
        rows = self._read(sql + " ORDER BY e.id", params)
        if not rows:
            return EmbeddingSet.empty()
        names = [row[0] for row in rows]
        matrix = np.stack([np.frombuffer(row[1], dtype=np.float32) for row in rows])
        return EmbeddingSet(names=names, vectors=matrix)

    def search(self, model: str, vector: np.ndarray, k: int) -> list[Neighbour]:
        """Return the k stored vectors of the model nearest the probe (exact, in numpy)."""
        return exact_search(self.embeddings(model), vector, k)

    def count(self, model: str) -> int:
        """Return how many vectors of the model are stored."""
        return self.vector_stats(model)[0]

    def data_version(self) -> int:
        """Return SQLite's data version: it changes when another connection commits."""
        return int(self._read("PRAGMA data_version")[0][0])

    def vector_stats(self, model: str) -> tuple[int, int]:
        """Return how many vectors the model has and the highest embedding id (0 when none)."""
        count, top = self._read(
            "SELECT COUNT(*), COALESCE(MAX(id), 0) FROM embeddings WHERE model = ?", (model,)
        )[0]
        return int(count), int(top)

    def vector_ids(self, model: str) -> np.ndarray:
        """Return the embedding ids of every vector of the model."""
        rows = self._read("SELECT id FROM embeddings WHERE model = ?", (model,))
        return np.array([row[0] for row in rows], dtype=np.int64)

    def vectors_after(self, model: str, after_id: int) -> tuple[np.ndarray, np.ndarray]:
        """Return the ids and vectors (N x D) of the model's embeddings with id > after_id."""
        rows = self._read(
            "SELECT id, vector FROM embeddings WHERE model = ? AND id > ? ORDER BY id",
            (model, after_id),
        )
        return _ids_and_vectors(rows)

    def vectors_by_id(self, model: str, ids: Sequence[int]) -> tuple[list[str], np.ndarray]:
        """Return the names and vectors of the ids that exist for the model, in id order."""
        if not len(ids):
            return [], np.zeros((0, 0), dtype=np.float32)
        marks = ", ".join("?" * len(ids))
        rows = self._read(
            "SELECT p.name, e.vector FROM embeddings e JOIN people p ON p.id = e.person_id"
            f" WHERE e.model = ? AND e.id IN ({marks}) ORDER BY e.id",
            (model, *[int(i) for i in ids]),
        )
        if not rows:
            return [], np.zeros((0, 0), dtype=np.float32)
        return [r[0] for r in rows], np.stack([np.frombuffer(r[1], dtype=np.float32) for r in rows])
