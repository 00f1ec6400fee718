"""The built-in demo: enroll people from shipped public-domain photos, then verify and identify."""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from pathlib import Path

import cv2
import numpy as np

from facegate import api
from facegate.gallery import SQLiteGallery
from facegate.media import encode_jpeg
from facegate.settings import Settings, load_settings
from facegate.stream.subjects import SUBJECTS


def make_views(
    image: np.ndarray, region: tuple[int, int, int, int], count: int, seed: int
) -> list[np.ndarray]:
    """Return count varied photos of a head: shifted crops, scale, small rotation, exposure."""
    rng = np.random.default_rng(seed)
    top, bottom, left, right = region
    views = []
    for _ in range(count):
        dy, dx = rng.integers(-15, 16, size=2)
        crop = image[max(0, top + dy) : bottom + dy, max(0, left + dx) : right + dx]
        scale = rng.uniform(0.8, 1.3)
        crop = cv2.resize(crop, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
        height, width = crop.shape[:2]
        matrix = cv2.getRotationMatrix2D((width / 2, height / 2), rng.uniform(-8, 8), 1.0)
        crop = cv2.warpAffine(crop, matrix, (width, height), borderMode=cv2.BORDER_REFLECT)
        gain, bias = rng.uniform(0.75, 1.2), rng.uniform(-20, 20)
        views.append(np.clip(crop.astype(np.float32) * gain + bias, 0, 255).astype(np.uint8))
    return views


def write_views(folder: Path, name: str, views: list[np.ndarray]) -> list[Path]:
    """Write views as JPEG files named after the person and return their paths."""
    paths = []
    for index, view in enumerate(views):
        path = folder / f"{name.replace(' ', '_')}_{index}.jpg"
        path.write_bytes(encode_jpeg(view))
        paths.append(path)
    return paths


def enroll_scene_people(gallery: SQLiteGallery, folder: Path, settings: Settings) -> list[str]:
    """Enroll the demo scene's resident (Eileen Collins; Grace Hopper stays a stranger)."""
    loader, region = SUBJECTS["Eileen Collins"]
    photos = write_views(folder, "Eileen Collins", make_views(loader(), region, count=3, seed=0))
    consent = "demo: generated from a public-domain NASA photo"
    api.enroll(gallery, "Eileen Collins", photos, consent, settings=settings)
    return ["Eileen Collins"]


def run_demo(
    db: Path | None = None, settings: Settings | None = None
) -> Iterator[dict[str, object]]:
    """Yield the demo's steps as dicts with a human 'text' line and the decision's fields."""
    settings = settings or load_settings()
    with tempfile.TemporaryDirectory(prefix="facegate-demo-") as tmp:
        folder = Path(tmp)
        photos = {}
        for seed, (name, (loader, region)) in enumerate(SUBJECTS.items()):
            views = make_views(loader(), region, count=4, seed=seed)
            photos[name] = write_views(folder, name, views)
        yield {
            "step": "generated",
            "text": f"generated 4 photos each of {', '.join(photos)} in {folder}",
        }
        with SQLiteGallery(db or folder / "demo.db") as gallery:
            collins, hopper = photos["Eileen Collins"], photos["Grace Hopper"]
            yield _enroll(gallery, "Eileen Collins", collins[:3], "NASA", settings)
            yield _verify(gallery, "Eileen Collins", collins[3], settings)
            yield _verify(gallery, "Eileen Collins", hopper[3], settings)
            yield _identify(gallery, hopper[3], settings)
            yield _enroll(gallery, "Grace Hopper", hopper[:3], "US Navy", settings)
            yield _identify(gallery, hopper[3], settings)
            yield _identify(gallery, collins[3], settings)


def _enroll(
    gallery: SQLiteGallery, name: str, photos: list[Path], source: str, settings: Settings
) -> dict[str, object]:
    """Return the demo step that enrolls a person from photos."""
    consent = f"demo: generated from a public-domain {source} photo"
    person = api.enroll(gallery, name, photos, consent, settings=settings)
    return {
        "step": "enroll",
        "person": person.name,
        "embeddings": person.embeddings,
        "text": f"enroll   {person.name} from {len(photos)} photos",
    }


def _verify(
    gallery: SQLiteGallery, claimed: str, photo: Path, settings: Settings
) -> dict[str, object]:
    """Return one verify decision as a demo step."""
    result = api.verify(gallery, claimed, photo, settings)
    verdict = "ACCEPTED" if result.accepted else "REJECTED"
    return {
        "step": "verify",
        "photo": photo.name,
        **result.as_dict(),
        "text": f"verify   {photo.name} as {claimed}: {verdict} (distance {result.distance:.3f}, "
        f"threshold {result.threshold:.3f}, {result.latency_ms:.0f} ms)",
    }


def _identify(gallery: SQLiteGallery, photo: Path, settings: Settings) -> dict[str, object]:
    """Return the identify decision for a photo's largest face as a demo step."""
    result = api.identify(gallery, photo, settings)[0]
    who = result.person or "unknown"
    return {
        "step": "identify",
        "photo": photo.name,
        **result.as_dict(),
        "text": f"identify {photo.name}: {who} (nearest {result.nearest} at distance "
        f"{result.distance:.3f}, threshold {result.threshold:.3f}, {result.latency_ms:.0f} ms)",
    }
