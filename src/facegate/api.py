"""The Python API: enroll, verify and identify people from images, as the CLI does."""

from __future__ import annotations

import math
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass, replace
from datetime import datetime
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import platformdirs

from facegate import stores
from facegate.access import DoorPolicy, operating_point
from facegate.access_event import AccessEvent, now_iso
from facegate.decide.match import (
    IdentifyDecision,
    VerifyDecision,
    verify_embedding,
)
from facegate.decide.policy import Match
from facegate.decide.rules import DoorRules, group_name
from facegate.decide.search import identify_in
from facegate.decide.threshold import threshold_for_gallery
from facegate.errors import GalleryError, NoFaceError
from facegate.gallery import EmbeddingRecord, PersonSummary, SQLiteGallery
from facegate.gallery.access import AccessStore
from facegate.gallery.names import person_name
from facegate.gallery.types import Gallery
from facegate.media import load_image
from facegate.monitor.crops import forget_person_crops
from facegate.monitor.events import EventLog
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
    groups: Sequence[str] = (),
    store: AccessStore | None = None,
) -> PersonSummary:
    """Enroll a person from images, all or nothing; return the stored person.

    groups: door groups the person joins (added to any they have), kept in the access store.
    """
    settings = settings or load_settings()
    pipeline = get_pipeline(settings.vision)
    name = person_name(name)  # refuse a bad name or group before any face work
    wanted = [group_name(g) for g in groups]
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
    person = gallery.add_person(name, records, consent=consent, extend=add)
    if groups:
        if store is None:
            raise ValueError("groups need the access store")
        current = store.person_access(person.name)
        joined = current.groups | set(wanted)
        store.set_person_access(person.name, replace(current, groups=frozenset(joined)))
    return person


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
    threshold = threshold_for_gallery(
        settings.decide, gallery.count(embedder.name), embedder.name, embedder.model_path
    )
    results = []
    for face in _probe_faces(image, settings, policy):
        decision = identify_in(
            gallery, embedder.name, face.embedding, threshold, settings.decide.identify_k
        )
        latency = (time.perf_counter() - start) * 1000
        results.append(IdentifyResult(**asdict(decision), face=face, latency_ms=latency))
    return results


@dataclass(frozen=True)
class DoorCheck:
    """One image checked at a door: the match, the door's decision and its reason."""

    mode: str
    door: str
    claimed: str | None
    decision: str
    reason: str
    person: str | None
    distance: float
    threshold: float
    face: FaceEncoding
    policy_version: int
    latency_ms: float

    def as_dict(self, detail: bool = True) -> dict[str, object]:
        """Return a JSON-ready dict; without detail only the decision and its reason."""
        brief: dict[str, object] = {
            "mode": self.mode,
            "door": self.door,
            "decision": self.decision,
            "reason": self.reason,
        }
        if not detail:
            return brief
        return {
            **brief,
            "person": self.person,
            "claimed": self.claimed,
            "distance": _round(self.distance),
            "threshold": self.threshold,
            "policy_version": self.policy_version,
            "box": self.face.box.as_list(),
            "quality": self.face.quality.as_dict(),
            "latency_ms": round(self.latency_ms, 1),
        }

    def event(self) -> AccessEvent:
        """Return the access event that records this check."""
        return AccessEvent(
            time=now_iso(),
            door=self.door,
            mode=self.mode,
            track=None,
            claimed=self.claimed,
            decision=self.decision,
            person=self.person,
            distance=_round(self.distance),
            threshold=self.threshold,
            frames_used=1,
            face_quality={**self.face.quality.as_dict(), "box": self.face.box.as_list()},
            latency_ms=self.latency_ms,
            reason=self.reason,
            policy_version=self.policy_version,
        )


def check_identify(
    gallery: Gallery,
    store: AccessStore | None,
    door: str,
    image: ImageSource,
    settings: Settings,
    when: datetime | None = None,
) -> DoorCheck:
    """Identify the largest face against everyone enrolled, then apply the door's rules."""
    start = time.perf_counter()
    policy = DoorPolicy(store, door, "identify", settings)
    embedder = get_pipeline(settings.vision).embedder
    threshold = policy.threshold(gallery.count(embedder.name), embedder.name, embedder.model_path)
    face = _probe_faces(image, settings, "largest")[0]
    found = identify_in(
        gallery, embedder.name, face.embedding, threshold, settings.decide.identify_k
    )
    verdict = policy.decide(Match(found.person, found.distance, threshold), None, when)
    return DoorCheck(
        "identify",
        door,
        None,
        verdict.decision,
        verdict.reason,
        verdict.person,
        found.distance,
        threshold,
        face,
        policy.rules.version,
        (time.perf_counter() - start) * 1000,
    )


def check_verify(
    gallery: Gallery,
    store: AccessStore | None,
    door: str,
    name: str,
    image: ImageSource,
    settings: Settings,
    when: datetime | None = None,
) -> DoorCheck:
    """Verify the largest face against the claimed person, then apply the door's rules.

    A claim of someone not enrolled is answered like any failed match (reason `unknown`),
    after the same face work, so a caller cannot tell who is enrolled.
    """
    start = time.perf_counter()
    policy = DoorPolicy(store, door, "verify", settings)
    embedder = get_pipeline(settings.vision).embedder
    face = _probe_faces(image, settings, "largest")[0]
    claimed = gallery.embeddings(embedder.name, name)
    threshold = policy.threshold(len(claimed), embedder.name, embedder.model_path)
    distance = (
        verify_embedding(face.embedding, claimed, threshold).distance if len(claimed) else math.inf
    )
    person = name if distance <= threshold else None
    verdict = policy.decide(Match(person, distance, threshold), None, when)
    return DoorCheck(
        "verify",
        door,
        name,
        verdict.decision,
        verdict.reason,
        verdict.person,
        distance,
        threshold,
        face,
        policy.rules.version,
        (time.perf_counter() - start) * 1000,
    )


def tombstone(person: PersonSummary) -> str:
    """Return the id that replaces a removed person's name in the event log."""
    return f"removed-person-{person.id}"


def remove_person(gallery: Gallery, name: str, events: EventLog | None) -> PersonSummary:
    """Remove a person and every trace: gallery rows, groups, their events' crops and name."""
    person = gallery.remove_person(name)
    if events is not None:
        forget_person_crops(events, person.name)
        events.forget_person(person.name, tombstone(person))
    return person


def describe_door(
    gallery: Gallery, store: AccessStore, rules: DoorRules, settings: Settings
) -> dict[str, object]:
    """Return a door's rules with its threshold and expected rates at today's gallery size."""
    embedder = get_pipeline(settings.vision).embedder
    vectors = len(gallery.embeddings(embedder.name))
    policy = DoorPolicy(store, rules.name, rules.mode, settings)
    threshold = policy.threshold(vectors, embedder.name, embedder.model_path)
    point = operating_point(rules, threshold, vectors, embedder.name, embedder.model_path)
    return {**rules.as_dict(), "gallery_vectors": vectors, **point}
