"""The Python API: enroll, verify and identify people from images, as the CLI does."""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import platformdirs

from facegate import stores
from facegate.calibration import threshold_for_gallery
from facegate.decide import (
    IdentifyDecision,
    VerifyDecision,
    identify_embedding,
    verify_embedding,
)
from facegate.errors import GalleryError, NoFaceError
from facegate.gallery import EmbeddingRecord, PersonSummary, SQLiteGallery
from facegate.gallery.types import Gallery
from facegate.media import load_image
from facegate.settings import MediaSettings, Settings, VisionSettings, load_settings
from facegate.vision import FaceEncoding, FacePipeline
from facegate.vision.detect import FacePolicy

if TYPE_CHECKING:
    from facegate.gallery.postgres import PostgresGallery

ImageSource = str | Path | bytes | np.ndarray


def _round(value: float | None) -> float | None:
    """Return value rounded to 4 places, or None when missing or infinite."""
    return None if value is None or not np.isfinite(value) else round(value, 4)


@dataclass(frozen=True)
class VerifyResult(VerifyDecision):
    """A 1:1 verification of one image against a claimed person."""

    claimed: str
    face: FaceEncoding
    latency_ms: float

    def as_dict(self) -> dict[str, object]:
        """Return a JSON-ready dict."""
        return {
            "mode": "verify",
            "claimed": self.claimed,
            "accepted": self.accepted,
            "distance": _round(self.distance),
            "threshold": self.threshold,
            "box": self.face.box.as_list(),
            "quality": self.face.quality.as_dict(),
            "latency_ms": round(self.latency_ms, 1),
        }


@dataclass(frozen=True)
class IdentifyResult(IdentifyDecision):
    """A 1:N identification of one face: the person, or None for unknown."""

    face: FaceEncoding
    latency_ms: float

    def as_dict(self) -> dict[str, object]:
        """Return a JSON-ready dict."""
        return {
            "mode": "identify",
            "person": self.person,
            "known": self.person is not None,
            "distance": _round(self.distance),
            "threshold": self.threshold,
            "nearest": self.nearest,
            "runner_up": self.runner_up,
            "runner_up_distance": _round(self.runner_up_distance),
            "box": self.face.box.as_list(),
            "quality": self.face.quality.as_dict(),
            "latency_ms": round(self.latency_ms, 1),
        }


def default_db_path() -> Path:
    """Return the default gallery path in the user's data directory."""
    return Path(platformdirs.user_data_dir("facegate")) / "gallery.db"


def open_gallery(
    db: str | Path | None = None, settings: Settings | None = None
) -> SQLiteGallery | PostgresGallery:
    """Return the gallery at db (a SQLite file or a URL), else settings.db, else the default."""
    settings = settings or load_settings()
    return stores.open_gallery(db or settings.db or default_db_path(), settings)


@lru_cache(maxsize=4)
def get_pipeline(vision: VisionSettings) -> FacePipeline:
    """Return a face pipeline for these vision settings, built once and reused."""
    return FacePipeline(vision)


def to_image(source: ImageSource, media: MediaSettings) -> tuple[np.ndarray, str]:
    """Return (RGB array, a name for messages) from a path, bytes or an array."""
    if isinstance(source, np.ndarray):
        return source, "<array>"
    name = "<bytes>" if isinstance(source, bytes) else str(source)
    return load_image(source, media), name


def enroll(
    gallery: Gallery,
    name: str,
    images: Sequence[ImageSource],
    consent: str = "",
    add: bool = False,
    settings: Settings | None = None,
) -> PersonSummary:
    """Enroll a person from images, all or nothing; return the stored person."""
    settings = settings or load_settings()
    pipeline = get_pipeline(settings.vision)
    if not images:
        raise ValueError("enrollment needs at least one image")
    records = []
    for source in images:
        image, label = to_image(source, settings.media)
        face = pipeline.encode_for_enrollment(image, label)
        records.append(
            EmbeddingRecord(
                vector=face.embedding,
                model=pipeline.embedder.name,
                source=label,
                face_px=face.quality.face_px,
                sharpness=face.quality.sharpness,
                brightness=face.quality.brightness,
            )
        )
    return gallery.add_person(name, records, consent=consent, extend=add)


def _probe_faces(
    image_source: ImageSource, settings: Settings, policy: FacePolicy | None = None
) -> list[FaceEncoding]:
    """Return the faces of a probe image per the multi-face policy; raise when none."""
    image, label = to_image(image_source, settings.media)
    faces = get_pipeline(settings.vision).encode(image, policy)
    if not faces:
        raise NoFaceError(f"{label}: no face found")
    return faces


def verify(
    gallery: Gallery, name: str, image: ImageSource, settings: Settings | None = None
) -> VerifyResult:
    """Return whether the largest face in the image is the claimed, enrolled person (1:1)."""
    settings = settings or load_settings()
    start = time.perf_counter()
    gallery.get_person(name)
    model = get_pipeline(settings.vision).embedder.name
    claimed = gallery.embeddings(model, name)
    if len(claimed) == 0:
        raise GalleryError(f"{name!r} has no embeddings of model {model}; enroll again")
    face = _probe_faces(image, settings, "largest")[0]
    decision = verify_embedding(face.embedding, claimed, settings.decide.threshold)
    latency = (time.perf_counter() - start) * 1000
    return VerifyResult(**asdict(decision), claimed=name, face=face, latency_ms=latency)


def identify(
    gallery: Gallery,
    image: ImageSource,
    settings: Settings | None = None,
    policy: FacePolicy | None = None,
) -> list[IdentifyResult]:
    """Return who each face in the image is (largest only, or all per policy), None for unknown."""
    settings = settings or load_settings()
    start = time.perf_counter()
    embedder = get_pipeline(settings.vision).embedder
    enrolled = gallery.embeddings(embedder.name)
    threshold = threshold_for_gallery(
        settings.decide, len(enrolled), embedder.name, embedder.model_path
    )
    results = []
    for face in _probe_faces(image, settings, policy):
        decision = identify_embedding(
            face.embedding, enrolled, threshold, settings.decide.identify_k
        )
        latency = (time.perf_counter() - start) * 1000
        results.append(IdentifyResult(**asdict(decision), face=face, latency_ms=latency))
    return results
