"""Door checks over HTTP: decode, decide under the vision lock, number the attempt, log it."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from typing import BinaryIO

import numpy as np

from facegate import api
from facegate.access_event import AccessEvent, now_iso
from facegate.errors import FacegateError
from facegate.media import load_image
from facegate.service.resources import Resources
from facegate.service.schemas import Decision, FaceQuality
from facegate.vision import FaceEncoding


def read_image(upload: BinaryIO, resources: Resources) -> np.ndarray:
    """Return the RGB array of one uploaded image, read at most one byte past the size limit."""
    media = resources.settings.media
    return load_image(upload.read(media.max_bytes + 1), media)


@contextmanager
def relabelled(label: str) -> Iterator[None]:
    """Re-raise facegate errors naming `label` instead of the API's '<array>'."""
    try:
        yield
    except FacegateError as exc:
        exc.args = tuple(str(a).replace("<array>", label) for a in exc.args)
        raise


def _decision(
    resources: Resources, event: AccessEvent, face: FaceEncoding, started: float
) -> Decision:
    """Number the event's attempt, log it, and return the decision the client sees."""
    event = replace(event, latency_ms=(time.perf_counter() - started) * 1e3)
    key = event.person or event.claimed
    with resources.event_lock:
        log = resources.events()
        if key is not None:
            window = resources.settings.loop.attempt_window_seconds
            event = replace(event, attempt=log.attempt_number(event.door, key, event.time, window))
        log.append(event)
    return Decision(
        mode=event.mode,  # type: ignore[arg-type]
        door=event.door,
        decision=event.decision,  # type: ignore[arg-type]
        person=event.person,
        claimed=event.claimed,
        distance=event.distance,
        threshold=event.threshold,
        box=face.box.as_list(),
        quality=FaceQuality(**face.quality.as_dict()),
        latency_ms=round(event.latency_ms, 1),
        attempt=event.attempt,
        time=event.time,
    )


def _finite(value: float) -> float | None:
    """Return the value, or None when it is not finite (no one to compare with)."""
    return float(value) if np.isfinite(value) else None


def verify(resources: Resources, door: str, name: str, upload: BinaryIO) -> Decision:
    """Check the image against the claimed person (key card), log and return the decision."""
    started = time.perf_counter()
    settings = resources.settings
    with relabelled("image"):
        image = read_image(upload, resources)
        with resources.vision_lock:
            result = api.verify(resources.gallery(), name, image, settings)
    event = AccessEvent(
        time=now_iso(),
        door=door,
        mode="verify",
        track=None,
        claimed=name,
        decision="unlock" if result.accepted else "deny",
        person=name if result.accepted else None,
        distance=_finite(result.distance),
        threshold=result.threshold,
        frames_used=1,
        face_quality={**result.face.quality.as_dict(), "box": result.face.box.as_list()},
    )
    return _decision(resources, event, result.face, started)


def identify(resources: Resources, door: str, upload: BinaryIO) -> Decision:
    """Find who the largest face is (door check, 1:N threshold), log and return the decision."""
    started = time.perf_counter()
    settings = resources.settings
    with relabelled("image"):
        image = read_image(upload, resources)
        with resources.vision_lock:
            result = api.identify(resources.cached_gallery(), image, settings, "largest")[0]
    event = AccessEvent(
        time=now_iso(),
        door=door,
        mode="identify",
        track=None,
        claimed=None,
        decision="unlock" if result.person else "deny",
        person=result.person,
        distance=_finite(result.distance),
        threshold=result.threshold,
        frames_used=1,
        face_quality={**result.face.quality.as_dict(), "box": result.face.box.as_list()},
    )
    return _decision(resources, event, result.face, started)
