"""A track's liveness evidence, gathered frame by frame, and its verdict.

Cues (vision/liveness/): the strips beside the face moving with it (a held picture), the rigid
landmarks moving as one plane (a photo) or with parallax (a head), blinks and mouth motion, a
rigid rectangle (bezel, mat, print edge) around the face, the long sides of a held artifact
running unbroken past the chin (where a real person's shoulders hide the scene's edges), and the
camera's own learned scene hidden beside the face (a picture shows its own room there); a face
that never moves (a poster) is frozen, and its landmark jitter is no sign of life. The settings'
level sets how much evidence a track needs; when it has none, the verdict asks for a head turn,
which the next attempt must show. With liveness.challenge_always or at level high (a door's
security level high sets it there) every matched track is first asked to turn to a side drawn at
random (a recording cannot know it); only a turn to that side then counts. A track must answer
liveness.challenge_rounds sides in a row; after liveness.challenge_max_asks failed answers it is
refused (challenge_failed) and not asked again (stream/challenge.py).
"""

from __future__ import annotations

import math
import secrets
from dataclasses import dataclass, field

import cv2
import numpy as np

from facegate.settings import LivenessSettings
from facegate.stream.challenge import Exchange
from facegate.vision.liveness.backdrop import BackdropView, hides_backdrop
from facegate.vision.liveness.blink import blink_depth, eye_aspect, mouth_aspect, mouth_motion
from facegate.vision.liveness.landmarks import landmarks_68
from facegate.vision.liveness.motion import RingParams, ring_motion
from facegate.vision.liveness.planarity import nose_parallax, pose_change
from facegate.vision.liveness.rectangle import Rectangle, rectangle_in, region_lines, rigidity
from facegate.vision.liveness.screen import ScreenSides, screen_sides
from facegate.vision.liveness.turn import turn_excursion, yaw_offset
from facegate.vision.types import FaceBox

TURN_HEAD = "turn_head"
TURN_LEFT = "turn_left"  # the person's left
TURN_RIGHT = "turn_right"
TURNS = (TURN_LEFT, TURN_RIGHT)


def pick_turn() -> str:
    """Return a side to ask for, drawn from the system's secure random source."""
    return secrets.choice(TURNS)


def door_liveness(s: LivenessSettings, door_level: str | None) -> LivenessSettings:
    """Return the liveness settings at a door: level high where its security level is high."""
    return s.model_copy(update={"level": "high"}) if door_level == "high" else s


def challenges(s: LivenessSettings) -> bool:
    """Return whether every matched track is first asked to turn to a random side."""
    return s.challenge_always or s.level == "high"


def turn_prompt(needs: str, s: LivenessSettings) -> str:
    """Return the door's prompt for a motion the verdict asks for."""
    return {TURN_LEFT: s.prompt_turn_left, TURN_RIGHT: s.prompt_turn_right}.get(
        needs, s.prompt_turn_head
    )


@dataclass(frozen=True)
class LivenessResult:
    """A track's liveness verdict: live or not, a score in [0, 1] (0.5 = the level's bar), cues;
    where the evidence is thin, the motion to ask for (needs) and the prompt to show."""

    live: bool
    score: float
    cues: dict[str, float]
    frames: int
    needs: str | None = None
    prompt: str | None = None
    # replay, frozen, planar, no_sign_of_life, too_few_frames, turn_not_seen, challenge,
    # challenge_failed (asked a side liveness.challenge_max_asks times without an answer)
    reason: str | None = None
    exchange: Exchange | None = None  # asked a side: the track's challenge after this answer


def _ring_params(s: LivenessSettings) -> RingParams:
    """Return the ring cue's constants from the settings."""
    return RingParams(
        s.ring_face_px, s.ring_inner, s.ring_outer, s.ring_still_px, s.ring_follow_px,
        s.ring_follow_rel, s.ring_max_points, s.ring_fb_max_px,
    )  # fmt: skip


def _earlier(
    history: list[tuple[float, np.ndarray]], timestamp: float, gap: float
) -> np.ndarray | None:
    """Return the latest entry at least gap seconds before timestamp (None if there is none),
    dropping the entries before it."""
    older = [i for i, (t, _) in enumerate(history) if t <= timestamp - gap + 1e-6]
    if not older:
        return None
    del history[: older[-1]]
    return history[0][1]


@dataclass
class LivenessTrack:
    """Collects per-frame liveness cues of one track and turns them into a verdict.

    asked: the motion a previous attempt's prompt asked for; after "turn_head" only a head
    turn counts: the face must leave a plane (face flow) and the nose show parallax; after
    "turn_left" / "turn_right" only a turn to that side (the nose tip against the jaw).
    challenge: the side this track asks for if it must ask one (drawn at random per track).
    exchange: the track's challenge before this attempt (answers of its earlier attempts).
    """

    settings: LivenessSettings = field(default_factory=LivenessSettings)
    asked: str | None = None
    challenge: str = field(default_factory=pick_turn)
    exchange: Exchange = field(default_factory=Exchange)
    rectangles: list[Rectangle | None] = field(default_factory=list)
    screens: list[ScreenSides | None] = field(default_factory=list)
    hidden: list[bool] = field(default_factory=list)  # judged frames: the scene hidden beside
    residuals: list[float] = field(default_factory=list)
    eyes: list[float] = field(default_factory=list)
    mouths: list[float] = field(default_factory=list)
    yaws: list[float] = field(default_factory=list)
    times: list[float] = field(default_factory=list)
    face_residuals: list[float] = field(default_factory=list)
    face_motions: list[float] = field(default_factory=list)
    telling: int = 0
    followed: int = 0
    first_time: float | None = None
    _points: list[tuple[float, np.ndarray]] = field(default_factory=list)
    _grays: list[tuple[float, np.ndarray]] = field(default_factory=list)

    def observe(
        self,
        frame: np.ndarray,
        box: FaceBox,
        landmarks: np.ndarray,
        timestamp: float,
        backdrop: BackdropView | None = None,
    ) -> None:
        """Measure one frame of the track (the loop's 5-point landmarks are not needed here:
        the cues fit dlib's 68 points in the same box; backdrop: the frame next to the camera's
        learned scene, where the loop keeps one)."""
        s = self.settings
        if backdrop is not None and s.backdrop_enabled:
            hidden = hides_backdrop(backdrop, box, s)
            if hidden is not None:
                self.hidden.append(hidden)
        if self.first_time is None:
            self.first_time = timestamp
        gray = cv2.cvtColor(frame, cv2.COLOR_RGB2GRAY) if frame.ndim == 3 else frame
        previous = _earlier(self._grays, timestamp, s.flow_gap_seconds)
        if previous is not None and previous.shape == gray.shape:
            motion = ring_motion(previous, gray, box, _ring_params(s))
            if motion is not None:
                self.telling += motion.telling
                self.followed += motion.followed
                self.face_motions.append(motion.face_motion)
                if motion.face_residual is not None:
                    self.face_residuals.append(motion.face_residual)
        self._grays.append((timestamp, gray))
        points = landmarks_68(frame, box)
        self.eyes.append(eye_aspect(points))
        self.mouths.append(mouth_aspect(points))
        self.yaws.append(yaw_offset(points))
        self.times.append(timestamp)
        earlier = _earlier(self._points, timestamp, s.planar_gap_seconds)
        if earlier is not None and pose_change(earlier, points) >= s.planar_min_pose:
            self.residuals.append(nose_parallax(earlier, points))
        self._points.append((timestamp, points))
        lines = region_lines(frame, box, s)
        self.rectangles.append(rectangle_in(lines, s) if lines is not None else None)
        self.screens.append(screen_sides(lines, s) if lines is not None else None)

    def pending(self, timestamp: float) -> bool:
        """Return whether the decision should wait: too short a look, or no sign of life yet."""
        s = self.settings
        wait = s.challenge_seconds if self.asked in TURNS else s.max_wait_seconds
        if self.first_time is None or timestamp - self.first_time >= wait:
            return False
        if timestamp - self.first_time < s.min_seconds:
            return True
        verdict = self.verdict()
        if self.asked in TURNS:  # an answer: a failed one is only known when the time is up
            return verdict.reason in ("turn_not_seen", "challenge_failed")
        # A first attempt under the challenge asks at once: waiting would show nothing new.
        return not verdict.live and verdict.needs is not None and verdict.reason != "challenge"

    def verdict(self) -> LivenessResult:
        """Return the verdict: replay cues refuse; else the level's signs of life are required."""
        s = self.settings
        frames = len(self.rectangles)
        found = [r for r in self.rectangles if r is not None]
        present = len(found) / frames if frames else 0.0
        spread = rigidity(found)
        framed = present >= s.rect_present_fraction and spread <= s.rect_rigid_std
        screen = sum(x is not None for x in self.screens) / frames if frames else 0.0
        framed = framed or screen >= s.screen_present_fraction
        judged = len(self.hidden)
        hidden = sum(self.hidden) / judged if judged >= s.min_frames else -1.0
        framed = framed or hidden >= s.backdrop_hidden_fraction
        follow = self.followed / self.telling if self.telling >= s.ring_min_telling else -1.0
        parallax = (
            float(np.percentile(self.residuals, 75))
            if len(self.residuals) >= s.planar_min_pairs
            else -1.0
        )
        blink, mouth = blink_depth(self.eyes), mouth_motion(self.mouths)
        flow = (
            float(sorted(self.face_residuals)[-min(s.flow_rank, len(self.face_residuals))])
            if self.face_residuals
            else -1.0
        )
        # A face whose points moved as one plane is a picture: its landmark "signs" (a tilted
        # print makes the 68-point fit squint, open the mouth, or shift the nose) do not count.
        planar = flow >= 0.0 and flow < s.flow_planar_max
        moved = self.moved()
        frozen = 0.0 <= moved < s.frozen_max_px
        landmark = 0.0 if planar or frozen else 1.0
        # parallax needs a head that moved: on a face that barely did, it is the fit's jitter
        head_moved = 0.0 if 0.0 <= moved < s.parallax_min_motion else 1.0
        strengths = {
            "flow": max(0.0, flow) / s.flow_min,
            "parallax": landmark * head_moved * max(0.0, parallax) / s.parallax_min,
            "blink": landmark * blink / s.blink_min,
            "mouth": landmark * mouth / s.mouth_min,
        }
        if self.asked == TURN_HEAD:
            turned = min(strengths["flow"], strengths["parallax"])
            signs, strength = int(turned >= 1.0), turned
        elif self.asked in TURNS:  # a turn moves the face off its plane; a still face did not turn
            turned = self.turned(self.asked) if flow >= s.flow_planar_max else 0.0
            signs, strength = int(turned >= 1.0), turned
        else:
            signs = sum(v >= 1.0 for v in strengths.values())
            strength = max(strengths.values())
        replay = frames >= s.min_frames and (framed or follow >= s.ring_follow_max)
        needed = 0 if s.level == "low" else 1  # high: the challenge's turn (below)
        if self.asked is not None:  # after a prompt, at any level, the asked motion only
            needed = 1
        shown = (
            frames >= s.min_frames and not replay and not planar and not frozen and signs >= needed
        )
        # a correct answer short of challenge_rounds in a row is asked the next side at once
        next_round = self.asked in TURNS and shown and self.exchange.passed + 1 < s.challenge_rounds
        challenge = (challenges(s) and self.asked is None) or next_round
        live = shown and not challenge
        failed_out = self.asked in TURNS and self.exchange.failed + 1 >= s.challenge_max_asks
        if frames < s.min_frames:
            reason = "too_few_frames"
        elif replay:
            reason = "replay"
        elif frozen:  # before any prompt: a poster is not asked (or challenged) to turn
            reason = "frozen"
        elif failed_out and not shown:
            reason = "challenge_failed"  # no more asks on this track
        elif not live and not next_round and self.asked is not None:
            reason = "turn_not_seen"
        elif challenge:
            reason = "challenge"
        elif not live and planar:
            reason = "planar"
        elif not live:
            reason = "no_sign_of_life"
        else:
            reason = None
        score = 0.0 if replay else min(1.0, strength / 2)
        cues = {
            "ring_follow": round(follow, 3),
            "ring_telling": float(self.telling),
            "face_flow_residual": round(flow, 3),
            "face_motion": round(moved, 3),
            "parallax": round(parallax, 4),
            "blink": round(blink, 3),
            "mouth": round(mouth, 3),
            "rect_present": round(present, 3),
            "rect_spread": round(spread, 4) if math.isfinite(spread) else -1.0,
            "screen_sides": round(screen, 3),
            "backdrop_hidden": round(hidden, 3),
            "backdrop_judged": float(judged),
        }
        if self.asked in TURNS:
            cues["turn"] = round(self.turned(self.asked), 3)
        needs = None
        # a frozen face is refused outright: asking a poster to turn its head would only re-arm
        # the door-wide prompt (everyone after it asked to turn) every time it is decided again
        if reason in ("no_sign_of_life", "planar", "turn_not_seen", "challenge"):
            directed = challenges(s) or self.asked in TURNS
            needs = self.challenge if directed else TURN_HEAD
        exchange = self.exchange.after(shown) if self.asked in TURNS else None
        if exchange is not None:
            cues["rounds_passed"], cues["failed_answers"] = exchange.passed, exchange.failed
        return LivenessResult(
            live=live,
            score=round(float(score), 3),
            cues=cues,
            frames=frames,
            needs=needs,
            prompt=turn_prompt(needs, s) if needs else None,
            reason=reason,
            exchange=exchange,
        )

    def moved(self) -> float:
        """Return the face's own motion over the track: its flow_rank-th largest frame-pair
        value (ring_face_px-scaled px), or -1 with fewer than frozen_min_pairs pairs."""
        s = self.settings
        if len(self.face_motions) < s.frozen_min_pairs:
            return -1.0
        return float(sorted(self.face_motions)[-min(s.flow_rank, len(self.face_motions))])

    def turned(self, side: str) -> float:
        """Return the track's turn to a side in units of challenge_min_turn (0 where the head
        also swung the other way by challenge_max_away of it or more)."""
        s = self.settings
        sign = 1 if (side == TURN_LEFT) != s.challenge_mirrored else -1
        toward, away = turn_excursion(self.times, self.yaws, sign, s.challenge_reaction_seconds)
        if toward <= 0.0 or away >= s.challenge_max_away * toward:
            return 0.0
        return toward / s.challenge_min_turn
