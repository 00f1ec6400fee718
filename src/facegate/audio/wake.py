"""Waking the camera loop: a gate closed until the phrase is heard, and the listening thread."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable, Iterator

import numpy as np

from facegate.audio.cascade import Listener, WakeEvent
from facegate.stream.gate import Gate, GateResult


class WakeGate:
    """Wraps the activity gate: every frame stops here unless the phrase was heard recently."""

    def __init__(self, inner: Gate, open_seconds: float) -> None:
        self.inner = inner
        self.open_seconds = open_seconds
        self._until = -float("inf")

    def wake(self) -> None:
        """Open the gate for open_seconds from now (wall clock)."""
        self._until = time.monotonic() + self.open_seconds

    @property
    def awake(self) -> bool:
        """Return whether the gate is open now."""
        return time.monotonic() < self._until

    def update(self, frame: np.ndarray, timestamp: float) -> GateResult:
        """Return the inner gate's verdict while awake, a closed result otherwise."""
        if not self.awake:
            return GateResult(passed=False, changed_fraction=0.0)
        return self.inner.update(frame, timestamp)


def paced(blocks: Iterable[np.ndarray], seconds_per_block: float) -> Iterator[np.ndarray]:
    """Yield blocks no faster than real time (a recording played as if live)."""
    start = time.monotonic()
    for i, block in enumerate(blocks):
        delay = start + i * seconds_per_block - time.monotonic()
        if delay > 0:
            time.sleep(delay)
        yield block


class WakeListener:
    """Runs the cascade on a thread; each detection wakes the gate and is reported."""

    def __init__(
        self,
        listener: Listener,
        blocks: Iterable[np.ndarray],
        gate: WakeGate,
        on_wake: Callable[[WakeEvent], None],
    ) -> None:
        self.listener = listener
        self.gate = gate
        self.on_wake = on_wake
        self.error: BaseException | None = None
        self._blocks = blocks
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._listen, name="facegate-wake", daemon=True)

    def start(self) -> WakeListener:
        """Start listening; return self."""
        self._thread.start()
        return self

    def _listen(self) -> None:
        """Feed blocks to the cascade until the source ends or stop() is called."""
        try:
            for block in self._blocks:
                if self._stop.is_set():
                    return
                for event in self.listener.feed(block):
                    self.gate.wake()
                    self.on_wake(event)
        except BaseException as exc:  # reported by stop(), never lost with the thread
            self.error = exc

    def stop(self) -> None:
        """Stop listening and wait for the thread; re-raise an error it hit."""
        self._stop.set()
        self._thread.join(timeout=5.0)
        if self.error is not None:
            raise self.error
