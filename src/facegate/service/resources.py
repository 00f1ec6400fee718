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
from facegate.gallery import SQLiteGallery
from facegate.gallery.access import SQLiteAccessStore
from facegate.gallery.cache import CachedGallery, EmbeddingCache
from facegate.monitor.events import EventLog
from facegate.service.keys import ApiKey, KeyStore
from facegate.service.rate_limit import FailureLimiter
from facegate.settings import Settings
from facegate.vision.pipeline import is_thread_safe

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ServicePaths:
    """The SQLite files the service uses (they may all be one file)."""

    gallery: Path
    events: Path
    keys: Path


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
        self.cache = EmbeddingCache(paths.gallery)
        self.policy_store()
        doors = settings.doors
        self.limiter = FailureLimiter(doors.rate_limit_failures, doors.rate_limit_window_seconds)
        self.outbox = Outbox(build_dispatcher(settings.actions))
        self.alarms = Outbox(build_alarm_dispatcher(settings.alarms, settings.actions))

    def policy_store(self) -> SQLiteAccessStore:
        """Return this thread's connection to the door rules and people's access records."""
        if not hasattr(self._local, "access"):
            self._local.access = SQLiteAccessStore(self.paths.gallery)
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

    def gallery(self) -> SQLiteGallery:
        """Return this thread's gallery connection."""
        if not hasattr(self._local, "gallery"):
            self._local.gallery = SQLiteGallery(self.paths.gallery)
        return self._local.gallery

    def cached_gallery(self) -> CachedGallery:
        """Return this thread's gallery with everyone's vectors served from the shared cache."""
        return CachedGallery(self.gallery(), self.cache)

    def events(self) -> EventLog:
        """Return this thread's event log connection."""
        if not hasattr(self._local, "events"):
            self._local.events = EventLog(self.paths.events)
        return self._local.events

    def keys(self) -> KeyStore:
        """Return this thread's key store connection."""
        if not hasattr(self._local, "keys"):
            self._local.keys = KeyStore(self.paths.keys)
        return self._local.keys
