"""Identify at 10k / 100k / 1M enrolled identities: exact numpy, in-process ANN, pgvector HNSW.

    python bench/gallery_scale.py [--sizes 10000 100000 1000000] [--probes 400]
        [--designs exact,hnsw32-ef128,pq64fs-r256] [--pgvector-max 100000] [--json]

Probes and their genuine mates are real dlib LFW embeddings (bench/lfw_vectors.py: image 2 and
image 1 of each person); only the first half of the people are enrolled (`--enrolled`), so the
other half are unknown visitors whose nearest neighbour is someone else, the harder case. The
other identities are distractors drawn from a Gaussian fitted to the LFW vectors (mean and full
covariance), renormalised to unit length. Recall@1 is measured
against exact search over the same gallery. Every query runs alone on one thread (faiss and
BLAS), as a door's request would. Prints a table, `--json` lines, and writes
bench/results/gallery_scale.json plus the recall/latency curve bench/results/gallery_scale.png.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import sys
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from lfw_vectors import load_or_embed

from facegate.gallery.ann import AnnIndex
from facegate.gallery.exact import nearest_rows
from facegate.settings import AnnSettings

RESULTS = Path(__file__).resolve().parent / "results"

# name -> (faiss factory, build parameters, search parameters, candidates re-ranked exactly)
DESIGNS: dict[str, tuple[str, str, str, int]] = {
    "hnsw32-c80-ef128": ("HNSW32,Flat", "efConstruction=80", "efSearch=128", 128),
    "hnsw32-c80-ef512": ("HNSW32,Flat", "efConstruction=80", "efSearch=512", 512),
    "hnsw32-c200-ef128": ("HNSW32,Flat", "efConstruction=200", "efSearch=128", 128),
    "hnsw32-c200-ef256": ("HNSW32,Flat", "efConstruction=200", "efSearch=256", 256),
    "hnsw32-c200-ef512": ("HNSW32,Flat", "efConstruction=200", "efSearch=512", 512),
    "hnsw48-c200-ef512": ("HNSW48,Flat", "efConstruction=200", "efSearch=512", 512),
    "ivf1024-pq64fs-np64": ("IVF1024,PQ64x4fs", "", "nprobe=64", 512),
    "ivf1024-pq64fs-np128": ("IVF1024,PQ64x4fs", "", "nprobe=128", 512),
    "pq64fs-r512": ("PQ64x4fs", "", "", 512),
    "pq64fs-r1024": ("PQ64x4fs", "", "", 1024),
    "pq64fs-r2048": ("PQ64x4fs", "", "", 2048),
    "pq32fs-r1024": ("PQ32x4fs", "", "", 1024),
}


@dataclass
class Row:
    """One backend at one gallery size."""

    ids: int
    backend: str
    p50_ms: float
    p99_ms: float
    recall_at_1: float
    cpu_p50_ms: float = 0.0
    cpu_p99_ms: float = 0.0
    build_s: float = 0.0
    memory_mb: float = 0.0
    enroll_ms: float = 0.0
    delete_ms: float = 0.0
    notes: dict[str, object] = field(default_factory=dict)


def distractors(real: np.ndarray, count: int, seed: int) -> np.ndarray:
    """Return count unit vectors from a Gaussian fitted to the real vectors."""
    rng = np.random.default_rng(seed)
    mean = real.mean(axis=0)
    chol = np.linalg.cholesky(np.cov(real, rowvar=False) + 1e-6 * np.eye(real.shape[1]))
    out = np.empty((count, real.shape[1]), dtype=np.float32)
    for start in range(0, count, 100_000):
        n = min(100_000, count - start)
        block = rng.standard_normal((n, real.shape[1])) @ chol.T + mean
        out[start : start + n] = block / np.linalg.norm(block, axis=1, keepdims=True)
    return out


def exact_top1(gallery: np.ndarray, norms: np.ndarray, probe: np.ndarray) -> int:
    """Return the row nearest the probe by a full scan (||x||^2 - 2 x.q; the numpy baseline)."""
    return int(np.argmin(norms - 2.0 * (gallery @ probe)))


def timed(fn: Callable[[np.ndarray], int], probes: np.ndarray) -> tuple[list[int], np.ndarray]:
    """Return each probe's answer and per-query milliseconds: wall (row 0) and CPU (row 1).

    CPU time is this thread's: on a shared machine it leaves out the waits for a core.
    """
    answers, times = [], []
    for probe in probes:
        start, cpu = time.perf_counter(), time.thread_time()
        answers.append(fn(probe))
        times.append(((time.perf_counter() - start) * 1000, (time.thread_time() - cpu) * 1000))
    return answers, np.array(times).T


def latency(size: int, backend: str, ms: np.ndarray, recall: float) -> Row:
    """Return a row with the wall and CPU p50/p99 of the timings."""
    wall, cpu = np.percentile(ms[0], [50, 99]), np.percentile(ms[1], [50, 99])
    return Row(size, backend, *map(float, wall), recall, *map(float, cpu))


def rss_mb() -> float:
    """Return this process's peak resident memory in MiB."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def bench_exact(size: int, gallery: np.ndarray, probes: np.ndarray) -> tuple[Row, list[int]]:
    """Time the exact numpy scan; its answers are the truth the others are held to."""
    norms = np.einsum("ij,ij->i", gallery, gallery)
    truth, ms = timed(lambda p: exact_top1(gallery, norms, p), probes)
    check = [int(nearest_rows(gallery, p, 1)[0][0]) for p in probes[:20]]
    assert check == truth[:20], "the matmul scan must agree with the reference search"
    row = latency(size, "numpy-exact", ms, 1.0)
    row.memory_mb = gallery.nbytes / 2**20
    return row, truth


def build(factory: str, params: str, gallery: np.ndarray) -> tuple[AnnIndex, float]:
    """Return an index over the gallery (ids = row numbers) and its build time in seconds."""
    index = AnnIndex(gallery.shape[1], AnnSettings(factory=factory, params=params))
    start = time.perf_counter()
    index.build(np.arange(len(gallery), dtype=np.int64), gallery)
    return index, time.perf_counter() - start


def bench_design(
    name: str,
    size: int,
    gallery: np.ndarray,
    probes: np.ndarray,
    truth: list[int],
    built: dict[tuple[str, str], tuple[AnnIndex, float]],
    run: list[str],
) -> Row:
    """Time one in-process design (candidates + exact re-ranking) per probe.

    Designs that differ only in search parameters share one build (`built`); the last of them
    in `run` also measures enroll and delete on it (which changes the index).
    """
    factory, build_params, params, candidates = DESIGNS[name]
    if (factory, build_params) not in built:
        built[factory, build_params] = build(factory, build_params, gallery)
    index, build_s = built[factory, build_params]
    index.tune(params)

    def search(probe: np.ndarray) -> int:
        found = index.candidates(probe, candidates)
        rows, _ = nearest_rows(gallery[found], probe, 1)
        return int(found[rows[0]])

    answers, ms = timed(search, probes)
    recall = float(np.mean(np.array(answers) == np.array(truth)))
    split = recall_split(answers, truth)
    last = name == [n for n in run if DESIGNS[n][:2] == (factory, build_params)][-1]
    enroll_ms, delete_ms = churn(index, size, gallery) if last else (0.0, 0.0)
    row = latency(size, f"faiss-{name}", ms, recall)
    row.build_s, row.enroll_ms, row.delete_ms = build_s, enroll_ms, delete_ms
    row.memory_mb = index.memory_bytes() / 2**20
    row.notes = {"factory": factory, "params": f"{build_params} {params}".strip()}
    row.notes.update(candidates=candidates, **split)
    return row


ENROLLED = {"count": 0}  # probes [0, count) have their mate enrolled (set in main)


def recall_split(answers: list[int], truth: list[int]) -> dict[str, float]:
    """Return recall@1 over the probes with an enrolled mate and over the unknown visitors."""
    hit = np.array(answers) == np.array(truth)
    n = ENROLLED["count"]
    return {
        "recall_enrolled": float(hit[:n].mean()) if n else float("nan"),
        "recall_unknown": float(hit[n:].mean()) if n < len(hit) else float("nan"),
    }


def churn(index: AnnIndex, size: int, gallery: np.ndarray) -> tuple[float, float]:
    """Return ms per one-vector add and per removal, measured on a built index (changes it)."""
    extra = distractors(gallery[:1000], 50, seed=99)
    start = time.perf_counter()
    for i, v in enumerate(extra):
        index.add(np.array([size + i]), v[None, :])
    enroll_ms = (time.perf_counter() - start) * 1000 / len(extra)
    start = time.perf_counter()
    for i in range(50):
        index.remove([size + i])
    return enroll_ms, (time.perf_counter() - start) * 1000 / 50


def bench_pgvector(
    size: int, gallery: np.ndarray, probes: np.ndarray, truth: list[int], efs: list[int]
) -> list[Row]:
    """Load the gallery into a real PostgreSQL + pgvector (HNSW index); time search() per ef."""
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
    from pg_server import LocalPostgres

    from facegate.gallery import EmbeddingRecord
    from facegate.gallery.postgres import PostgresGallery, index_name

    server = LocalPostgres()
    try:
        url = server.database()
        with PostgresGallery(url) as pg:
            pg.add_person("seed", [EmbeddingRecord(gallery[0], "b", "s", 1, 1.0, 1.0)], "x")
            pg.remove_person("seed")
            conn = pg._conn
            conn.execute(f'DROP INDEX "{index_name("b")}"')
            start = time.perf_counter()
            conn.execute(
                "INSERT INTO people(name, created_at) SELECT 'p' || g, 'now'"
                " FROM generate_series(0, %s) g",
                (size - 1,),
            )
            conn.execute(
                "INSERT INTO enrollments(person_id, consent, created_at)"
                " SELECT id, 'x', 'now' FROM people ORDER BY id"
            )
            person = dict(conn.execute("SELECT name, id FROM people").fetchall())
            enrollment = dict(conn.execute("SELECT person_id, id FROM enrollments").fetchall())
            with (
                conn.cursor() as cur,
                cur.copy(
                    "COPY embeddings(person_id, enrollment_id, model, vector, source, face_px,"
                    " sharpness, brightness, created_at) FROM STDIN"
                ) as copy,
            ):
                for i, v in enumerate(gallery):
                    pid = person[f"p{i}"]
                    text = "[" + ",".join(f"{x:.7g}" for x in v) + "]"
                    copy.write_row((pid, enrollment[pid], "b", text, "s", 1, 1.0, 1.0, "now"))
            load_s = time.perf_counter() - start
            conn.execute("SET maintenance_work_mem = '2GB'")
            start = time.perf_counter()
            conn.execute(
                f'CREATE INDEX "{index_name("b")}" ON embeddings USING hnsw'
                f" ((vector::vector({gallery.shape[1]})) vector_l2_ops)"
                f" WITH (m = {pg.settings.hnsw_m}, ef_construction ="
                f" {pg.settings.hnsw_ef_construction}) WHERE model = 'b'"
            )
            build_s = time.perf_counter() - start
            conn.execute("VACUUM ANALYZE embeddings")
            timings = []
            for ef in efs:  # the session's hnsw.ef_search serves every k <= settings.ef_search
                conn.execute(f"SET hnsw.ef_search = {int(ef)}")
                answers, ms = timed(lambda p: int(pg.search("b", p, 1)[0].name[1:]), probes)
                recall = float(np.mean(np.array(answers) == np.array(truth)))
                timings.append((ef, ms, recall, recall_split(answers, truth)))
            extra = distractors(gallery[:1000], 20, seed=98)
            start = time.perf_counter()
            for i, v in enumerate(extra):
                pg.add_person(f"new{i}", [EmbeddingRecord(v, "b", "s", 1, 1.0, 1.0)], "x")
            enroll_ms = (time.perf_counter() - start) * 1000 / len(extra)
            start = time.perf_counter()
            for i in range(len(extra)):
                pg.remove_person(f"new{i}")
            delete_ms = (time.perf_counter() - start) * 1000 / len(extra)
            mem = conn.execute(
                "SELECT pg_relation_size(%s), pg_total_relation_size('embeddings')",
                (index_name("b"),),
            ).fetchone()
        rows = []
        for ef, ms, recall, split in timings:
            row = latency(size, f"pgvector-hnsw-ef{ef}", ms, recall)
            row.build_s, row.enroll_ms, row.delete_ms = build_s, enroll_ms, delete_ms
            row.memory_mb = mem[0] / 2**20
            row.notes = {
                "load_s": round(load_s, 1),
                "table_mb": round(mem[1] / 2**20, 1),
                "m": pg.settings.hnsw_m,
                "ef_construction": pg.settings.hnsw_ef_construction,
                "ef_search": ef,
                **split,
            }
            rows.append(row)
        return rows
    finally:
        server.stop()


def plot(rows: list[Row], path: Path) -> None:
    """Draw recall@1 against p99 latency (wall, and this thread's CPU) per size and backend."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(13, 5), sharey=True)
    for ax, measure in zip(axes, ("p99_ms", "cpu_p99_ms"), strict=True):
        for size in sorted({r.ids for r in rows}):
            chosen = [r for r in rows if r.ids == size and getattr(r, measure) > 0]
            points = [(getattr(r, measure), 100 * r.recall_at_1) for r in chosen]
            ax.scatter(*zip(*points, strict=True), label=f"{size:,}")
            for r, point in zip(chosen, points, strict=True):
                ax.annotate(r.backend.replace("faiss-", ""), point, fontsize=6)
        ax.axhline(99.5, color="grey", lw=0.5, ls="--")
        ax.axvline(10, color="grey", lw=0.5, ls="--")
        ax.set_xscale("log")
        kind = "wall" if measure == "p99_ms" else "CPU (client thread)"
        ax.set_xlabel(f"{kind} p99 per query, ms")
    axes[0].set_ylabel("recall@1 vs exact, %")
    axes[0].legend(title="identities")
    fig.suptitle("facegate identify: recall vs latency (LFW probes, LFW-fitted distractors)")
    fig.tight_layout()
    fig.savefig(path, dpi=110)


def main() -> None:
    """Run every backend at every size and report."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000, 1_000_000])
    parser.add_argument("--probes", type=int, default=400, help="Real LFW probes per size.")
    parser.add_argument("--people", type=int, default=800, help="LFW people to embed / load.")
    parser.add_argument("--enrolled", type=float, default=0.5, help="Share of people enrolled.")
    parser.add_argument("--designs", default=",".join(DESIGNS))
    parser.add_argument("--pgvector-max", type=int, default=100_000, help="Largest pgvector size.")
    parser.add_argument("--pg-ef", type=int, nargs="+", default=[100, 400], help="ef_search.")
    parser.add_argument("--out", type=Path, default=RESULTS / "gallery_scale.json")
    parser.add_argument("--json", action="store_true", help="Print one JSON line per row.")
    args = parser.parse_args()
    data = load_or_embed(args.people)
    probes = data["probes"][: args.probes]
    ENROLLED["count"] = round(args.enrolled * len(probes))
    mates = data["mates"][: ENROLLED["count"]]
    real = np.concatenate([data["mates"], data["probes"]])
    designs = [d for d in args.designs.split(",") if d and d != "exact"]
    rows: list[Row] = []
    for size in args.sizes:
        gallery = np.concatenate([mates, distractors(real, size - len(mates), seed=size)])
        exact_row, truth = bench_exact(size, gallery, probes)
        built: dict[tuple[str, str], tuple[AnnIndex, float]] = {}
        found = [exact_row]
        for name in designs:
            found.append(bench_design(name, size, gallery, probes, truth, built, designs))
        if size <= args.pgvector_max:
            found.extend(bench_pgvector(size, gallery, probes, truth, args.pg_ef))
        rows.extend(found)
        for row in found:
            if args.json:
                print(json.dumps(asdict(row)), flush=True)
            else:
                print(
                    f"{row.ids:>9,} {row.backend:<26} p50 {row.p50_ms:7.2f} p99 {row.p99_ms:7.2f}"
                    f" (cpu {row.cpu_p50_ms:6.2f} / {row.cpu_p99_ms:6.2f}) ms"
                    f"  recall@1 {100 * row.recall_at_1:6.2f} %"
                    f" (known {100 * row.notes.get('recall_enrolled', 1):6.2f}"
                    f" unknown {100 * row.notes.get('recall_unknown', 1):6.2f})"
                    f"  build {row.build_s:7.1f} s  mem {row.memory_mb:7.1f} MiB"
                    f"  enroll {row.enroll_ms:6.2f} ms  delete {row.delete_ms:7.2f} ms",
                    flush=True,
                )
    args.out.parent.mkdir(parents=True, exist_ok=True)
    report = {
        "lfw_people": len(data["names"]),
        "probes": len(probes),
        "probes_enrolled": ENROLLED["count"],
        "peak_rss_mb": round(rss_mb(), 1),
        "cpus": os.cpu_count(),
        "rows": [asdict(r) for r in rows],
    }
    args.out.write_text(json.dumps(report, indent=1))
    plot(rows, args.out.with_suffix(".png"))


if __name__ == "__main__":
    main()
