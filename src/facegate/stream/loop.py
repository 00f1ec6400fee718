"""The access loop: gate -> detect -> track -> best frames -> embed -> fuse -> decision."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace

import numpy as np

from facegate.access import DoorPolicy
from facegate.access_event import AccessEvent, now_iso
from facegate.decide.match import fuse_embeddings
from facegate.decide.policy import Match
from facegate.decide.search import identify_frames_in
from facegate.gallery.access import AccessStore
from facegate.gallery.types import Gallery
from facegate.settings import Settings
from facegate.stream.challenge import Exchange
from facegate.stream.early import VectorCache, early_ruling
from facegate.stream.gates import build_gate
from facegate.stream.liveness import TURNS, LivenessTrack, door_liveness
from facegate.stream.lockout import Lockout
from facegate.stream.ruling import RemoteRuler, Ruling, TrackEvidence
from facegate.stream.select import BestFrames, covered_share, frame_score
from facegate.stream.tracker import Tracker
from facegate.vision import FacePipeline
from facegate.vision.align import align_views
from facegate.vision.embedders import embed_views, view_paddings
from facegate.vision.liveness.backdrop import Backdrop, BackdropView
from facegate.vision.quality import measure_quality
from facegate.vision.types import FaceBox, FaceQuality


@dataclass(frozen=True)
class Candidate:
    """One aligned face of one frame, kept until its track is decided."""

    chip: np.ndarray
    box: FaceBox
    quality: FaceQuality
    views: tuple[np.ndarray, ...] = ()  # the chip at vision.tta_paddings, embedded with it


@dataclass
class _TrackState:
    """What the loop holds for one open track."""

    frames: BestFrames[Candidate]
    first_wall: float
    liveness: LivenessTrack = field(default_factory=LivenessTrack)
    vectors: VectorCache[Candidate] = field(default_factory=VectorCache)


@dataclass
class LoopStats:
    """Counters of what the loop did, for benchmarks and the final summary."""

    frames: int = 0
    gated: int = 0
    detected: int = 0
    embedded: int = 0
    decisions: int = 0


def loop_pipeline(settings: Settings) -> FacePipeline:
    """Return a pipeline for live frames: no slow fallbacks, detection downscaled, loop TTA."""
    vision = settings.vision.model_copy(
        update={
            "fallback_detectors": (),
            "detect_max_side": settings.loop.detect_max_side,
            "tta_mirror": settings.loop.tta_mirror,
            "tta_paddings": settings.loop.tta_paddings,
        }
    )
    return FacePipeline(vision)


class AccessLoop:
    """Turns a stream of frames into one access decision per approaching person."""

    def __init__(
        self,
        settings: Settings,
        gallery: Gallery | None,
        on_event: Callable[[AccessEvent], None],
        pipeline: FacePipeline | None = None,
        access: AccessStore | None = None,
        remote: RemoteRuler | None = None,
    ) -> None:
        self.settings = settings
        self.gallery = gallery
        self.on_event = on_event
        self.pipeline = pipeline or loop_pipeline(settings)
        self.gate = build_gate(settings.gate)
        self.backdrop = Backdrop(settings.liveness)  # the camera's learned empty scene
        self.tracker = Tracker(settings.track)
        self.stats = LoopStats()
        self._tracks: dict[int, _TrackState] = {}
        self.access = access
        self.remote = remote  # set: the centre rules on each track's template (run --server)
        self.door_level: Callable[[], str | None] | None = None  # with remote: the door copy's
        self._door: DoorPolicy | None = None
        self._door_at = -float("inf")
        self._asked: tuple[str, float] | None = None  # the motion asked for, and until when
        self._exchanges: dict[int, tuple[str, Exchange]] = {}  # a challenged track's side, so far
        live = settings.liveness
        window = live.challenge_fail_window_seconds
        self._camera_lockout = Lockout(live.challenge_fail_camera_limit, window)
        self._person_lockouts: dict[str | None, Lockout] = {}  # failed challenges per match
        self.on_chip: Callable[[np.ndarray], None] | None = None  # gets each decided best chip

    @property
    def open_tracks(self) -> int:
        """Return how many tracks are followed and not yet decided."""
        return len(self._tracks)

    def _policy(self) -> DoorPolicy:
        """Return this door's policy, re-read from the access store with the gallery's refresh."""
        if self._door is None or (
            time.monotonic() - self._door_at > self.settings.loop.gallery_refresh_seconds
        ):
            self._door = DoorPolicy(self.access, self.settings.loop.door, "identify", self.settings)
            self._door_at = time.monotonic()
        return self._door

    def process(self, frame: np.ndarray, timestamp: float) -> list[AccessEvent]:
        """Feed one RGB frame (time in seconds); return the decisions it completed."""
        self.stats.frames += 1
        scene = self.backdrop.observe(frame, timestamp) if self._watches_scene() else None
        passed = self.gate.update(frame, timestamp).passed
        if not passed and not self._tracks:
            self.tracker.update([], timestamp)
            return self._finish_closed(timestamp)
        self.stats.gated += 1
        if (self.stats.gated - 1) % self.settings.loop.detect_every:
            return []
        boxes = self.pipeline.detector.detect(frame)
        self.stats.detected += len(boxes)
        for tracked in self.tracker.update(boxes, timestamp):
            if not self.tracker.is_cooling(tracked.track_id, timestamp):
                self._collect(frame, tracked.track_id, tracked.box, timestamp, boxes, scene)
        events = self._finish_closed(timestamp)
        for track_id, state in list(self._tracks.items()):
            if not self._enough(state):
                continue
            # no sign of life yet: an unlock waits for one (liveness.max_wait_seconds)
            pending = self.settings.liveness.enabled and state.liveness.pending(timestamp)
            if state.frames.ready(timestamp) and not pending:
                events.append(self._decide(track_id, state, timestamp))
            elif (early := self._early(state, pending)) is not None:
                events.append(self._decide(track_id, state, timestamp, early))
        return events

    def _remote_level(self) -> str | None:
        """Return the door's security level where a centre rules (its copy's, if one is held)."""
        return self.door_level() if self.door_level is not None else None

    def _watches_scene(self) -> bool:
        """Return whether the loop learns the camera's scene (the backdrop liveness cue)."""
        live = self.settings.liveness
        return live.enabled and live.backdrop_enabled

    def _early(self, state: _TrackState, pending: bool) -> Ruling | None:
        """Return a clear ruling on a track's frames so far (stream/early.py), else None."""
        loop = self.settings.loop
        if not loop.early_decide or self.remote is not None:
            return None  # a centre rules on templates only: it decides at the usual time
        if len(state.frames) < loop.early_min_frames:
            return None
        as_if_live = self._rule_here(self._vectors(state), True, False)
        live_now = not pending and state.liveness.verdict().live
        return early_ruling(as_if_live, live_now, loop.early_deny_margin, loop.early_unlock_margin)

    def _vectors(self, state: _TrackState) -> np.ndarray:
        """Return the unit vectors of a track's best frames, each frame embedded once."""

        def embed(best: list[Candidate]) -> np.ndarray:
            self.stats.embedded += len(best)
            chips, views = [c.chip for c in best], [c.views for c in best]
            return embed_views(self.pipeline.embedder, chips, views)

        return state.vectors.vectors(state.frames.best(), embed)

    def flush(self, timestamp: float) -> list[AccessEvent]:
        """Decide every open track with enough frames (the source ended); return the decisions."""
        return [
            self._decide(t, s, timestamp) for t, s in list(self._tracks.items()) if self._enough(s)
        ]

    def _enough(self, state: _TrackState) -> bool:
        """Return whether a track holds enough usable frames to be decided."""
        return len(state.frames) >= min(
            self.settings.select.min_frames, self.settings.select.best_k
        )

    def _collect(
        self,
        frame: np.ndarray,
        track_id: int,
        box: FaceBox,
        timestamp: float,
        others: Sequence[FaceBox] = (),
        scene: BackdropView | None = None,
    ) -> None:
        """Align one tracked face and offer it to its track's best-frame selector (not when
        another face of the frame covers part of it: select.max_overlap)."""
        if box.width < self.settings.select.min_face_px:
            return
        state = self._tracks.get(track_id)
        if state is None:
            asked = self._asked[0] if self._asked and timestamp < self._asked[1] else None
            if asked in TURNS:  # an announced side belongs to its track: a new one (a replay
                asked = None  # cued to that side and raised again) is challenged anew
            asked, exchange = self._exchanges.pop(track_id, (asked, Exchange()))
            level = self._policy().rules.level if self.remote is None else self._remote_level()
            settings = door_liveness(self.settings.liveness, level)
            liveness = LivenessTrack(settings, asked=asked, exchange=exchange)
            state = _TrackState(BestFrames(self.settings.select), time.monotonic(), liveness)
            self._tracks[track_id] = state
        vision = self.pipeline.settings
        chips, landmarks = align_views(
            frame, box, vision.chip_size, vision.chip_padding, view_paddings(vision)
        )
        chip = chips[0]
        state.liveness.observe(frame, box, landmarks, timestamp, scene)
        if covered_share(box, others) > self.settings.select.max_overlap:
            return  # the chip would mix two faces: never matched, only watched for liveness
        quality = measure_quality(chip, box)
        if quality.sharpness < self.settings.select.min_sharpness:
            return
        score = frame_score(quality, landmarks, box)
        candidate = Candidate(chip, box, quality, tuple(chips[1:]))
        state.frames.add(candidate, score, timestamp, box.width)

    def _finish_closed(self, timestamp: float) -> list[AccessEvent]:
        """Decide tracks that closed (person left) before their selector was ready."""
        events = []
        for track_id in self.tracker.pop_closed():
            state = self._tracks.get(track_id)
            if state is not None and self._enough(state):
                events.append(self._decide(track_id, state, timestamp))
            self._tracks.pop(track_id, None)
            self._exchanges.pop(track_id, None)
        return events

    def _decide(
        self, track_id: int, state: _TrackState, timestamp: float, early: Ruling | None = None
    ) -> AccessEvent:
        """Embed a track's best frames, fuse their matches, log and return the decision
        (early: the clear ruling already made on them, see _early)."""
        best = state.frames.best()
        vectors = self._vectors(state)
        live = state.liveness.verdict()
        top = best[0]
        quality = {**top.quality.as_dict(), "box": top.box.as_list()}
        evidence = {
            "live": live.live,
            "score": live.score,
            "frames": live.frames,
            "reason": live.reason,
            "needs": live.needs,
            "asked": state.liveness.asked,
            **live.cues,
        }
        if early is not None:
            verdict = early
        elif self.remote is not None:
            latency = round((time.monotonic() - state.first_wall) * 1000, 1)
            track = TrackEvidence(
                self.settings.loop.door,
                track_id,
                live.live,
                live.needs is not None,
                evidence,
                quality,
                len(best),
                latency,
            )
            verdict = self.remote.rule(fuse_embeddings(vectors), self.pipeline.embedder.name, track)
        else:
            verdict = self._rule_here(vectors, live.live, live.needs is not None)
        if verdict.decision != "deny" and self._lockout(verdict, timestamp) is not None:
            verdict = replace(verdict, decision="deny", reason="rate_limited", person=None)
        prompt = None
        if verdict.reason == "liveness_retry":  # a matched face with no sign of life yet
            prompt = live.prompt
            self._asked = (str(live.needs), timestamp + self.settings.liveness.ask_seconds)
            if live.needs in TURNS:  # its next answer continues this track's challenge
                self._exchanges[track_id] = (str(live.needs), live.exchange or Exchange())
        if live.reason == "challenge_failed" and verdict.reason == "not_live":
            self._record_failure(verdict.matched, timestamp)
        if verdict.reason != "liveness_retry":  # a prompted person answers on the same track
            hold = self._hold(verdict, live.reason, timestamp)
            self.tracker.mark_decided(track_id, timestamp, hold)
        del self._tracks[track_id]
        self.stats.decisions += 1
        event = AccessEvent(
            time=now_iso(),
            door=self.settings.loop.door,
            mode="identify",
            track=track_id,
            claimed=None,
            decision=verdict.decision,
            person=verdict.person,
            distance=verdict.distance,
            threshold=verdict.threshold,
            frames_used=len(best),
            face_quality=quality,
            liveness={**evidence, "prompt": prompt},
            latency_ms=round((time.monotonic() - state.first_wall) * 1000, 1),
            attempt=verdict.attempt or 1,
            reason=verdict.reason,
            policy_version=verdict.policy_version,
            prompt=prompt,
            decided_offline=verdict.decided_offline,
        )
        if self.on_chip is not None:
            self.on_chip(top.chip)
        self.on_event(event)
        return event

    def _hold(self, verdict: Ruling, reason: str | None, timestamp: float) -> float | None:
        """Return how long a decided track rests (None: track.cooldown_seconds): a poster
        liveness.frozen_hold_seconds, a failed challenge challenge_fail_hold_seconds, a track
        refused by the lockout until it ends."""
        if verdict.decision != "deny":
            return None
        if reason == "frozen":
            return self.settings.liveness.frozen_hold_seconds
        if reason == "challenge_failed" and verdict.reason == "not_live":
            return self.settings.liveness.challenge_fail_hold_seconds
        lockout = self._lockout(verdict, timestamp) if verdict.reason == "rate_limited" else None
        if lockout is not None:
            return lockout.remaining(timestamp)  # one refusal per track while locked
        return None

    def _lockout(self, verdict: Ruling, timestamp: float) -> Lockout | None:
        """Return the lockout that refuses this ruling's face (the camera's, or the matched
        person's), None when neither is locked."""
        if self._camera_lockout.locked(timestamp):
            return self._camera_lockout
        person = self._person_lockouts.get(verdict.matched)
        return person if person is not None and person.locked(timestamp) else None

    def _record_failure(self, matched: str | None, timestamp: float) -> None:
        """Count a failed challenge for the camera and for the person matched (forgetting
        people whose failures have all left the window)."""
        live = self.settings.liveness
        self._camera_lockout.record(timestamp)
        for person, lockout in list(self._person_lockouts.items()):
            if lockout.count(timestamp) == 0:
                del self._person_lockouts[person]
        lockout = self._person_lockouts.setdefault(
            matched, Lockout(live.challenge_fail_limit, live.challenge_fail_window_seconds)
        )
        lockout.record(timestamp)

    def _rule_here(self, vectors: np.ndarray, live: bool | None, ask: bool) -> Ruling:
        """Return the ruling of this door's gallery (its search() + count()) and policy."""
        if self.gallery is None:
            raise ValueError("a loop without a gallery needs a remote ruler")
        embedder = self.pipeline.embedder
        policy = self._policy()
        count = self.gallery.count(embedder.name)
        threshold = policy.threshold(count, embedder.name, embedder.model_path)
        fused = identify_frames_in(
            self.gallery,
            embedder.name,
            vectors,
            threshold,
            self.settings.decide.identify_k,
            self.settings.select.fusion,
        )
        match = Match(fused.person, fused.distance, threshold)
        verdict = policy.decide(match, live, ask=ask)
        return Ruling.of(verdict, match, policy.rules.version)
