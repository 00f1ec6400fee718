"""Read a frame source on its own thread, so decoding overlaps the face model's work."""

from __future__ import annotations

import logging
import queue
import threading
from collections.abc import Iterator

from facegate.stream.frames import FrameSource, Timestamped

log = logging.getLogger(__name__)

_END = object()
CLOSE_TIMEOUT_S = 5.0  # close() waits this long for a reader blocked in a read or reconnect


class PrefetchSource:
    """Wraps a frame source: a reader thread decodes up to `depth` frames ahead of the loop.

    OpenCV releases the GIL while it decodes, so on two cores decoding the next frames runs
    beside detection of the current one. A file source never loses a frame (the reader waits
    when the queue is full); a live source drops the oldest queued frame instead, so a slow
    loop works on recent frames, and counts the drops. An error in the reader (a lost camera)
    is raised in the consumer at the point the frames ran out. Only the reader thread touches
    the wrapped source once it has started, closing it included.
    """

    def __init__(self, source: FrameSource, depth: int, drop_oldest: bool) -> None:
        if depth < 1:
            raise ValueError("prefetch depth must be at least 1")
        self.source = source
        self.drop_oldest = drop_oldest
        self.dropped = 0
        self._queue: queue.Queue[object] = queue.Queue(maxsize=depth)
        self._stop = threading.Event()
        self._error: BaseException | None = None
        self._thread: threading.Thread | None = None

    @property
    def truth(self) -> object:
        """Return the wrapped source's ground truth, when it has one (the demo scene)."""
        return getattr(self.source, "truth", None)

    def _read(self) -> None:
        """Reader thread: move frames from the source into the queue until told to stop."""
        try:
            for item in self.source:
                if self._stop.is_set():
                    return
                self._put(item)
        except BaseException as exc:  # handed to the consumer, which re-raises it
            self._error = exc
        finally:
            self.source.close()
            self._put(_END)

    def _put(self, item: object) -> None:
        """Queue one item: wait for room (files, the end marker) or drop the oldest (live)."""
        while not self._stop.is_set():
            if self.drop_oldest and item is not _END and self._queue.full():
                try:
                    self._queue.get_nowait()
                    self.dropped += 1
                except queue.Empty:
                    pass
            try:
                self._queue.put(item, timeout=0.1)
                return
            except queue.Full:
                continue

    def __iter__(self) -> Iterator[Timestamped]:
        """Yield the source's frames in order, as the reader thread delivers them."""
        if self._thread is None:
            self._thread = threading.Thread(target=self._read, name="frame-reader", daemon=True)
            self._thread.start()
        while True:
            item = self._queue.get()
            if item is _END:
                if self._error is not None:
                    raise self._error
                return
            yield item  # type: ignore[misc]

    def close(self) -> None:
        """Stop the reader thread, which closes the wrapped source (safe to call twice)."""
        self._stop.set()
        if self._thread is None:
            self.source.close()
            return
        self._thread.join(timeout=CLOSE_TIMEOUT_S)
        if self._thread.is_alive():
            log.warning("frame reader still blocked after %.0f s; leaving it", CLOSE_TIMEOUT_S)

    def __enter__(self) -> PrefetchSource:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()
