"""Running a door: the access loop over a source, events to the log, outputs off the hot path."""

from __future__ import annotations

import logging
import queue
import tempfile
import threading
from collections.abc import Callable, Sequence
from dataclasses import replace
from pathlib import Path

import numpy as np

from facegate.access_event import AccessEvent
from facegate.actions import build_dispatcher
from facegate.actions.ha_discovery import DoorPresence, announce_door
from facegate.actions.outputs import Dispatcher
from facegate.api import default_db_path, open_gallery
from facegate.db_exists import require_database
from facegate.demo import enroll_scene_people
from facegate.gallery.cache import in_memory
from facegate.monitor.crops import CropKeeper, crops_beside
from facegate.monitor.events import EventLog
from facegate.settings import Settings
from facegate.stores import access_store_of, event_log_of, open_event_log
from facegate.stream.loop import AccessLoop, LoopStats
from facegate.stream.sources import FrameSource, open_source, parse_spec
from facegate.vision import FacePipeline

log = logging.getLogger(__name__)


class EventSink:
    """Numbers attempts, logs each event, and hands it to the outputs on a worker thread."""

    def __init__(
        self,
        events: EventLog,
        dispatcher: Dispatcher | None,
        attempt_window_s: float,
        on_event: Callable[[AccessEvent], None] | None = None,
        crops: CropKeeper | None = None,
    ) -> None:
        self.events = events
        self.crops = crops
        self.chip: np.ndarray | None = None  # the decided track's best chip (crops on)
        self.dispatcher = dispatcher
        self.attempt_window_s = attempt_window_s
        self.on_event = on_event
        self.position: float | None = None  # the video position of the frame being processed
        self._queue: queue.Queue[AccessEvent | None] = queue.Queue()
        self._worker = threading.Thread(target=self._drain, name="facegate-outputs", daemon=True)
        self._worker.start()

    def __call__(self, event: AccessEvent) -> None:
        """Record one decision: attempt number, event log, printout, then the outputs."""
        if self.position is not None:
            event = replace(event, video_s=self.position)
        key = event.person or event.claimed
        if key is not None:
            attempt = self.events.attempt_number(event.door, key, event.time, self.attempt_window_s)
            event = replace(event, attempt=attempt)
        event_id = self.events.append(event)
        if self.crops is not None and self.chip is not None:
            self.crops.keep(event_id, self.chip)
        self.chip = None
        if self.on_event is not None:
            self.on_event(event)
        self._queue.put(event)

    def hold_chip(self, chip: np.ndarray) -> None:
        """Note the chip of the decision the loop is about to hand over (stored as its crop)."""
        self.chip = chip

    def at_position(self, seconds: float) -> None:
        """Note the video position of the frame the loop is about to process."""
        self.position = seconds

    def _drain(self) -> None:
        """Send queued events to the outputs until told to stop."""
        while (event := self._queue.get()) is not None:
            if self.dispatcher is not None:
                self.dispatcher.dispatch(event.as_dict())

    def close(self) -> None:
        """Wait until every queued event has been sent, then stop the worker."""
        self._queue.put(None)
        self._worker.join()


def run_loop(
    source: FrameSource,
    loop: AccessLoop,
    max_seconds: float | None = None,
    on_frame: Callable[[float], None] | None = None,
    stop: threading.Event | None = None,
) -> LoopStats:
    """Feed every frame of the source to the loop until it ends, max_seconds, Ctrl-C or stop.

    on_frame: called with each frame's timestamp before the loop sees it.
    """
    last = 0.0
    start: float | None = None
    try:
        for timestamp, frame in source:
            start = timestamp if start is None else start
            if max_seconds is not None and timestamp - start > max_seconds:
                break
            if on_frame is not None:
                on_frame(timestamp)
            if stop is not None and stop.is_set():
                break
            loop.process(frame, timestamp)
            last = timestamp
    except KeyboardInterrupt:
        log.info("interrupted: deciding open tracks and stopping")
    finally:
        loop.flush(last)
        source.close()
    return loop.stats


def is_live(source: str | None) -> bool:
    """Return True for a camera or stream (no video position), False for a file or the scene."""
    return source is not None and parse_spec(source)[1]


def run_door(
    settings: Settings,
    source: str | None,
    db: str | None,
    events: Path | None,
    outputs: tuple[Sequence[str], str | None, str | None],
    show: Callable[[AccessEvent], None],
    max_seconds: float | None = None,
    realtime: bool = False,
    attach: Callable[[AccessLoop, EventLog], Callable[[], None]] | None = None,
    pipeline: FacePipeline | None = None,
    stop: threading.Event | None = None,
) -> LoopStats:
    """Run one door: gallery, access rules, event log, outputs, source -> loop; return stats.

    outputs: (webhook URLs, MQTT URL, command) beside the settings' own. Without a source the
    demo scene plays against a temporary gallery and event log of its own people, whatever
    --db / FACEGATE_DB / settings.db name (an explicit events file is still written). With a
    source the gallery must exist: a door never watches a typo's empty gallery.
    attach: called with the loop and its event log before the first frame (e.g. the wake
    phrase listener); the function it returns is called when the door stops. pipeline: loaded
    face models to share (several doors in one process); stop: ends the loop when set.
    """
    webhooks, mqtt, command = outputs
    dispatcher = build_dispatcher(settings.actions, webhooks, mqtt, command)
    with tempfile.TemporaryDirectory(prefix="facegate-run-") as tmp:
        if source is None:
            gallery_path: str | Path = Path(tmp) / "demo.db"
        else:
            gallery_path = require_database(db or settings.db or default_db_path(), settings)
        with open_gallery(gallery_path, settings) as gallery:
            if source is None:
                enroll_scene_people(gallery, Path(tmp), settings)
            with (
                open_event_log(events, settings)
                if events
                else event_log_of(gallery, settings) as log,
                access_store_of(gallery, settings) as rules,
                in_memory(gallery, settings.loop.gallery_refresh_seconds) as searched,
            ):
                crops = crops_beside(log) if settings.crops.enabled else None
                keeper = None if crops is None else CropKeeper(crops, settings.crops)
                if keeper is not None:
                    keeper.purge()  # a door that was idle for days starts with a cleanup
                window = settings.loop.attempt_window_seconds
                sink = EventSink(log, dispatcher, window, show, keeper)
                detach: Callable[[], None] | None = None
                presence: DoorPresence | None = None
                try:
                    presence = announce_door(settings, mqtt, settings.loop.door)
                    frames = open_source(source, settings.source, realtime=realtime)
                    loop = AccessLoop(settings, searched, sink, pipeline=pipeline, access=rules)
                    loop.on_chip = sink.hold_chip if keeper is not None else None
                    if attach is not None:
                        detach = attach(loop, log)
                    position = None if is_live(source) else sink.at_position
                    return run_loop(frames, loop, max_seconds, position, stop)
                finally:
                    if detach is not None:
                        detach()
                    sink.close()
                    if crops is not None:
                        crops.close()
                    if presence is not None:
                        presence.close()
