"""The gallery in PostgreSQL + pgvector: people, consent, vectors; search in the database."""

from __future__ import annotations

import hashlib
import unicodedata
from collections.abc import Iterator, Sequence
from contextlib import contextmanager

import numpy as np
import psycopg
from pgvector.psycopg import register_vector
from psycopg import sql

from facegate.db_url import redact
from facegate.errors import GalleryUnavailableError, PersonExistsError, UnknownPersonError
from facegate.gallery.exact import check_probe
from facegate.gallery.names import person_name
from facegate.gallery.sqlite import PEOPLE_SQL, utc_now
from facegate.gallery.types import EmbeddingRecord, EmbeddingSet, Neighbour, PersonSummary
from facegate.pg_db import TableSet, connect, ensure
from facegate.settings import PostgresSettings

MAX_DIM = 2000  # pgvector's HNSW index takes at most 2,000 dimensions

GALLERY_TABLES = TableSet(
    "gallery",
    (
        f"""
CREATE EXTENSION IF NOT EXISTS vector;
CREATE TABLE people (
    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    created_at TEXT NOT NULL
);
CREATE TABLE enrollments (
    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    person_id BIGINT NOT NULL REFERENCES people(id) ON DELETE CASCADE,
    consent TEXT NOT NULL,
    created_at TEXT NOT NULL
);
CREATE TABLE embedding_models (
    model TEXT PRIMARY KEY,
    dim INTEGER NOT NULL CHECK (dim BETWEEN 1 AND {MAX_DIM})
);
CREATE TABLE embeddings (
    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    person_id BIGINT NOT NULL REFERENCES people(id) ON DELETE CASCADE,
    enrollment_id BIGINT NOT NULL REFERENCES enrollments(id) ON DELETE CASCADE,
    model TEXT NOT NULL REFERENCES embedding_models(model),
    vector vector NOT NULL,
    source TEXT NOT NULL,
    face_px INTEGER NOT NULL,
    sharpness DOUBLE PRECISION NOT NULL,
    brightness DOUBLE PRECISION NOT NULL,
    created_at TEXT NOT NULL
);
CREATE INDEX embeddings_person ON embeddings(person_id);
CREATE INDEX embeddings_model ON embeddings(model);
CREATE INDEX enrollments_person ON enrollments(person_id)
""",
    ),
)


def index_name(model: str) -> str:
    """Return the name of the model's HNSW index (a hash: model names are free text)."""
    return "embeddings_hnsw_" + hashlib.sha256(model.encode()).hexdigest()[:16]


def _vectors(records: Sequence[EmbeddingRecord]) -> list[np.ndarray]:
    """Return the records' vectors as float32, refusing mixed, empty or non-finite ones."""
    vectors = [np.asarray(r.vector, dtype=np.float32).ravel() for r in records]
    dims = {(r.model, v.size) for r, v in zip(records, vectors, strict=True)}
    if len({model for model, _ in dims}) != len(dims):
        raise ValueError("every vector of one model must have the same length")
    if any(v.size == 0 or v.size > MAX_DIM or not np.all(np.isfinite(v)) for v in vectors):
        raise ValueError(f"vectors must be finite, with 1 to {MAX_DIM} values")
    return vectors


class PostgresGallery:
    """People and their face embeddings in PostgreSQL; vectors as pgvector, one HNSW per model."""

    def __init__(
        self, url: str, read_only: bool = False, settings: PostgresSettings | None = None
    ) -> None:
        self.url = url
        self.path = redact(url)
        self.settings = settings or PostgresSettings()
        self._dims: dict[str, int] = {}
        try:
            self._conn = connect(url, self.settings, read_only)
            if not read_only:
                ensure(self._conn, GALLERY_TABLES)
            register_vector(self._conn)
            self._conn.execute(
                sql.SQL("SET hnsw.ef_search = {}").format(sql.Literal(self.settings.ef_search))
            )
            self.read_only = read_only or not self._may_write()
        except psycopg.Error as exc:
            raise GalleryUnavailableError(f"cannot open gallery {self.path}: {exc}") from exc

    def _may_write(self) -> bool:
        """Return True when this role may insert people and embeddings (else: read-only)."""
        row = self._conn.execute(
            "SELECT has_table_privilege('people', 'INSERT')"
            " AND has_table_privilege('embeddings', 'INSERT')"
            " AND has_table_privilege('people', 'DELETE')"
        ).fetchone()
        return bool(row and row[0])

    @contextmanager
    def _write(self) -> Iterator[psycopg.Connection]:
        """Yield the connection inside one transaction: all of it commits or none."""
        if self.read_only:
            raise GalleryUnavailableError(f"gallery {self.path} is read-only")
        try:
            with self._conn.transaction():
                yield self._conn
        except psycopg.errors.UniqueViolation as exc:
            raise PersonExistsError(f"that name was enrolled at the same time: {exc}") from exc
        except psycopg.DataError as exc:
            raise ValueError(f"bad enrollment data: {exc}") from exc
        except psycopg.Error as exc:
            raise GalleryUnavailableError(f"cannot write gallery {self.path}: {exc}") from exc

    def _read(self, query: str | sql.Composed, params: Sequence[object] = ()) -> list[tuple]:
        """Return all rows of a query, wrapping database errors."""
        try:
            return self._conn.execute(query, params).fetchall()  # type: ignore[arg-type]
        except psycopg.Error as exc:
            raise GalleryUnavailableError(f"cannot read gallery {self.path}: {exc}") from exc

    def close(self) -> None:
        """Close the database connection."""
        self._conn.close()

    def __enter__(self) -> PostgresGallery:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def register_model(self, conn: psycopg.Connection, model: str, dim: int) -> None:
        """Record the model's vector length (refusing another) and create its HNSW index."""
        created = conn.execute(
            "INSERT INTO embedding_models(model, dim) VALUES (%s, %s) ON CONFLICT DO NOTHING",
            (model, dim),
        ).rowcount
        row = conn.execute("SELECT dim FROM embedding_models WHERE model = %s", (model,)).fetchone()
        if row is None or int(row[0]) != dim:
            stored = None if row is None else row[0]
            raise ValueError(f"model {model!r} stores {stored}-value vectors, not {dim}")
        if not created:
            return
        conn.execute(
            sql.SQL(
                "CREATE INDEX {name} ON embeddings USING hnsw"
                " ((vector::vector({dim})) vector_l2_ops) WITH (m = {m}, ef_construction = {ef})"
                " WHERE model = {model}"
            ).format(
                name=sql.Identifier(index_name(model)),
                dim=sql.Literal(dim),
                m=sql.Literal(self.settings.hnsw_m),
                ef=sql.Literal(self.settings.hnsw_ef_construction),
                model=sql.Literal(model),
            )
        )

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
        vectors = _vectors(records)
        models = sorted({(r.model, v.size) for r, v in zip(records, vectors, strict=True)})
        rows = [
            (r.model, v, r.source, int(r.face_px), float(r.sharpness), float(r.brightness))
            for r, v in zip(records, vectors, strict=True)
        ]
        now = utc_now()
        with self._write() as conn:
            for model, dim in models:
                self.register_model(conn, model, dim)
            row = conn.execute("SELECT id FROM people WHERE name = %s", (name,)).fetchone()
            if row and not extend:
                raise PersonExistsError(f"{name!r} is already enrolled (use --add to add images)")
            person_id = row[0] if row else self._new_person(conn, name, now)
            enrollment = conn.execute(
                "INSERT INTO enrollments(person_id, consent, created_at) VALUES (%s, %s, %s)"
                " RETURNING id",
                (person_id, consent, now),
            ).fetchone()
            with conn.cursor() as cursor:
                cursor.executemany(
                    "INSERT INTO embeddings(person_id, enrollment_id, model, vector, source,"
                    " face_px, sharpness, brightness, created_at)"
                    " VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s)",
                    [(person_id, enrollment[0], *r, now) for r in rows],  # type: ignore[index]
                )
        return self.get_person(name)

    def _new_person(self, conn: psycopg.Connection, name: str, now: str) -> int:
        """Insert a person and return their id."""
        row = conn.execute(
            "INSERT INTO people(name, created_at) VALUES (%s, %s) RETURNING id", (name, now)
        ).fetchone()
        return int(row[0])  # type: ignore[index]

    def remove_person(self, name: str) -> PersonSummary:
        """Delete a person and every row about them, vacuum the tables, return what was removed."""
        person = self.get_person(name)
        with self._write() as conn:
            conn.execute("DELETE FROM people WHERE id = %s", (person.id,))
        try:
            self._conn.execute("VACUUM embeddings, enrollments, people")
        except psycopg.Error as exc:
            raise GalleryUnavailableError(f"removed, but could not vacuum: {exc}") from exc
        return person

    def people(self) -> list[PersonSummary]:
        """Return every enrolled person, by name."""
        rows = self._read(PEOPLE_SQL + ' ORDER BY p.name COLLATE "C"')
        return [PersonSummary(*row) for row in rows]

    def get_person(self, name: str) -> PersonSummary:
        """Return one enrolled person by name, or raise UnknownPersonError."""
        rows = self._read(PEOPLE_SQL + " WHERE p.name = %s", (unicodedata.normalize("NFC", name),))
        if not rows:
            raise UnknownPersonError(f"{name!r} is not enrolled")
        return PersonSummary(*rows[0])

    def embeddings(self, model: str, name: str | None = None) -> EmbeddingSet:
        """Return the stored vectors of one model, for everyone or for one named person."""
        query = (
            "SELECT p.name, e.vector FROM embeddings e JOIN people p ON p.id = e.person_id"
            " WHERE e.model = %s"
        )
        params: list[object] = [model]
        if name is not None:
            query += " AND p.name = %s"
            params.append(unicodedata.normalize("NFC", name))
        rows = self._read(query + " ORDER BY e.id", params)
        if not rows:
            return EmbeddingSet.empty()
        matrix = np.stack([np.asarray(row[1].to_numpy(), dtype=np.float32) for row in rows])
        return EmbeddingSet(names=[row[0] for row in rows], vectors=matrix)

    def count(self, model: str) -> int:
        """Return how many vectors of the model are stored."""
        return int(self._read("SELECT COUNT(*) FROM embeddings WHERE model = %s", (model,))[0][0])

    def dimension(self, model: str) -> int | None:
        """Return the length of the model's vectors (None: none stored; fixed once recorded)."""
        if model not in self._dims:
            rows = self._read("SELECT dim FROM embedding_models WHERE model = %s", (model,))
            if not rows:
                return None
            self._dims[model] = int(rows[0][0])
        return self._dims[model]

    def search(self, model: str, vector: np.ndarray, k: int) -> list[Neighbour]:
        """Return the k stored vectors of the model nearest the probe, via its HNSW index."""
        dim = self.dimension(model)
        probe = check_probe(vector, k, dim)
        if dim is None:
            return []
        query = sql.SQL(
            "SELECT p.name, n.distance FROM (SELECT person_id, id,"
            " (vector::vector({dim})) <-> %(probe)s AS distance FROM embeddings"
            " WHERE model = %(model)s ORDER BY (vector::vector({dim})) <-> %(probe)s"
            " LIMIT %(k)s) n JOIN people p ON p.id = n.person_id ORDER BY n.distance, n.id"
        ).format(dim=sql.Literal(dim))
        params = {"probe": probe, "model": model, "k": k}
        try:
            if k <= self.settings.ef_search:  # the session's ef_search already suffices
                rows = self._conn.execute(query, params).fetchall()
            else:
                with self._conn.transaction():
                    local = sql.SQL("SET LOCAL hnsw.ef_search = {}").format(sql.Literal(k))
                    self._conn.execute(local)
                    rows = self._conn.execute(query, params).fetchall()
        except psycopg.Error as exc:
            raise GalleryUnavailableError(f"cannot search gallery {self.path}: {exc}") from exc
        return [Neighbour(name, float(distance)) for name, distance in rows]
