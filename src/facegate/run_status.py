"""What `facegate run` tells the operator: what it watches, a live status line, a summary."""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable
from typing import TYPE_CHECKING

from rich.console import Console
from rich.live import Live
from rich.text import Text

from facegate.access_event import AccessEvent
from facegate.stream.source_text import shown_source
from facegate.wording import people_count

if TYPE_CHECKING:
    from facegate.stream.loop import AccessLoop, LoopStats


class RunStatus:
    """Prints the start line, keeps a live status line on a terminal, and sums up at the end."""

    def __init__(self, source: str | None, console: Console, live_line: bool) -> None:
        self.source = "the demo scene" if source is None else f"source {shown_source(source)}"
        self.console = console
        self.live_line = live_line
        self.decisions: Counter[str] = Counter()
        self._loop: AccessLoop | None = None
        self._started: float | None = None
        self._ended: float | None = None

    def start(self, loop: AccessLoop) -> Callable[[], None]:
        """Print what the door watches, start the status line (on a terminal); return its stop."""
        people = len(loop.gallery.people())
        liveness = "on" if loop.settings.liveness.enabled else "off"
        temporary = " (temporary)" if self.source == "the demo scene" else ""
        self.console.print(
            f"watching {self.source} at door {loop.settings.loop.door}: gallery "
            f"{loop.gallery.path}{temporary}, {people_count(people)}, liveness {liveness}",
            highlight=False,
            markup=False,
            soft_wrap=True,
        )
        self._loop, self._started = loop, time.monotonic()
        if not self.live_line:
            return self._stop
        live = Live(
            get_renderable=self.line,
            console=self.console,
            refresh_per_second=loop.settings.cli.status_refresh_per_second,
            transient=True,
            redirect_stderr=False,
        )
        live.start()

        def stop() -> None:
            live.stop()
            self._stop()

        return stop

    def _stop(self) -> None:
        """Note the end of the run (for the summary's elapsed time)."""
        self._ended = time.monotonic()

    def count(self, event: AccessEvent) -> None:
        """Count one decision for the status line."""
        self.decisions[event.decision] += 1

    def elapsed(self) -> float:
        """Return the seconds from the first frame's start to the end (or now)."""
        if self._started is None:
            return 0.0
        return (self._ended or time.monotonic()) - self._started

    def line(self) -> Text:
        """Return the status line: frames, frames per second, open tracks, decisions."""
        loop = self._loop
        frames = loop.stats.frames if loop else 0
        tracks = loop.open_tracks if loop else 0
        elapsed = self.elapsed()
        fps = frames / elapsed if elapsed > 0 else 0.0
        tally = ", ".join(f"{self.decisions[d]} {d}" for d in ("unlock", "retry", "deny"))
        return Text(
            f"{frames} frames, {fps:.1f} fps, {tracks} open tracks, "
            f"{sum(self.decisions.values())} decisions ({tally})"
        )

    def summary(self, stats: LoopStats) -> str:
        """Return the closing line: what the loop did, the elapsed time and frames per second."""
        elapsed = self.elapsed()
        fps = stats.frames / elapsed if elapsed > 0 else 0.0
        return (
            f"facegate: {stats.frames} frames, {stats.gated} past the gate, "
            f"{stats.embedded} faces embedded, {stats.decisions} decisions "
            f"in {elapsed:.1f} s ({fps:.1f} frames/s)"
        )
