"""The cascade: block energy -> Silero VAD -> trigger model -> detection, each stage counted."""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Iterable, Iterator
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

from facegate.access_event import now_iso
from facegate.audio.features import StreamingSpectrogram
from facegate.audio.sources import AudioError
from facegate.audio.trigger import Detector, StreamingTrigger, load_card, resolve_model
from facegate.audio.vad import SileroVad, block_dbfs
from facegate.settings import AudioSettings


@dataclass(frozen=True)
class WakeEvent:
    """One detection: where in the stream the phrase ended, when, how sure, how fast."""

    offset_s: float
    time: str
    phrase: str
    score: float
    latency_ms: float
    fired_s: float  # stream time of the audio that made the detection fire

    def as_dict(self) -> dict[str, Any]:
        """Return the event as a JSON-ready dict."""
        return asdict(self)


@dataclass
class CascadeStats:
    """Blocks seen and passed, and seconds spent, per stage."""

    blocks: int = 0
    loud: int = 0  # past the energy stage (to the VAD network, unless energy holds it open)
    speech: int = 0  # judged speech by the VAD
    triggered: int = 0  # fed to the trigger model (speech, hangover and pre-roll)
    seconds: dict[str, float] = field(
        default_factory=lambda: {"energy": 0.0, "vad": 0.0, "trigger": 0.0}
    )

    def as_dict(self) -> dict[str, Any]:
        """Return the counters as a JSON-ready dict."""
        return asdict(self)


class Listener:
    """Feeds 16 kHz blocks through the cascade and returns the detections they complete."""

    def __init__(self, settings: AudioSettings, model: str | None = None) -> None:
        if settings.sample_rate != 16000 or settings.block_samples != 512:
            raise AudioError("the cascade runs at 16 kHz in 512-sample blocks (Silero's size)")
        self.settings = settings
        self.card = load_card(resolve_model(model or settings.model))
        self.trigger = StreamingTrigger(self.card)
        self.spectrogram = StreamingSpectrogram(self.card.n_fft, self.card.hop)
        self.vad = SileroVad(settings) if settings.vad == "silero" else None
        threshold = settings.threshold if settings.threshold is not None else self.card.threshold
        self.detector = Detector(threshold, settings.hold_steps, settings.refractory_s)
        self.stats = CascadeStats()
        preroll_blocks = round(settings.preroll_s * settings.sample_rate / settings.block_samples)
        self._preroll: deque[np.ndarray] = deque(maxlen=max(preroll_blocks, 0) or None)
        self._last_speech = -float("inf")
        self._active = False
        self._stream_start = 0  # sample index of the trigger stream's first sample

    @property
    def phrase(self) -> str:
        """Return the phrase the model listens for."""
        return self.card.phrase

    def _is_speech(self, block: np.ndarray) -> bool:
        """Return whether stages 1 and 2 call this block speech."""
        seconds = self.stats.seconds
        start = time.perf_counter()
        loud = block_dbfs(block) > self.settings.energy_dbfs
        seconds["energy"] += time.perf_counter() - start
        if not loud:
            if self.vad is not None:
                self.vad.context(block)
            return False
        self.stats.loud += 1
        if self.vad is None or (self._active and self.settings.energy_holds_open):
            if self.vad is not None:
                self.vad.context(block)
            return True
        start = time.perf_counter()
        speech = self.vad.probability(block) > self.settings.vad_threshold
        seconds["vad"] += time.perf_counter() - start
        return speech

    def feed(self, block: np.ndarray) -> list[WakeEvent]:
        """Run one 512-sample block through the cascade; return the detections it completed."""
        arrived = time.perf_counter()
        size = self.settings.block_samples
        first_sample = self.stats.blocks * size
        self.stats.blocks += 1
        if self._is_speech(block):
            self.stats.speech += 1
            self._last_speech = first_sample
        hangover = self.settings.hangover_s * self.settings.sample_rate
        active = first_sample - self._last_speech <= hangover
        if not active:
            self._active = False
            if self._preroll.maxlen is not None:
                self._preroll.append(block)
            return []
        if not self._active:
            self._active = True
            self.spectrogram.reset()
            self.trigger.reset()
            self._stream_start = first_sample - size * len(self._preroll)
            pending = [*self._preroll, block]
            self._preroll.clear()
        else:
            pending = [block]
        events: list[WakeEvent] = []
        start = time.perf_counter()
        for piece in pending:
            self.stats.triggered += 1
            events += self._score(self.trigger.push(self.spectrogram.push(piece)), arrived)
        self.stats.seconds["trigger"] += time.perf_counter() - start
        return events

    def _score(self, scores: np.ndarray, arrived: float) -> list[WakeEvent]:
        """Turn new output steps into detections."""
        rate = self.settings.sample_rate
        first_step = self.trigger.steps_out - len(scores)
        events = []
        for i, score in enumerate(scores):
            at = self._stream_start / rate + self.card.step_end_s(first_step + i, rate)
            hit = self.detector.update(float(score), at)
            if hit is not None:
                events.append(
                    WakeEvent(
                        offset_s=round(hit[0], 3),
                        time=now_iso(),
                        phrase=self.card.phrase,
                        score=round(hit[1], 4),
                        latency_ms=round((time.perf_counter() - arrived) * 1000, 2),
                        fired_s=round(at, 3),
                    )
                )
        return events

    def run(self, blocks: Iterable[np.ndarray]) -> Iterator[WakeEvent]:
        """Yield every detection in a stream of blocks."""
        for block in blocks:
            yield from self.feed(block)
