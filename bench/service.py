"""The HTTP service's speed: /v1/verify and /v1/identify against a 1,000-person gallery.

One image each of 1,000 LFW people (those with at least two images, by name) is embedded once
with the default pipeline (cached in out/), and the vectors are stored in a fresh gallery. Each
person's second image is a probe: verify claims its person, identify searches all 1,000. The
same probes go through the bare in-process `api.verify` / `api.identify` (one thread, a plain
SQLiteGallery, which reads all vectors on every identify; the service caches them) and through
`facegate serve` in a subprocess, at concurrency 1 (each probe to the API, then to the server,
in turn, so load from other processes hits both alike) and 8 (threads, one HTTP client each);
every probe is sent twice per run. Latency is measured by the client, from send to parsed answer.

    python bench/service.py [--probes 40] [--workers 2] [--config old.toml --label before]
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import numpy as np
from rich.console import Console
from rich.table import Table

from facegate import api
from facegate.evaluate.runner import embed_images
from facegate.gallery import EmbeddingRecord, SQLiteGallery
from facegate.service.keys import KeyStore
from facegate.settings import Settings, load_settings

ROOT = Path(__file__).resolve().parents[1]
DATA = Path(os.environ.get("FACEGATE_DATA", ROOT.parent / "shared" / "datasets"))
GALLERY_PEOPLE = 1000
CONCURRENCY = (1, 8)
MODES = ("verify", "identify")


def people_with_two_images(images: Path, count: int) -> list[str]:
    """Return the first `count` LFW people (by name) who have at least two images."""
    names = sorted(p.name for p in images.iterdir() if (p / f"{p.name}_0002.jpg").exists())
    return names[:count]


def gallery_vectors(
    images: Path, names: list[str], cache: Path, workers: int
) -> dict[str, np.ndarray]:
    """Return each person's first-image embedding, computed once and cached in an npz file."""
    if cache.exists():
        with np.load(cache) as stored:
            return {name: stored[name] for name in stored.files if name in names}
    paths = {images / n / f"{n}_0001.jpg": n for n in names}
    embedded = embed_images(list(paths), load_settings(environ={}), workers, "center")
    vectors = {paths[p]: e.vector for p, e in embedded.items() if e.vector is not None}
    cache.parent.mkdir(parents=True, exist_ok=True)
    np.savez(cache, **vectors)
    return vectors


def build_gallery(path: Path, vectors: dict[str, np.ndarray], model: str) -> None:
    """Store one vector per person in a new gallery."""
    with SQLiteGallery(path) as gallery:
        for name, vector in vectors.items():
            record = EmbeddingRecord(vector, model, f"lfw/{name}_0001.jpg", 100, 50.0, 120.0)
            gallery.add_person(name, [record], consent="LFW, research use (benchmark)")


def percentiles(ms: list[float]) -> dict[str, float]:
    """Return p50 and p95 of latencies in ms."""
    return {
        "p50_ms": round(float(np.percentile(ms, 50)), 1),
        "p95_ms": round(float(np.percentile(ms, 95)), 1),
    }


def stats(times: list[float]) -> dict[str, float]:
    """Return p50, p95 and calls per second of back-to-back calls of these latencies (ms)."""
    return {**percentiles(times), "per_s": round(1000 / statistics.mean(times), 2)}


def paired_timings(
    db: Path,
    url: str,
    token: str,
    mode: str,
    probes: list[tuple[str, bytes]],
    settings: Settings,
) -> tuple[dict[str, float], dict[str, float]]:
    """Return (bare, served) latency at concurrency 1, each probe sent to the API then the server.

    Interleaving the two keeps load from other processes on the machine out of their ratio.
    """
    bare: list[float] = []
    served: list[float] = []
    headers = {"Authorization": f"Bearer {token}"}
    with SQLiteGallery(db) as gallery, httpx.Client(base_url=url, headers=headers) as client:
        for name, data in probes:
            start = time.perf_counter()
            if mode == "verify":
                api.verify(gallery, name, data, settings)
            else:
                api.identify(gallery, data, settings)
            bare.append((time.perf_counter() - start) * 1000)
            form = {"door": "bench"} | ({"person": name} if mode == "verify" else {})
            start = time.perf_counter()
            response = client.post(f"/v1/{mode}", data=form, files={"image": ("p.jpg", data)})
            response.raise_for_status()
            response.json()
            served.append((time.perf_counter() - start) * 1000)
    return stats(bare), {**stats(served), "requests": len(probes)}


def vector_load_ms(db: Path, model: str, rounds: int = 20) -> float:
    """Return the mean time to read every vector of the gallery (what bare identify pays)."""
    with SQLiteGallery(db) as gallery:
        start = time.perf_counter()
        for _ in range(rounds):
            gallery.embeddings(model)
        return round((time.perf_counter() - start) * 1000 / rounds, 2)


def free_port() -> int:
    """Return a TCP port nobody listens on now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def start_server(db: Path, log: Path, config: Path | None) -> tuple[subprocess.Popen, str]:
    """Start `facegate serve` on the gallery and return it with its URL once it answers."""
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("FACEGATE_")}
    command = [sys.executable, "-m", "facegate", "serve", "--port", str(port), "--db", str(db)]
    command += ["--config", str(config)] if config else []
    proc = subprocess.Popen(command, stdout=log.open("w"), stderr=subprocess.STDOUT, env=env)
    url = f"http://127.0.0.1:{port}"
    for _ in range(300):
        try:
            if httpx.get(url + "/healthz", timeout=2).status_code == 200:
                return proc, url
        except httpx.TransportError:
            time.sleep(0.2)
    proc.kill()
    raise RuntimeError(f"server did not start:\n{log.read_text()}")


def http_run(
    url: str, token: str, mode: str, probes: list[tuple[str, bytes]], concurrency: int
) -> dict[str, float]:
    """Send every probe (concurrency threads, one client each); return latency and throughput."""
    local = threading.local()
    opened: list[httpx.Client] = []

    def client() -> httpx.Client:
        if not hasattr(local, "client"):
            headers = {"Authorization": f"Bearer {token}"}
            local.client = httpx.Client(base_url=url, headers=headers, timeout=120)
            opened.append(local.client)
        return local.client

    def one(item: tuple[str, bytes]) -> float:
        name, data = item
        form = {"door": "bench"} | ({"person": name} if mode == "verify" else {})
        start = time.perf_counter()
        response = client().post(f"/v1/{mode}", data=form, files={"image": ("p.jpg", data)})
        response.json()
        elapsed = (time.perf_counter() - start) * 1000
        if response.status_code != 200:
            raise RuntimeError(f"{mode}: {response.status_code} {response.text}")
        return elapsed

    start = time.perf_counter()
    with ThreadPoolExecutor(concurrency) as pool:
        times = list(pool.map(one, probes))
    wall = time.perf_counter() - start
    for each in opened:
        each.close()
    return {**percentiles(times), "per_s": round(len(probes) / wall, 2), "requests": len(probes)}


def main() -> None:
    """Run the benchmark, print the table and write bench/results/service.json."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--probes", type=int, default=40, help="Probe images per run.")
    parser.add_argument("--workers", type=int, default=2, help="Processes embedding the gallery.")
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "results")
    parser.add_argument(
        "--config", type=Path, help="Settings TOML for the API and the server (e.g. the old path)."
    )
    parser.add_argument("--label", default="", help="Writes service-LABEL.json instead.")
    args = parser.parse_args()
    settings = load_settings(args.config, environ={})
    images = DATA / "lfw" / "images"
    names = people_with_two_images(images, GALLERY_PEOPLE)
    model = api.get_pipeline(load_settings(environ={}).vision).embedder.name
    vectors = gallery_vectors(images, names, ROOT / "out" / "service_gallery.npz", args.workers)
    probe_names = [n for n in names if n in vectors][: args.probes]
    probes = [(n, (images / n / f"{n}_0002.jpg").read_bytes()) for n in probe_names]
    with tempfile.TemporaryDirectory(prefix="facegate-bench-") as tmp:
        db = Path(tmp) / "gallery.db"
        build_gallery(db, vectors, model)
        load_ms = vector_load_ms(db, model)
        with KeyStore(db) as store:
            token = store.create("bench", ["door"])[1]
        proc, url = start_server(db, Path(tmp) / "server.log", args.config)
        try:
            for mode in MODES:  # warm up both sides: models loaded, vectors cached
                paired_timings(db, url, token, mode, probes[:2], settings)
            bare, served = {}, {}
            for mode in MODES:
                bare[mode], one = paired_timings(db, url, token, mode, probes * 2, settings)
                served[mode] = {1: one, 8: http_run(url, token, mode, probes * 2, 8)}
        finally:
            proc.terminate()
            proc.wait(timeout=30)
    rows = []
    for mode in MODES:
        for c in CONCURRENCY:
            run = served[mode][c]
            rows.append(
                {
                    "endpoint": f"/v1/{mode}",
                    "concurrency": c,
                    **run,
                    "bare_p50_ms": bare[mode]["p50_ms"],
                    "bare_per_s": bare[mode]["per_s"],
                    "p50_ratio": round(run["p50_ms"] / bare[mode]["p50_ms"], 2),
                    "throughput_ratio": round(run["per_s"] / bare[mode]["per_s"], 2),
                }
            )
    table = Table(
        "endpoint",
        "conc.",
        "req/s",
        "p50 ms",
        "p95 ms",
        "bare p50 ms",
        "bare /s",
        "p50 / bare",
        "req/s / bare",
        title=f"facegate serve, gallery of {len(vectors)} people, {len(probes)} probes",
    )
    for r in rows:
        table.add_row(
            r["endpoint"],
            str(r["concurrency"]),
            f"{r['per_s']:.2f}",
            f"{r['p50_ms']:.0f}",
            f"{r['p95_ms']:.0f}",
            f"{r['bare_p50_ms']:.0f}",
            f"{r['bare_per_s']:.2f}",
            f"{r['p50_ratio']:.2f}",
            f"{r['throughput_ratio']:.2f}",
        )
    Console(width=130).print(table)
    print(f"bare identify reads all {len(vectors)} vectors per call: {load_ms} ms of its time")
    result = {
        "gallery_people": len(vectors),
        "probes": len(probes),
        "cpus": os.cpu_count(),
        "bare": bare,
        "bare_vector_load_ms": load_ms,
        "config": str(args.config) if args.config else None,
        "vision": settings.vision.model_dump(mode="json"),
        "rows": rows,
    }
    args.out.mkdir(parents=True, exist_ok=True)
    name = f"service-{args.label}.json" if args.label else "service.json"
    (args.out / name).write_text(json.dumps(result, indent=2) + "\n")


if __name__ == "__main__":
    main()
