"""Several cameras in one process: a site file of cameras and their doors, run side by side.

One set of face models is loaded and shared by every door (behind one lock when the configured
engines are not thread-safe); each camera runs `run_door` on its own thread, so each door has its
own gate, tracker, liveness, policy, event sink and outputs. A camera that cannot be opened, ends
or raises is logged and the others go on; Ctrl-C or SIGTERM stops every loop, decides the tracks
still open and waits until every event is logged and sent.
"""

from __future__ import annotations

import logging
import signal
import threading
import tomllib
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from facegate.access_event import AccessEvent
from facegate.db_url import is_postgres_url
from facegate.door import run_door
from facegate.errors import FacegateError, SettingsError
from facegate.settings import Settings
from facegate.stream.loop import LoopStats, loop_pipeline
from facegate.stream.sources import parse_spec
from facegate.vision import FacePipeline
from facegate.vision.pipeline import is_thread_safe
from facegate.vision.types import Detector, Embedder, FaceBox

log = logging.getLogger(__name__)

# Settings sections a camera may change for its own door; the rest is the process's.
PER_CAMERA_SECTIONS = ("gate", "track", "select", "liveness", "source", "loop", "decide", "actions")
# Loop settings that shape the shared face models, and the door, which the camera names itself.
SITE_WIDE_LOOP_KEYS = ("detect_max_side", "tta_mirror", "door")


class SiteError(FacegateError):
    """A site file is unreadable or invalid."""

    code = "bad_site"


class CameraSpec(BaseModel):
    """One camera of a site file and the door it watches."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    door: str = Field(min_length=1, description="Name of the door this camera guards.")
    source: str = Field(min_length=1, description="Webcam index, video file or RTSP/HTTP URL.")
    realtime: bool = Field(False, description="Pace a file to its fps.")
    max_seconds: float | None = Field(None, gt=0, description="Stop after this much video.")
    events: Path | None = Field(None, description="Event log file (default: the site's).")
    webhooks: tuple[str, ...] = Field((), description="POST each decision here (+ settings).")
    mqtt: str | None = Field(None, description="MQTT broker URL (overrides settings).")
    command: str | None = Field(None, description="Command per decision (overrides settings).")
    settings: dict[str, dict[str, Any]] = Field(
        default_factory=dict, description="This door's changes to the per-camera sections."
    )

    @field_validator("source", mode="before")
    @classmethod
    def _index_as_text(cls, value: Any) -> Any:
        """Accept a webcam index written as a TOML integer."""
        return str(value) if isinstance(value, int) and not isinstance(value, bool) else value

    @field_validator("settings")
    @classmethod
    def _per_camera_only(cls, value: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
        """Refuse sections and loop keys that the whole process shares."""
        for section in value:
            if section not in PER_CAMERA_SECTIONS:
                raise ValueError(
                    f"[{section}] is not a per-camera section (those are "
                    f"{', '.join(PER_CAMERA_SECTIONS)}); set it in the settings file"
                )
        shared = sorted(set(value.get("loop", {})) & set(SITE_WIDE_LOOP_KEYS))
        if shared:
            raise ValueError(
                f"loop.{shared[0]} is the same for every camera (the door is the camera's own "
                "`door`; the others shape the shared face models)"
            )
        return value


class SiteSpec(BaseModel):
    """A site file: the gallery, the event log and the cameras with their doors."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    db: str | None = Field(None, description="Gallery: SQLite file or postgresql:// URL.")
    events: Path | None = Field(None, description="Event log file (default: the gallery's).")
    cameras: tuple[CameraSpec, ...] = Field(min_length=1, description="The [[cameras]] tables.")

    @model_validator(mode="after")
    def _one_camera_per_door(self) -> SiteSpec:
        """Refuse two cameras for the same door (their events could not be told apart)."""
        seen: set[str] = set()
        for camera in self.cameras:
            if camera.door in seen:
                raise ValueError(f"door {camera.door!r} is listed twice")
            seen.add(camera.door)
        return self


def _problems(exc: ValidationError) -> str:
    """Return a validation error as 'where: what' parts on one line."""
    parts = []
    for err in exc.errors():
        where = ".".join(str(p) for p in err["loc"]) or "site"
        what = "unknown key" if err["type"] == "extra_forbidden" else err["msg"]
        if err["type"] == "missing":
            what = "missing (required)"
        parts.append(f"{where}: {what.removeprefix('Value error, ')}")
    return "; ".join(parts)


def load_site(path: Path) -> SiteSpec:
    """Return the site file at path, validated; raise SiteError naming the file and the key."""
    try:
        data = tomllib.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise SiteError(f"cannot read site file {path}: {exc}") from exc
    try:
        spec = SiteSpec.model_validate(data)
    except ValidationError as exc:
        raise SiteError(f"invalid site file {path}: {_problems(exc)}") from exc
    return anchored(spec, Path(path).resolve().parent)


def _beside(base: Path, target: Path | None) -> Path | None:
    """Return a relative file path as a path under base (an absolute one or None as it is)."""
    return target if target is None or target.is_absolute() else base / target


def _source_beside(base: Path, source: str) -> str:
    """Return a relative video file source under base; a webcam index or URL as it is."""
    target, live = parse_spec(source)
    if live or Path(str(target)).is_absolute():
        return source
    return str(base / str(target))


def anchored(spec: SiteSpec, base: Path) -> SiteSpec:
    """Return the site with its relative file paths read from the site file's folder."""
    db = spec.db
    if db is not None and not is_postgres_url(db) and not Path(db).is_absolute():
        db = str(base / db)
    cameras = tuple(
        camera.model_copy(
            update={
                "source": _source_beside(base, camera.source),
                "events": _beside(base, camera.events),
            }
        )
        for camera in spec.cameras
    )
    return spec.model_copy(
        update={"db": db, "events": _beside(base, spec.events), "cameras": cameras}
    )


def _merged(base: dict[str, Any], changes: dict[str, Any]) -> dict[str, Any]:
    """Return base with changes applied key by key, nested tables merged."""
    out = dict(base)
    for key, value in changes.items():
        nested = isinstance(value, dict) and isinstance(out.get(key), dict)
        out[key] = _merged(out[key], value) if nested else value
    return out


def camera_settings(settings: Settings, camera: CameraSpec) -> Settings:
    """Return the settings of one camera's door: the site's, its own sections, its door name."""
    changes = _merged(camera.settings, {"loop": {"door": camera.door}})
    try:
        return Settings.model_validate(_merged(settings.model_dump(), changes))
    except ValidationError as exc:
        raise SettingsError(f"door {camera.door!r}: invalid settings: {_problems(exc)}") from exc


class _LockedDetector:
    """A detector that lets one thread in at a time."""

    def __init__(self, inner: Detector, lock: threading.Lock) -> None:
        self.name = inner.name
        self._inner, self._lock = inner, lock

    def detect(self, image: np.ndarray) -> list[FaceBox]:
        """Return the inner detector's faces, run under the lock."""
        with self._lock:
            return self._inner.detect(image)


class _LockedEmbedder:
    """An embedder that lets one thread in at a time."""

    def __init__(self, inner: Embedder, lock: threading.Lock) -> None:
        self.name, self.description = inner.name, inner.description
        self.dim, self.model_path = inner.dim, inner.model_path
        self._inner, self._lock = inner, lock

    def embed(self, chips: list[np.ndarray]) -> np.ndarray:
        """Return the inner embedder's vectors, run under the lock."""
        with self._lock:
            return self._inner.embed(chips)


def shared_pipeline(settings: Settings) -> FacePipeline:
    """Return the one loop pipeline every door uses (locked unless its engines are thread-safe)."""
    pipeline = loop_pipeline(settings)
    if is_thread_safe(pipeline.settings):
        return pipeline
    lock = threading.Lock()
    return FacePipeline(
        pipeline.settings,
        detector=_LockedDetector(pipeline.detector, lock),
        embedder=_LockedEmbedder(pipeline.embedder, lock),
    )


@dataclass
class DoorResult:
    """How one camera's door ended: its loop counters, or the error that stopped it."""

    door: str
    source: str
    stats: LoopStats | None = None
    error: str | None = None
    done: threading.Event = field(default_factory=threading.Event)  # set when the door ended


@contextmanager
def _stop_on_sigterm(stop: threading.Event) -> Iterator[None]:
    """Set stop on SIGTERM while inside (main thread only), then restore the old handler."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.signal(signal.SIGTERM, lambda _signum, _frame: stop.set())
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def run_site(
    site: SiteSpec,
    settings: Settings,
    show: Callable[[AccessEvent], None],
    db: str | None = None,
    stop: threading.Event | None = None,
) -> list[DoorResult]:
    """Run every camera of the site until each ends or stop / Ctrl-C / SIGTERM; return results.

    db: the gallery when the site file names none (else settings.db, else the default).
    """
    stop = stop or threading.Event()
    doors = [(camera, camera_settings(settings, camera)) for camera in site.cameras]
    pipeline = shared_pipeline(settings)
    printing = threading.Lock()

    def show_one(event: AccessEvent) -> None:
        """Print one decision at a time, whichever door made it."""
        with printing:
            show(event)

    def watch(camera: CameraSpec, door_settings: Settings, result: DoorResult) -> None:
        """Run one door; a failure is logged and kept in its result, never raised."""
        outputs = (camera.webhooks, camera.mqtt, camera.command)
        events = camera.events or site.events
        try:
            result.stats = run_door(
                door_settings,
                camera.source,
                site.db or db,
                events,
                outputs,
                show_one,
                camera.max_seconds,
                camera.realtime,
                pipeline=pipeline,
                stop=stop,
            )
        except FacegateError as exc:
            result.error = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
            log.error("facegate: door %s stopped: %s", camera.door, result.error)
        except Exception as exc:  # a camera must not take the others down
            result.error = f"{type(exc).__name__}: {exc}"
            log.exception("facegate: door %s stopped by an unexpected error", camera.door)
        finally:
            result.done.set()

    results = [DoorResult(camera.door, camera.source) for camera, _ in doors]
    threads = [
        threading.Thread(
            target=watch, args=(camera, door_settings, result), name=f"facegate-door-{camera.door}"
        )
        for (camera, door_settings), result in zip(doors, results, strict=True)
    ]
    with _stop_on_sigterm(stop):
        for thread in threads:
            thread.start()
        # Wait on each door's own event, never on Thread.join, until the doors are done: on
        # Python 3.11 a Ctrl-C inside Thread.join marks the thread stopped while it still runs,
        # so a later join returns at once and the process would exit before the doors flushed.
        try:
            for result in results:
                while not result.done.wait(0.5):
                    pass
        except KeyboardInterrupt:
            log.info("interrupted: stopping every door")
            stop.set()
        for result in results:
            result.done.wait()
        for thread in threads:
            thread.join()
    return results
