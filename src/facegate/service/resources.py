"""What request handlers share: settings, per-thread database connections, the vision lock."""

from __future__ import annotations

import logging
import threading
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass
from pathlib import Path

from facegate.access_event import now_iso
from facegate.actions import build_dispatcher
from facegate.actions.build import build_alarm_dispatcher
from facegate.actions.outbox import Outbox
from facegate.db_url import is_postgres_url
from facegate.gallery.access import AccessStore
from facegate.gallery.cache import CachedGallery, EmbeddingCache
from facegate.gallery.types import Gallery
from facegate.monitor.crops import CropStore, open_crop_store
from facegate.monitor.events import EventLog
from facegate.service.failures import FailureStore, open_failure_store
from facegate.service.keys import ApiKey, KeyStore
from facegate.service.rate_limit import FailureLimiter
from facegate.settings import Settings
from facegate.stores import open_access_store, open_event_log, open_gallery, open_key_store
from facegate.vision.pipeline import is_thread_safe

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ServicePaths:
    """The SQLite files or PostgreSQL URLs the service uses (they may all be one)."""

    gallery: str | Path
    events: str | Path
    keys: str | Path


class Resources:
    """Connections per worker thread (sqlite3 objects stay in their thread), shared locks.

    dlib's HOG detector gives wrong boxes when two threads run it at once (measured: 15 of 40
    concurrent detections differed), so every face-model call holds `vision_lock`; with the
    default YuNet + ONNX Runtime pipeline (thread-safe) that lock is a no-op, so one slow
    request no longer holds up every other door.
    """

    def __init__(self, settings: Settings, paths: ServicePaths) -> None:
        self.settings = settings
        self.paths = paths
        self.vision_lock: AbstractContextManager[object] = (
            nullcontext() if is_thread_safe(settings.vision) else threading.Lock()
        )
        self.event_lock = threading.Lock()
        self._local = threading.local()
        self.gallery()  # create the schemas now, so a bad path fails at start-up
        self.events()
        self.keys()
        postgres = is_postgres_url(paths.gallery)
        self.cache = None if postgres else EmbeddingCache(paths.gallery)
        self.policy_store()
        doors = settings.doors
        self.limiter = FailureLimiter(
            self.failures,
            doors.rate_limit_failures,
            doors.rate_limit_window_seconds,
            doors.rate_limit_stale_seconds,
            doors.rate_limit_poll_seconds,
        )
        self.failures()  # create the table now, so a bad database fails at start-up
        self.outbox = Outbox(build_dispatcher(settings.actions))
        self.alarms = Outbox(build_alarm_dispatcher(settings.alarms, settings.actions))

    def policy_store(self) -> AccessStore:
        """Return this thread's connection to the door rules and people's access records."""
        if not hasattr(self._local, "access"):
            self._local.access = open_access_store(self.paths.gallery, self.settings)
        return self._local.access

    def alarm(self, door: str, key: ApiKey, over: list[str]) -> None:
        """Raise the rate-limit alarm: a warning in the log and a notice to the alarm outputs."""
        message = f"ALARM rate_limited at door {door}: key {key.name!r} ({', '.join(over)})"
        log.warning(message)
        self.alarms.send(
            {
                "type": "alarm",
                "alarm": "rate_limited",
                "door": door,
                "key": key.name,
                "over": over,
                "time": now_iso(),
                "message": message,
            }
        )

    def gallery(self) -> Gallery:
        """Return this thread's gallery connection."""
        if not hasattr(self._local, "gallery"):
            self._local.gallery = open_gallery(self.paths.gallery, self.settings)
        return self._local.gallery

    def cached_gallery(self) -> Gallery:
        """Return this thread's gallery, everyone's SQLite vectors served from the shared cache.

        A PostgreSQL gallery is returned as it is: it searches in the database.
        """
        if self.cache is None:
            return self.gallery()
        return CachedGallery(self.gallery(), self.cache)

    def events(self) -> EventLog:
        """Return this thread's event log connection."""
        if not hasattr(self._local, "events"):
            self._local.events = open_event_log(self.paths.events, self.settings)
        return self._local.events

    def failures(self) -> FailureStore:
        """Return this thread's connection to the failed-attempt counts (beside the events)."""
        if not hasattr(self._local, "failures"):
            self._local.failures = open_failure_store(self.paths.events, self.settings)
        return self._local.failures

    def crops(self) -> CropStore:
        """Return this thread's connection to the event crops (beside the events)."""
        if not hasattr(self._local, "crops"):
            self._local.crops = open_crop_store(self.paths.events, self.settings.postgres)
        return self._local.crops

    def keys(self) -> KeyStore:
        """Return this thread's key store connection."""
        if not hasattr(self._local, "keys"):
            self._local.keys = open_key_store(self.paths.keys, self.settings)
        return self._local.keys
