"""Every threshold and default in one typed settings object (TOML file + FACEGATE_* env)."""

from __future__ import annotations

import os
import tomllib
from datetime import datetime
from pathlib import Path
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    SecretStr,
    ValidationError,
    field_validator,
    model_validator,
)

from facegate.errors import SettingsError

ENV_PREFIX = "FACEGATE_"
MAX_DISTANCE = 2.0  # unit vectors are at most 2 apart: a larger threshold admits anyone


class _Section(BaseModel):
    """Base for settings sections: unknown keys are refused, values are frozen."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class MediaSettings(_Section):
    """Limits applied when decoding images."""

    max_pixels: int = Field(
        40_000_000, gt=0, description="Refuse images with more pixels than this (before decoding)."
    )
    max_bytes: int = Field(
        30 * 1024 * 1024, gt=0, description="Refuse encoded files larger than this."
    )
    min_side: int = Field(16, gt=0, description="Refuse images whose shorter side is below this.")


class VisionSettings(_Section):
    """Face detection, alignment and embedding."""

    detector: Literal["yunet", "hog", "cnn"] = Field(
        "yunet",
        description="Primary face detector: 'yunet' (a small CNN with landmarks, via OpenCV; "
        "its model is unpacked by `facegate models prepare`), 'hog' (dlib's HOG) or 'cnn' "
        "(dlib's MMOD CNN, about 1 s per small image).",
    )
    upsample: int = Field(1, ge=0, le=3, description="Times the image is upsampled for detection.")
    fallback_detectors: tuple[Literal["hog2", "cnn"], ...] = Field(
        (),
        description="Detectors tried in turn when the primary finds no face: 'hog2' = HOG at "
        "upsample+1, 'cnn' = dlib's CNN (about 1 s per small image, 20-35 s on a large blank "
        "one; keep it out of live loops and the service). None by default: YuNet finds the "
        "faces these found for HOG.",
    )
    detect_max_side: int = Field(
        800,
        ge=0,
        description="Images whose longer side exceeds this are downscaled for detection only "
        "(boxes are mapped back; landmarks and chips use full resolution). 0 = never.",
    )
    min_detection_score: float = Field(
        0.0, description="HOG/CNN detections scoring below this are discarded."
    )
    multi_face: Literal["largest", "center", "all"] = Field(
        "largest",
        description="Which faces of an image are recognised: the largest, the one nearest the "
        "centre (for datasets cropped around the labelled face, like LFW), or all.",
    )
    chip_size: int = Field(150, description="Side of the aligned face chip in pixels (dlib: 150).")
    chip_padding: float = Field(
        0.25, ge=0.0, le=1.0, description="Padding around the aligned chip."
    )
    tta_mirror: bool = Field(
        True, description="Average the embeddings of the chip and its mirror image."
    )
    tta_paddings: tuple[Annotated[float, Field(ge=0.0, le=1.0)], ...] = Field(
        (0.3,),
        max_length=4,
        description="Extra chip paddings: each face is also aligned at these, embedded (with "
        "its mirror under tta_mirror) and averaged with the main chip (LFW View 2: 99.18 % "
        "-> 99.25 % with 0.3, for two more chips per face; bench/lfw.py). Shipped dlib "
        "encoder only (other models see their own chip); () turns it off.",
    )
    jitters: int = Field(
        0, ge=0, le=100, description="Extra randomly jittered copies embedded and averaged (slow)."
    )
    embedder: str = Field(
        "dlib",
        description="The embedder: 'dlib' (the shipped encoder), 'onnx:PATH' (a model "
        "trained by `facegate train`: a head after the shipped encoder, or a small CNN on the "
        "aligned chip; told apart by the model's input) or 'onnx-arcface:PATH' (your own "
        "ArcFace-style model: 112x112, 5-point aligned, InsightFace template). Vectors of "
        "different embedders are never compared.",
    )
    min_face_px: int = Field(
        40, ge=1, description="Faces narrower than this are refused for enrollment."
    )
    min_sharpness: float = Field(
        10.0,
        ge=0.0,
        description="Chips whose Laplacian variance is below this are refused for enrollment.",
    )
    embedder_engine: Literal["onnx", "dlib"] = Field(
        "onnx",
        description="What runs the shipped dlib ResNet: 'onnx' (facegate's own conversion of "
        "the same weights, run by ONNX Runtime; equal vectors, ~20x faster) or 'dlib' (dlib's "
        "native code).",
    )
    onnx_threads: int = Field(
        1, ge=1, le=64, description="ONNX Runtime intra-op threads per model session."
    )
    yunet_min_score: float = Field(
        0.6, ge=0.0, le=1.0, description="YuNet detections scoring below this are discarded."
    )
    yunet_nms: float = Field(
        0.3, ge=0.0, le=1.0, description="YuNet's non-maximum suppression IoU threshold."
    )
    yunet_box_scale: float = Field(
        1.14,
        gt=0.0,
        description="Side of the dlib-like square made from a YuNet box, in YuNet box widths "
        "(HOG's box side over YuNet's width, median on 296 LFW faces).",
    )
    yunet_box_shift: float = Field(
        0.04,
        description="The square's centre sits this many YuNet box heights below the box's "
        "centre (median on the same LFW faces).",
    )
    model_cache_dir: Path | None = Field(
        None,
        description="Where converted and unpacked model files are kept (default: the user "
        "cache dir / models); `facegate models prepare` fills it.",
    )

    @field_validator("embedder")
    @classmethod
    def _embedder_spec(cls, value: str) -> str:
        """Accept 'dlib', 'onnx:PATH' or 'onnx-arcface:PATH'."""
        prefix = next((p for p in ("onnx:", "onnx-arcface:") if value.startswith(p)), None)
        if value != "dlib" and not (prefix and len(value) > len(prefix)):
            raise ValueError(
                f"embedder must be 'dlib', 'onnx:PATH' or 'onnx-arcface:PATH', not {value!r}"
            )
        return value


class DecideSettings(_Section):
    """Matching thresholds and the identify rule."""

    threshold: float = Field(
        0.42,
        gt=0.0,
        le=MAX_DISTANCE,
        allow_inf_nan=False,
        description="Max Euclidean distance between unit embeddings for 'same person'. "
        "Calibrated on LFW View 1 (pairsDevTrain.txt); see docs/threshold.md.",
    )
    identify_k: int = Field(
        1, ge=1, description="Nearest enrolled encodings that must all name the same person."
    )
    identify_fpir: float = Field(
        0.001,
        gt=0.0,
        lt=1.0,
        description="Target share of strangers (people not enrolled) that 1:N identify may "
        "name as someone. The 1:N threshold is derived from it and the number of enrolled "
        "vectors (never above `threshold`); see facegate/decide/threshold.py and "
        "docs/threshold.md.",
    )
    identify_threshold: float | None = Field(
        None,
        gt=0.0,
        le=MAX_DISTANCE,
        allow_inf_nan=False,
        description="A fixed 1:N threshold instead of the one from identify_fpir.",
    )


class GateSettings(_Section):
    """The activity gate: the cheap test every camera frame passes before any face model."""

    mode: Literal["pixel", "presence", "cascade", "off"] = Field(
        "pixel",
        description="'pixel' = pixel-change fraction; 'presence' = the presence network's "
        "P(face in view); 'cascade' = pixel change, then the network on the frames that changed; "
        "'off' = every frame goes on.",
    )
    width: int = Field(160, ge=16, description="Frames are shrunk to this width (INTER_AREA).")
    pixel_threshold: int = Field(
        25, ge=1, le=255, description="Grey-level change above which a pixel counts as changed."
    )
    epsilon: float = Field(
        0.10, gt=0.0, le=1.0, description="Changed-pixel fraction above which the gate opens."
    )
    reference_seconds: float = Field(
        1.0, gt=0.0, description="Each frame is compared with the frame about this long ago."
    )
    presence_threshold: float = Field(
        0.5,
        gt=0.0,
        lt=1.0,
        description="Modes presence / cascade: the network's P(face in view) at which it opens.",
    )
    presence_model: Path | None = Field(
        None,
        description="Presence network (ONNX); None = the shipped facegate/models/presence.onnx.",
    )


class TrackSettings(_Section):
    """Linking face detections across frames into one track per person."""

    iou_match: float = Field(
        0.3, gt=0.0, le=1.0, description="Min box overlap (IoU) to continue a track."
    )
    max_centre_shift: float = Field(
        1.0, gt=0.0, description="Else: max centre shift, in face widths, to continue a track."
    )
    max_missed_seconds: float = Field(
        1.0, gt=0.0, description="A track unseen for this long is closed."
    )
    cooldown_seconds: float = Field(
        5.0,
        ge=0.0,
        description="After a decision, the same track is not decided again for this long.",
    )


class SelectSettings(_Section):
    """Choosing the best frames of a track and fusing their distances into one decision."""

    best_k: int = Field(5, ge=1, description="Frames per track used for the decision.")
    window_seconds: float = Field(
        2.0, gt=0.0, description="Frames are collected for at most this long before deciding."
    )
    min_face_px: int = Field(
        60, ge=1, description="Faces narrower than this are never used for a decision."
    )
    min_sharpness: float = Field(
        10.0, ge=0.0, description="Chips less sharp than this (Laplacian variance) are never used."
    )
    min_frames: int = Field(
        3, ge=1, description="A track with fewer usable frames than this gets no decision."
    )
    min_candidates: int = Field(
        10,
        ge=1,
        description="Decide before the window ends once this many usable frames were seen "
        "(the best_k are chosen among them).",
    )
    good_score: float = Field(
        0.8,
        ge=0.0,
        description="Decide as soon as best_k frames each score at least this (frame score "
        "0..1: sharpness, pose, size, exposure), before min_candidates or the window; above "
        "1 turns the early decision off.",
    )
    fusion: Literal["mean_embedding", "mean_best", "median", "vote"] = Field(
        "mean_embedding",
        description="How the best frames become one decision: identify the mean of their "
        "embeddings (default), or fuse per-frame distances: mean of the best majority, median, "
        "majority vote (see decide/match.py for the measured comparison).",
    )
    max_overlap: float = Field(
        0.2,
        ge=0.0,
        le=1.0,
        description="A face whose box another face's box in the same frame covers by more than "
        "this share of its area is never used for a decision (its chip mixes two faces: on "
        "crowd_walking.mp4 a walker behind an enrolled boy was let in as him, 0.341 against "
        "0.344; bench/loop.py); liveness still watches it. 1 turns the check off.",
    )


class LivenessSettings(_Section):
    """Refusing a photo or phone screen held up to the camera (vision/liveness/, stream/)."""

    enabled: bool = Field(
        True, description="Refuse a track that shows no sign of life or shows a replay's."
    )
    level: Literal["low", "standard", "high"] = Field(
        "standard",
        description="Evidence required: low = live unless a replay cue fires or the face moved "
        "as one plane or never moved; standard = also one "
        "sign of life (face flow off a plane, parallax, blink or mouth motion); high = the turn "
        "challenge on every matched track (as challenge_always; a door whose security level is "
        "high gets it too), since a replayed video shows signs of life; "
        "after a prompt, at any level, the head turn (face flow and parallax) it asked for.",
    )
    min_frames: int = Field(5, ge=2, description="Frames a track needs before any verdict.")
    min_seconds: float = Field(
        0.5,
        ge=0.0,
        description="A track is watched at least this long (from its first frame, capped by "
        "max_wait_seconds) before its liveness verdict is taken: the motion cues compare frames "
        "0.2-0.6 s apart, and a decision after the first few good frames would see too little.",
    )
    max_wait_seconds: float = Field(
        2.0,
        ge=0.0,
        description="While a track shows no sign of life yet, its decision waits up to this long "
        "(from its first frame) for one, then asks for a head turn.",
    )
    prompt_turn_head: str = Field(
        "Please turn your head slightly", description="Shown on the door when liveness asks."
    )
    ask_seconds: float = Field(
        15.0,
        ge=0.0,
        description="After a liveness retry, tracks starting within this long must show the "
        "asked head turn; other signs of life no longer count.",
    )
    ring_face_px: int = Field(
        64, ge=16, description="Ring motion: the region is scaled so the face box is this wide."
    )
    ring_inner: float = Field(
        0.85, gt=0.5, description="Ring strips begin this far from the face centre (face widths)."
    )
    ring_outer: float = Field(
        1.7, gt=0.6, description="Ring strips end this far from the face centre (face widths)."
    )
    ring_still_px: float = Field(
        0.4, ge=0.0, description="A strip point moving less than this (scaled px) counts as still."
    )
    ring_follow_px: float = Field(
        0.6, gt=0.0, description="A strip point within this of the face's motion follows the face."
    )
    ring_follow_rel: float = Field(
        0.3,
        ge=0.0,
        description="... or within this share of the motion the face's homography predicts there.",
    )
    ring_max_points: int = Field(150, ge=16, description="Corners tracked per ring region.")
    ring_fb_max_px: float = Field(
        0.5,
        gt=0.0,
        description="Optical flow: a point tracked forward then back that misses its start by "
        "more than this (scaled px) was mistracked and is dropped.",
    )
    ring_min_telling: int = Field(
        30,
        ge=1,
        description="Strip points (over the track) that could tell, before the cue counts.",
    )
    ring_follow_max: float = Field(
        0.5,
        gt=0.0,
        le=1.0,
        description="A replay: at least this share of telling strip points moved with the face.",
    )
    flow_gap_seconds: float = Field(
        0.2,
        gt=0.0,
        description="Ring and face flow compare each frame with the track's frame at least this "
        "long before it (so the cues do not depend on the detection cadence).",
    )
    planar_gap_seconds: float = Field(
        0.6, gt=0.0, description="Landmark parallax compares frames at least this long apart."
    )
    planar_min_pose: float = Field(
        0.01,
        gt=0.0,
        description="A frame pair tells about planarity once the landmarks moved this much beyond "
        "a similarity (face sizes).",
    )
    planar_min_pairs: int = Field(3, ge=1, description="Telling pairs before planarity counts.")
    parallax_min: float = Field(
        0.015,
        gt=0.0,
        description="Sign of life: homography residual of the rigid landmarks at least this "
        "(face sizes, 75th percentile over telling pairs); below it the face moved as a plane.",
    )
    blink_min: float = Field(
        0.4, gt=0.0, description="Sign of life: the eye aspect dipped by this share (a blink)."
    )
    mouth_min: float = Field(
        0.12, gt=0.0, description="Sign of life: the mouth aspect ranged this much (10-90 %)."
    )
    flow_min: float = Field(
        0.8,
        gt=0.0,
        description="Sign of life: face points off their own best homography by this much "
        "(ring_face_px-scaled px; see flow_rank; frame pairs where the face moved).",
    )
    flow_rank: int = Field(
        2,
        ge=1,
        description="The track's face flow is its n-th largest frame-pair value (a head leaves "
        "the plane only while it turns or speaks; a picture never does; n > 1 skips one glitch; "
        "with fewer pairs, the smallest).",
    )
    flow_planar_max: float = Field(
        0.55,
        gt=0.0,
        description="Planar: below this the face moved as one plane (a picture); its landmark "
        "signs (parallax, blink, mouth) are then not counted.",
    )
    rect_search_scale: float = Field(
        4.0, gt=1.0, description="Rectangle cue: search the face box grown this much."
    )
    rect_region_px: int = Field(
        200, ge=32, description="Rectangle cue: the search region's longer side, resized."
    )
    rect_canny_low: int = Field(50, ge=0, description="Rectangle cue: Canny low threshold.")
    rect_canny_high: int = Field(150, ge=0, description="Rectangle cue: Canny high threshold.")
    rect_hough_threshold: int = Field(20, ge=1, description="Rectangle cue: HoughLinesP votes.")
    rect_hough_max_gap: float = Field(
        0.08, ge=0.0, description="Rectangle cue: gap bridged within a line (face widths)."
    )
    rect_min_side: float = Field(
        0.8, gt=0.0, description="Rectangle cue: shortest side accepted (face widths / heights)."
    )
    rect_max_tilt_deg: float = Field(
        12.0, ge=0.0, description="Rectangle cue: a side may lean this far from the axis."
    )
    rect_min_margin: float = Field(
        0.05, ge=0.0, description="Rectangle cue: a side lies at least this outside the face."
    )
    rect_max_margin: float = Field(
        1.9, gt=0.0, description="Rectangle cue: ... and at most this (beyond: the scene)."
    )
    rect_corner_tol: float = Field(
        0.25, ge=0.0, description="Rectangle cue: a horizontal side ends this near a vertical."
    )
    rect_overhang: float = Field(
        0.35, ge=0.0, description="Rectangle cue: a longer overhang beyond a vertical is no corner."
    )
    rect_present_fraction: float = Field(
        0.6, gt=0.0, le=1.0, description="Rectangle cue: a replay shows it in this share of frames."
    )
    rect_rigid_std: float = Field(
        0.15,
        gt=0.0,
        description="Rectangle cue: rigid if its sides vary by at most this (robust std).",
    )
    screen_max_margin: float = Field(
        1.0,
        gt=0.0,
        description="Screen sides: a held artifact's side lies at most this far outside the face "
        "box (face widths); a scene edge that near is hidden below the chin by the shoulders.",
    )
    screen_reach_above: float = Field(
        0.33,
        ge=0.0,
        description="Screen sides: a side starts above this share of the face's height (from its "
        "top).",
    )
    screen_reach_below: float = Field(
        0.6,
        gt=0.0,
        description="Screen sides: ... and runs at least this far below the face's bottom (face "
        "heights), where a real person's neck and shoulders would hide an edge behind them.",
    )
    screen_join_px: float = Field(
        0.04,
        ge=0.0,
        description="Screen sides: vertical pieces this near in x (face widths) are one edge.",
    )
    screen_join_gap: float = Field(
        0.15,
        ge=0.0,
        description="Screen sides: ... joined across gaps up to this long (face heights).",
    )
    screen_present_fraction: float = Field(
        0.3,
        gt=0.0,
        le=1.0,
        description="Screen sides: a track showing them in this share of its frames is a replay.",
    )
    backdrop_enabled: bool = Field(
        True,
        description="Backdrop cue: a face whose sides hide the fixed camera's learned scene is a "
        "replay (turn off for a camera that moves).",
    )
    backdrop_width: int = Field(
        320,
        ge=32,
        le=1280,
        description="Backdrop: the camera's empty scene is learned at this width (px; frames "
        "are shrunk to it, which also averages sensor noise).",
    )
    backdrop_adapt_levels: float = Field(
        4.0,
        gt=0.0,
        description="Backdrop: each learned pixel steps toward the frame by at most this many "
        "levels (0-255) per second (a running median: someone passing barely marks it, a "
        "lasting change is learned in about its size / this seconds).",
    )
    backdrop_learn_seconds: float = Field(
        1.0,
        ge=0.0,
        description="Backdrop: the cue judges only once the camera has watched this long (after "
        "a start or a change of frame size); until then it abstains.",
    )
    backdrop_side_inner: float = Field(
        1.1,
        gt=0.5,
        description="Backdrop: the patches beside the face start this far from its centre (face "
        "widths): beyond the hair and ears.",
    )
    backdrop_side_outer: float = Field(
        1.6,
        gt=0.5,
        description="Backdrop: ... and end this far (face widths); a live neighbour's face is "
        "at least a shoulder width away.",
    )
    backdrop_side_top: float = Field(
        -0.45,
        ge=-2.0,
        le=2.0,
        description="Backdrop: the patches span from this far from the face's centre "
        "(face heights, negative = above) ...",
    )
    backdrop_side_bottom: float = Field(
        0.1,
        ge=-2.0,
        le=2.0,
        description="Backdrop: ... to this far (eye level, above the shoulders).",
    )
    backdrop_min_patch_px: int = Field(
        16,
        ge=1,
        description="Backdrop: a side with less of its patch in view (model pixels) is not judged.",
    )
    backdrop_max_gain: float = Field(
        1.3,
        ge=1.0,
        description="Backdrop: a patch may be brighter or darker than the learned scene by this "
        "factor about the frame's light (the camera's exposure) and still be the scene.",
    )
    backdrop_max_light: float = Field(
        4.0,
        ge=1.0,
        description="Backdrop: the whole frame may be brighter or darker than the learned scene "
        "by up to this factor (its median ratio: a light switched on as someone comes) and "
        "still be compared with it, the patches within backdrop_max_gain of that.",
    )
    backdrop_diff_max: float = Field(
        18.0,
        gt=0.0,
        description="Backdrop: a patch whose mean difference from the learned scene (levels, "
        "after the gain) exceeds this hides the scene.",
    )
    backdrop_settled_share: float = Field(
        0.3,
        gt=0.0,
        le=1.0,
        description="Backdrop: a frame with at most this share of its pixels off the learned "
        "scene matches it as a whole (the camera has not moved, nothing fills its view).",
    )
    backdrop_settle_seconds: float = Field(
        120.0,
        ge=0.0,
        description="Backdrop: the cue judges a face only while some frame of the last this many "
        "seconds matched the scene as a whole; a camera that moves (or a scene never still) "
        "abstains. Long, so that covering the view a while first does not turn the cue off "
        "(and a body standing still is learned into the scene within seconds).",
    )
    backdrop_hidden_fraction: float = Field(
        0.6,
        gt=0.0,
        le=1.0,
        description="Backdrop: a track whose judged frames hide the scene on every side in view "
        "in at least this share (with liveness.min_frames judged) is a replay.",
    )
    parallax_min_motion: float = Field(
        0.4,
        ge=0.0,
        description="Nose parallax counts as a sign of life only on a face whose own points "
        "moved at least this (ring_face_px-scaled px, as face_motion): on a face that barely "
        "moved, it is the 68-point fit's jitter.",
    )
    challenge_always: bool = Field(
        False,
        description="Challenge: every matched track is first asked to turn its head to a side "
        "drawn at random per attempt (left or right), and only a track that then turns that way "
        "is let in. A recording cannot know the side, so this stops a replayed video (which "
        "blinks, talks and moves like a head) at the cost of the answer's time for everyone.",
    )
    challenge_seconds: float = Field(
        3.0,
        gt=0.0,
        description="Challenge: the asked turn must show within this long of the answering "
        "track's first frame.",
    )
    challenge_min_turn: float = Field(
        0.035,
        gt=0.0,
        description="Challenge: the nose tip must move at least this far toward the asked side, "
        "from its place before challenge_reaction_seconds (jaw widths; about 8-15 degrees).",
    )
    challenge_max_away: float = Field(
        0.5,
        ge=0.0,
        description="Challenge: ... while its excursion to the other side stays below this share "
        "of that (a head swinging both ways, as a recording may, is no answer).",
    )
    challenge_reaction_seconds: float = Field(
        0.5,
        ge=0.0,
        description="Challenge: nobody reads a prompt and turns faster than this (a choice "
        "reaction): the answering track's frames before it fix where the nose starts, only "
        "later frames can answer (a recording's turn in that time does not count).",
    )
    challenge_mirrored: bool = Field(
        False, description="Challenge: the camera image is mirrored (left and right swapped)."
    )
    prompt_turn_left: str = Field(
        "Please turn your head to your left", description="Shown when the challenge asks left."
    )
    prompt_turn_right: str = Field(
        "Please turn your head to your right", description="Shown when the challenge asks right."
    )
    frozen_max_px: float = Field(
        0.15,
        ge=0.0,
        description="Frozen: a face whose own points (optical flow, ring_face_px-scaled px) moved "
        "less than this between frames flow_gap_seconds apart (its flow_rank-th largest pair) "
        "never moved: a poster or a print held on a stand. Its landmark signs (blink, mouth, "
        "parallax) are the landmark fit's jitter, not life; it is not live at any level (0 = off).",
    )
    frozen_min_pairs: int = Field(
        3, ge=1, description="Frozen: frame pairs with a face motion measured before it counts."
    )
    frozen_hold_seconds: float = Field(
        300.0,
        ge=0.0,
        description="A track denied as frozen (a poster on the wall) is not decided again for "
        "this long while it stays tracked (others rest track.cooldown_seconds), so a poster "
        "does not log a refusal every few seconds; a person who leaves and returns is a new "
        "track.",
    )
    challenge_max_asks: int = Field(
        2,
        ge=1,
        description="Challenge: failed answers one track may give (a turn to the other side, or "
        "no turn within challenge_seconds) before its verdict is challenge_failed: not live, not "
        "asked again; the loop denies it not_live and rests the track "
        "challenge_fail_hold_seconds. Until then each failed answer asks a new random side.",
    )
    challenge_rounds: int = Field(
        1,
        ge=1,
        description="Challenge: sides (each drawn at random) a track must answer correctly in a "
        "row before it is live; a failed answer starts the row again. Each round halves a "
        "recording's chance and adds about one answer's time (0.9 s) for everyone.",
    )
    challenge_fail_hold_seconds: float = Field(
        60.0,
        ge=0.0,
        description="Challenge: a track denied challenge_failed is not decided again for this "
        "long while it stays tracked (others rest track.cooldown_seconds): a phone held up does "
        "not get new asks every few seconds.",
    )
    challenge_fail_limit: int = Field(
        3,
        ge=1,
        description="Challenge: after this many tracks matching one person were denied "
        "challenge_failed at one camera within challenge_fail_window_seconds, the loop denies "
        "that person's face there rate_limited (no more asks) until the oldest failure leaves "
        "the window: a replay held up again and again (a new track each time) cannot retry "
        "forever, and a phone held up cannot lock everyone else out. Where a centre rules "
        "(run --server: it names no one) the count is the camera's.",
    )
    challenge_fail_camera_limit: int = Field(
        10,
        ge=1,
        description="Challenge: after this many challenge_failed tracks at one camera, of "
        "anyone, within challenge_fail_window_seconds, the loop denies every face there "
        "rate_limited (replays of many people, one after another).",
    )
    challenge_fail_window_seconds: float = Field(
        600.0, gt=0.0, description="Challenge: the sliding window challenge_fail_limit counts in."
    )


class SourceSettings(_Section):
    """Reading frames from a camera, stream or file."""

    reconnect_seconds: float = Field(
        2.0, ge=0.0, description="Wait this long before reopening a live source that stalled."
    )
    max_stall_seconds: float = Field(
        5.0, gt=0.0, description="A live source without a frame for this long is reopened."
    )
    max_reconnects: int = Field(
        10, ge=1, description="Consecutive failed reopen tries before the source counts as lost."
    )
    prefetch_frames: int = Field(
        8,
        ge=0,
        description="Frames decoded ahead on a reader thread (0 = decode in the loop's thread). "
        "A live source drops its oldest queued frame when the loop falls behind; a file waits.",
    )


class LoopSettings(_Section):
    """The access loop at one door."""

    door: str = Field("main", min_length=1, description="Name of the door this loop guards.")
    detect_max_side: int = Field(
        640, ge=64, description="Frames are downscaled to this longer side for detection."
    )
    tta_mirror: bool = Field(
        False,
        description="Mirror TTA for the loop's embeddings. Off by default: fusing a track's best "
        "frames already averages several views, and it halves the embedding cost (crowd video "
        "1080p: 26.5 instead of 22.0 frames/s, bench/loop.py).",
    )
    tta_paddings: tuple[Annotated[float, Field(ge=0.0, le=1.0)], ...] = Field(
        (),
        max_length=4,
        description="vision.tta_paddings for the loop's embeddings. None by default, for the "
        "reason of tta_mirror: a track's fused best frames are already several views.",
    )
    detect_every: int = Field(
        1,
        ge=1,
        description="Run the face detector on every n-th frame past the gate; the tracker "
        "bridges the frames between. 1 (every frame) with YuNet; HOG needed 3 to keep up.",
    )
    retry_margin: float = Field(
        0.05,
        ge=0.0,
        le=MAX_DISTANCE,
        allow_inf_nan=False,
        description="Fused distances within this above the threshold ask the person to retry "
        "instead of denying.",
    )
    attempt_window_seconds: float = Field(
        60.0, gt=0.0, description="A new decision for the same person within this is a re-try."
    )
    gallery_refresh_seconds: float = Field(
        10.0,
        gt=0.0,
        description="How often the loop re-reads its door's rules and, on SQLite, reloads its "
        "in-memory copy of the gallery's embeddings (when the file changed).",
    )
    early_decide: bool = Field(
        True,
        description="Decide a track as soon as its match is clear (stream/early.py): a deny "
        "without waiting for the best frames or for liveness (liveness is only proven before an "
        "unlock), an unlock once liveness found the face live, without waiting for more frames. "
        "Off: every track waits for select's counts and liveness's wait. Not under run --server.",
    )
    early_deny_margin: float = Field(
        0.1,
        ge=0.0,
        le=MAX_DISTANCE,
        allow_inf_nan=False,
        description="An early deny of nobody named needs a fused distance this far above the "
        "door's threshold (LFW: 0.3 % of same-person pairs lie beyond 1:N threshold + 0.1, "
        "data/genuine_dist.json; closer faces wait for the usual rule, which may ask to retry).",
    )
    early_unlock_margin: float = Field(
        0.05,
        ge=0.0,
        le=MAX_DISTANCE,
        allow_inf_nan=False,
        description="An early unlock (or early deny of a named person the door refuses) needs a "
        "fused distance this far below the threshold: each early look then names a stranger "
        "about 30x less often than the door's identify_fpir (3e-5 against 1e-3 at 5 enrolled, "
        "shipped impostor table), so looks on every frame add little to the door's rate.",
    )
    early_min_frames: int = Field(
        3,
        ge=1,
        description="Usable frames a track keeps before an early decision is tried; each try "
        "embeds only the frames kept since the last.",
    )


class ActionsSettings(_Section):
    """Where each decision is sent (webhooks, MQTT, a command) and how hard delivery is tried."""

    webhooks: tuple[str, ...] = Field(
        (),
        description="http(s) URLs each decision is POSTed to as JSON (in the environment: "
        "separated by spaces).",
    )
    mqtt: str | None = Field(
        None,
        description="MQTT broker as mqtt://[user:pass@]host[:port][/prefix]; each decision is "
        "published to <prefix>/<door>/decision and the retained <prefix>/<door>/state.",
    )
    mqtt_prefix: str = Field(
        "facegate", min_length=1, description="Topic prefix when the MQTT URL has no path."
    )
    command: str | None = Field(
        None,
        description="Command run per decision (split like a shell line, run without one; event "
        "JSON on stdin, FACEGATE_DECISION / _PERSON / _DOOR set).",
    )
    timeout_s: float = Field(2.0, gt=0.0, description="Time limit of one try of one output.")
    retries: int = Field(3, ge=1, description="Tries per output and event before giving up.")
    backoff_s: float = Field(
        0.2, ge=0.0, description="Pause after the first failed try; doubled after each next one."
    )

    @field_validator("webhooks", mode="before")
    @classmethod
    def _split_words(cls, value: Any) -> Any:
        """Accept one string of space-separated URLs (as environment variables give them)."""
        return tuple(value.split()) if isinstance(value, str) else value


DRIFT_FEATURES = ("brightness", "sharpness", "focus", "face_px", "distance")
RATE_METRICS = (
    "accept_rate",
    "reject_rate",
    "unknown_rate",
    "retry_rate",
    "reauth_rate",
    "latency_p50_ms",
    "latency_p95_ms",
    "faces_per_hour",
)
ALARM_METRICS = (*RATE_METRICS, *(f"psi_{feature}" for feature in DRIFT_FEATURES))


class DashboardSettings(_Section):
    """The dashboard page and `facegate report`: the time range shown and its buckets."""

    range_hours: float = Field(168.0, gt=0.0, description="Hours of events shown (7 days).")
    bucket_hours: float = Field(
        6.0, gt=0.0, description="Width of one time bucket in the charts over time."
    )
    distance_bins: int = Field(
        24, ge=2, description="Bins of the accepted / rejected distance histograms."
    )


class DriftSettings(_Section):
    """Comparing a recent window of events with a reference window (PSI and KS per feature)."""

    recent_hours: float = Field(24.0, gt=0.0, description="The recent window: the last hours.")
    reference_days: float = Field(
        7.0, gt=0.0, description="The reference window: these days before the recent window."
    )
    reference_since: str | None = Field(
        None, description="A fixed reference window instead (ISO 8601 start; needs the end)."
    )
    reference_until: str | None = Field(
        None, description="End (exclusive) of the fixed reference window (ISO 8601)."
    )
    features: tuple[Literal[DRIFT_FEATURES], ...] = Field(
        DRIFT_FEATURES,
        description="Features compared: face_quality brightness / sharpness / focus / face_px "
        "and the decision distance.",
    )
    bins: int = Field(10, ge=2, description="PSI bins (quantiles of the reference window).")
    psi_max: float = Field(
        0.25, gt=0.0, description="A feature whose PSI reaches this has shifted (0.25: major)."
    )
    ks_max: float = Field(
        0.2,
        gt=0.0,
        le=1.0,
        description="A feature whose KS statistic reaches this (with p < ks_alpha) has shifted.",
    )
    ks_alpha: float = Field(0.01, gt=0.0, lt=1.0, description="KS p-value needed to flag.")
    min_samples: int = Field(
        30, ge=2, description="Each window needs this many values of a feature to be compared."
    )

    @field_validator("reference_since", "reference_until")
    @classmethod
    def _iso_time(cls, value: str | None) -> str | None:
        """Refuse a reference bound that is not an ISO 8601 time."""
        if value is not None:
            datetime.fromisoformat(value)
        return value

    @model_validator(mode="after")
    def _both_reference_bounds(self) -> DriftSettings:
        """Refuse a fixed reference window with only one end."""
        if (self.reference_since is None) != (self.reference_until is None):
            raise ValueError("drift.reference_since and drift.reference_until go together")
        return self


class AlarmsSettings(_Section):
    """Bounds on the monitored metrics, checked on a schedule; a breach fires once, then clears."""

    max: dict[str, float] = Field(
        {},
        description="Upper bounds by metric, e.g. unknown_rate = 0.2, reauth_rate = 0.15, "
        "latency_p95_ms = 2000, psi_brightness = 0.25.",
    )
    min: dict[str, float] = Field(
        {}, description="Lower bounds by metric, e.g. faces_per_hour = 1, accept_rate = 0.5."
    )
    window_minutes: float = Field(
        60.0, gt=0.0, description="Rates are measured over the last minutes (drift: see drift)."
    )
    min_events: int = Field(
        20, ge=1, description="Rate and latency bounds are checked once the window has this many."
    )
    per_door: bool = Field(True, description="Check every door as well as all doors together.")
    interval_seconds: float = Field(
        60.0, gt=0.0, description="How often `facegate alarms watch` checks the bounds."
    )
    webhooks: tuple[str, ...] = Field(
        (), description="http(s) URLs each alarm and recovery is POSTed to as JSON."
    )
    mqtt: str | None = Field(
        None,
        description="MQTT broker (as in actions.mqtt); alarms go to "
        "<prefix>/alarm/<scope>/<metric> and the retained .../state (ON / OFF).",
    )
    command: str | None = Field(None, description="Command run per alarm and recovery.")
    log: bool = Field(
        True,
        description="Write each alarm and recovery as a log line (the `alarms` commands print "
        "each one themselves instead, so it is not shown twice).",
    )

    @field_validator("max", "min")
    @classmethod
    def _known_metrics(cls, value: dict[str, float]) -> dict[str, float]:
        """Refuse bounds on metrics facegate does not measure."""
        unknown = sorted(set(value) - set(ALARM_METRICS))
        if unknown:
            raise ValueError(f"unknown alarm metrics {unknown}; known: {list(ALARM_METRICS)}")
        return value

    @field_validator("webhooks", mode="before")
    @classmethod
    def _split_words(cls, value: Any) -> Any:
        """Accept one string of space-separated URLs (as environment variables give them)."""
        return tuple(value.split()) if isinstance(value, str) else value


class ServiceSettings(_Section):
    """The HTTP service (`facegate serve`): where it listens and what it accepts."""

    host: str = Field("127.0.0.1", min_length=1, description="Address the server listens on.")
    port: int = Field(8080, ge=0, le=65535, description="TCP port the server listens on.")
    max_upload_bytes: int = Field(
        20 * 1024 * 1024,
        gt=0,
        description="Largest request body accepted (all parts of a multipart upload together); "
        "a larger Content-Length is refused before the body is read, a longer stream when it "
        "passes the limit. Each image must also fit media.max_bytes and media.max_pixels.",
    )
    max_images: int = Field(10, ge=1, description="Most images one enrollment request may carry.")
    max_page: int = Field(500, ge=1, description="Most events one GET /v1/events page returns.")
    events: Path | None = Field(
        None, description="Event log SQLite file (default: the gallery's file)."
    )
    keys: Path | None = Field(
        None, description="API key SQLite file (default: the gallery's file)."
    )
    threads: int = Field(
        40,
        ge=1,
        le=1000,
        description="Threads running request handlers per worker. Each holds its own database "
        "connections (5 on PostgreSQL), so keep workers x threads x 5 under the server's "
        "max_connections.",
    )


class DoorsSettings(_Section):
    """Doors as stored objects (`facegate doors`): security levels, site time, rate limits."""

    timezone: str = Field(
        "UTC",
        description="The site's time zone (IANA name, e.g. 'Europe/Berlin'): door schedules and "
        "validity dates are read in it.",
    )
    unconfigured: Literal["auto", "open", "closed"] = Field(
        "auto",
        description="A door name nobody configured: 'open' admits everyone enrolled (global "
        "threshold), 'closed' refuses everyone (reason unknown_door), 'auto' is open while the "
        "site has no configured door and closed once it has one (a typo must not admit all).",
    )
    low_far: float = Field(
        0.01,
        gt=0.0,
        lt=1.0,
        description="Target false-accept rate of level 'low' (FPIR for identify doors, FAR per "
        "comparison for verify doors), e.g. a dining hall.",
    )
    standard_far: float = Field(
        0.001, gt=0.0, lt=1.0, description="Target false-accept rate of level 'standard'."
    )
    high_far: float = Field(
        0.0001,
        gt=0.0,
        lt=1.0,
        description="Target false-accept rate of level 'high', e.g. a server room.",
    )
    rate_limit_failures: int = Field(
        5,
        ge=1,
        description="Failed attempts (deny or retry) per API key and per door within "
        "rate_limit_window_seconds after which further checks answer 429 rate_limited; an edge "
        "door deciding from its copy while the centre is away keeps the same limit itself.",
    )
    rate_limit_window_seconds: float = Field(
        60.0, gt=0.0, description="The sliding window the failed attempts are counted in."
    )
    rate_limit_stale_seconds: float = Field(
        60.0,
        gt=0.0,
        description="An attempt still in flight after this long (its worker died) stops "
        "holding a place in the failure limit.",
    )
    rate_limit_poll_seconds: float = Field(
        0.05,
        gt=0.0,
        le=1.0,
        description="While the failures so far plus the attempts in flight reach the limit, a "
        "new attempt waits and asks again this often whether one of them has ended.",
    )

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        """Accept only a time zone the system's tz database knows."""
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"unknown time zone {value!r}") from exc
        return value


class UiSettings(_Section):
    """The admin web UI under /ui/ (`facegate serve`): sessions, login limits, page sizes."""

    session_seconds: float = Field(
        8 * 3600.0,
        gt=0.0,
        description="A login session lasts this long from login (the cookie's Max-Age too); "
        "logout or revoking its key ends it sooner.",
    )
    login_failures: int = Field(
        10,
        ge=1,
        description="Failed logins per client address within login_window_seconds after which "
        "further logins are refused (each service worker counts its own share).",
    )
    login_window_seconds: float = Field(
        300.0, gt=0.0, description="The sliding window failed logins are counted in."
    )
    page_size: int = Field(50, ge=1, le=500, description="Rows per page of people and events.")
    poll_seconds: float = Field(
        5.0, gt=0.0, description="How often the events page asks for new events."
    )
    login_form_seconds: int = Field(
        3600, ge=60, description="How long a login form stays usable (its anti-forgery token)."
    )
    static_cache_seconds: int = Field(
        300, ge=0, description="How long browsers may cache the UI's stylesheet and script."
    )


class CropsSettings(_Section):
    """Event crops: an opt-in small face image stored beside each camera-loop decision."""

    enabled: bool = Field(
        False,
        description="Store a JPEG of the decided track's best aligned chip beside each event "
        "the camera loop logs (off: no face image is ever stored; templates sent to the "
        "service carry none). Needs retention_days.",
    )
    retention_days: float | None = Field(
        None,
        gt=0.0,
        description="Crops older than this many days are deleted (on each append, at most "
        "purge_batch at a time) and never served; required when enabled.",
    )
    size: int = Field(150, ge=32, le=300, description="Side of the stored crop in pixels.")
    quality: int = Field(80, ge=10, le=95, description="JPEG quality of a stored crop.")
    purge_batch: int = Field(
        200, ge=1, description="At most this many expired crops are deleted per append."
    )

    @model_validator(mode="after")
    def _retention_when_on(self) -> CropsSettings:
        """Refuse crops turned on without a retention limit."""
        if self.enabled and self.retention_days is None:
            raise ValueError("crops.enabled needs crops.retention_days (> 0)")
        return self


class PostgresSettings(_Section):
    """The PostgreSQL + pgvector backend (a `postgresql://` URL as --db or FACEGATE_DB)."""

    hnsw_m: int = Field(
        16, ge=2, le=100, description="pgvector HNSW index: links per node (m) per model index."
    )
    hnsw_ef_construction: int = Field(
        64, ge=4, le=1000, description="pgvector HNSW index: candidate list size while building."
    )
    ef_search: int = Field(
        100,
        ge=1,
        le=1000,
        description="pgvector HNSW: candidate list size per search (raised to k when k is larger).",
    )
    busy_timeout_s: float = Field(
        15.0, gt=0, description="Longest wait for a row or table lock before a write fails."
    )
    connect_timeout_s: int = Field(10, ge=1, description="Longest wait to connect to the server.")


class AnnSettings(_Section):
    """The approximate nearest-neighbour index beside a SQLite gallery (faiss).

    The default, a 4-bit product-quantiser scan whose best `candidates` are re-ranked exactly,
    measured recall@1 100 % of exact search at 1M identities (bench/gallery_scale.py).
    """

    min_vectors: int = Field(
        50_000,
        ge=0,
        description="Below this many vectors of a model, search scans them exactly in numpy.",
    )
    factory: str = Field(
        "PQ64x4fs",
        min_length=1,
        description="faiss index_factory string of the index (e.g. 'PQ64x4fs', 'HNSW32,Flat').",
    )
    params: str = Field(
        "",
        description="faiss parameters, 'name=value,...': efConstruction (HNSW, before adding), "
        "then anything faiss.ParameterSpace takes (efSearch, nprobe).",
    )
    candidates: int = Field(
        512, ge=1, le=10_000, description="Candidates the index proposes, re-ranked exactly."
    )
    rebuild_fraction: float = Field(
        0.2, gt=0, le=1, description="Rebuild the index once this share of its entries is dead."
    )
    threads: int = Field(1, ge=1, le=64, description="faiss threads per search or build.")


class ScaleSettings(_Section):
    """`facegate serve` across processes: workers and graceful shutdown."""

    workers: int = Field(
        1,
        ge=1,
        le=64,
        description="Worker processes of `facegate serve` (each loads the face models once); "
        "more than one needs a PostgreSQL database or accepts SQLite's one-writer-at-a-time.",
    )
    shutdown_grace_s: float = Field(
        30.0,
        gt=0,
        description="On SIGTERM/Ctrl-C, how long in-flight requests may run to completion "
        "(their events are logged) before the server stops anyway.",
    )


class EdgeSettings(_Section):
    """A door that sends templates to a central service (`run --server`), and that centre."""

    timeout_seconds: float = Field(
        3.0,
        gt=0.0,
        le=60.0,
        description="How long a door waits for the centre's answer; past it (or on a refused "
        "connection or a 5xx) the centre counts as unreachable and the door denies.",
    )
    retry_seconds: float = Field(
        2.0,
        gt=0.0,
        description="How often a door retries delivering its queued (offline) events.",
    )
    outbox: str | None = Field(
        None,
        description="The door's SQLite outbox of undelivered events (default: edge-outbox.db "
        "in the user data dir).",
    )
    key: SecretStr | None = Field(
        None,
        description="The door-scope API key `run --server` sends (set it as FACEGATE_EDGE__KEY "
        "rather than --key, which `ps` shows to every user of the machine).",
    )
    unit_tolerance: float = Field(
        1e-3,
        gt=0.0,
        le=0.1,
        description="Centre: a template's Euclidean norm must be within this of 1.",
    )
    max_age_seconds: float = Field(
        7 * 86400.0,
        gt=0.0,
        description="Centre: a queued event older than this (by the door's clock) is refused.",
    )
    max_skew_seconds: float = Field(
        300.0,
        ge=0.0,
        description="Centre: a door's event time may lie at most this far in the future.",
    )
    offline: Literal["deny", "cache"] = Field(
        "deny",
        description="Door: what it does while the centre is unreachable: 'deny' everyone "
        "(centre_unreachable), or 'cache': decide from its copy of the door's allowed people "
        "(fetched from the centre; see edge.copy_*), deny once that copy is too old.",
    )
    copy_path: str | None = Field(
        None,
        description="Door: the file of its copy of the door's allowed people (mode 0600; "
        "default: door-copy-DOOR.json in the user data dir).",
    )
    copy_refresh_seconds: float = Field(
        300.0,
        gt=0.0,
        description="Door (offline = cache): how often it fetches its copy again (and on start).",
    )
    copy_max_age_seconds: float = Field(
        86400.0,
        gt=0.0,
        description="Door (offline = cache): a copy fetched longer ago than this is not used; "
        "the door denies (centre_unreachable) until a fresh one arrives.",
    )
    serve_copies: bool = Field(
        False,
        description="Centre: hand doors their copy of the allowed people (names, groups, dates, "
        "face vectors) at GET /v1/templates/copy; off: 403 (no door can decide offline).",
    )


class AudioSettings(_Section):
    """The wake-phrase cascade: audio input, voice activity, the trigger model (see audio/)."""

    sample_rate: int = Field(
        16000, description="Rate every source is resampled to (the VAD and the model expect it)."
    )
    min_input_rate: int = Field(
        8000, gt=0, description="Refuse audio recorded at a lower rate than this (Hz)."
    )
    max_input_rate: int = Field(
        192000, gt=0, description="Refuse audio recorded at a higher rate than this (Hz)."
    )
    max_file_seconds: float = Field(
        3600.0, gt=0.0, description="Refuse WAV files longer than this (read whole into memory)."
    )
    block_samples: int = Field(
        512, description="Samples per cascade block at 16 kHz (Silero VAD needs exactly 512)."
    )
    mic_device: str | None = Field(
        None, description="PortAudio input device name or index for MIC (default: the system's)."
    )
    energy_dbfs: float = Field(
        -55.0,
        description="Stage 1: blocks quieter than this RMS level (dB full scale) are silence; "
        "only louder blocks reach the VAD network.",
    )
    vad: Literal["silero", "energy"] = Field(
        "silero",
        description="Stage 2: 'silero' (Silero VAD ONNX, from the silero-vad wheel) or 'energy' "
        "(stage 1 alone decides).",
    )
    vad_threshold: float = Field(
        0.4, ge=0.0, le=1.0, description="Silero speech probability that counts a block as speech."
    )
    vad_sha256: str = Field(
        "1a153a22f4509e292a94e67d6f9b85e8deb25b4988682b7e174c65279d8788e3",
        description="sha256 of silero_vad/data/silero_vad.onnx (silero-vad 6.2.3); a file that "
        "differs is refused.",
    )
    energy_holds_open: bool = Field(
        True,
        description="While the trigger model listens, loud blocks (stage 1) keep it listening "
        "without asking the VAD network: the VAD only wakes the model, so continuous speech "
        "does not pay for both.",
    )
    hangover_s: float = Field(
        1.2,
        gt=0.0,
        description="The trigger model keeps listening this long after the last speech block "
        "(it fires just after the phrase ends).",
    )
    preroll_s: float = Field(
        0.8,
        ge=0.0,
        description="Audio kept from before speech starts and fed to the model when it wakes, "
        "so the phrase's first syllable is not lost to the VAD's delay.",
    )
    model: str = Field(
        "activate",
        description="Trigger model: a phrase name shipped in facegate/models (trigger-NAME.onnx) "
        "or a path to an .onnx file from `facegate train-trigger` (its .json card beside it).",
    )
    threshold: float | None = Field(
        None,
        ge=0.0,
        le=1.0,
        description="Score the model's output must exceed (default: the model card's, chosen on "
        "held-out clips when it was trained).",
    )
    hold_steps: int = Field(
        2, ge=1, description="Consecutive output steps above the threshold that make a detection."
    )
    refractory_s: float = Field(
        1.5, ge=0.0, description="After a detection, no other is reported for this long."
    )
    wake_seconds: float = Field(
        20.0,
        gt=0.0,
        description="`run --wake-on`: the camera loop's gate stays open this long after the "
        "phrase is heard.",
    )


class TriggerTrainSettings(_Section):
    """Training a trigger model (`facegate train-trigger`, see training/trigger_*.py)."""

    clip_seconds: float = Field(10.0, gt=0.0, description="Length of each synthesised clip.")
    label_seconds: float = Field(
        0.5, gt=0.0, description="The label is 1 for this long right after the phrase ends."
    )
    n_fft: int = Field(200, description="Spectrogram window (samples at 16 kHz; 101 bins).")
    hop: int = Field(160, description="Spectrogram hop (samples at 16 kHz: 10 ms).")
    conv_channels: int = Field(64, ge=1, description="Filters of the strided 1-D convolution.")
    conv_kernel: int = Field(15, ge=1, description="Kernel (spectrogram frames) of the conv.")
    conv_stride: int = Field(4, ge=1, description="Stride of the conv (frames per output step).")
    gru_hidden: int = Field(64, ge=1, description="Units of each GRU layer.")
    gru_layers: int = Field(2, ge=1, description="Stacked GRU layers.")
    dropout: float = Field(0.2, ge=0.0, lt=1.0, description="Dropout after the conv and GRUs.")
    train_clips: int = Field(3000, ge=1, description="Synthesised training clips.")
    val_clips: int = Field(300, ge=1, description="Synthesised held-out clips (threshold, card).")
    positives_max: int = Field(3, ge=0, description="At most this many phrases per clip.")
    negatives_max: int = Field(4, ge=0, description="At most this many other words per clip.")
    positive_share: float = Field(
        0.85, ge=0.0, le=1.0, description="Share of clips that hold at least one phrase."
    )
    espeak_voices: int = Field(
        60, ge=1, description="espeak-ng voice+variant combinations drawn to speak each word."
    )
    words_per_negative: int = Field(
        6, ge=1, description="espeak-ng renderings (voices, speeds, pitches) of each other word."
    )
    phrase_renderings: int = Field(
        240, ge=1, description="espeak-ng renderings of the phrase (voices, speeds, pitches)."
    )
    flite_renderings: int = Field(
        120,
        ge=0,
        description="flite renderings of the phrase (its CMU voices, statistical voices built "
        "from real speakers: closer to a human than espeak-ng's formants); 0 = none.",
    )
    flite_per_negative: int = Field(
        3, ge=0, description="flite renderings (voices, stretch, pitch) of each other word."
    )
    max_real_negatives: int = Field(
        400,
        ge=0,
        description="At most this many real negative recordings are drawn (so human voices are "
        "not almost only negatives when the phrase itself is synthesised).",
    )
    noise_share: float = Field(
        0.5, ge=0.0, le=1.0, description="Share of clips with added white/pink noise."
    )
    reverb_share: float = Field(
        0.3, ge=0.0, le=1.0, description="Share of clips convolved with a synthetic room."
    )
    lowpass_share: float = Field(
        0.5,
        ge=0.0,
        le=1.0,
        description="Share of inserted words low-passed (telephone-like and 8 kHz recordings), "
        "so bandwidth tells the model nothing about which words are the phrase.",
    )
    lowpass_hz: tuple[float, float] = Field(
        (2800.0, 7000.0), description="Range of the low-pass cutoff drawn for such a word (Hz)."
    )
    speed_range: float = Field(
        0.12, ge=0.0, lt=0.5, description="Word speed is changed by up to +- this fraction."
    )
    gain_db_range: tuple[float, float] = Field(
        (-20.0, 0.0), description="Gain (dB) drawn for each inserted word."
    )
    freq_warp: float = Field(
        0.15,
        ge=0.0,
        lt=0.5,
        description="Training batches' spectrograms are stretched along frequency by up to +- "
        "this fraction (vocal-tract length differs between voices and synthesisers).",
    )
    freq_mask_bins: int = Field(
        12,
        ge=0,
        description="Each training clip has two frequency bands of up to this many "
        "bins masked (SpecAugment).",
    )
    time_mask_frames: int = Field(
        20, ge=0, description="...and two spans of up to this many frames masked (0 = none)."
    )
    epochs: int = Field(20, ge=1, description="Passes over the training clips.")
    batch_size: int = Field(32, ge=1, description="Clips per training step.")
    learning_rate: float = Field(2e-3, gt=0.0, description="Adam learning rate.")
    positive_weight: float = Field(
        4.0, gt=0.0, description="Loss weight of label-1 steps (they are rare)."
    )
    trim_dbfs: float = Field(
        -40.0, description="Word recordings are trimmed to where 10 ms frames exceed this level."
    )
    target_false_per_hour: float = Field(
        1.0,
        gt=0.0,
        description="The card's threshold is the lowest whose false detections per hour on the "
        "held-out real non-phrase clips (when real negatives are given; else the held-out "
        "synthetic clips) stay within this.",
    )
    match_tolerance_s: float = Field(
        0.5,
        gt=0.0,
        description="A detection counts for a phrase when it lands within this of the phrase's "
        "end (held-out figures and threshold choice).",
    )
    # fmt: off
    negative_words: tuple[str, ...] = Field(
        (
            "zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten",
            "hello", "door", "open", "close", "please", "thanks", "yes", "no", "stop", "go", "left",
            "right", "up", "down", "morning", "evening", "coffee", "water", "window", "kitchen",
            "table", "paper", "music", "phone", "message", "computer", "elevator", "package",
            "delivery", "active", "activity", "action", "actor", "acted", "captivate", "cultivate",
            "motivate", "navigate", "activism", "vacate", "elevate", "estimate", "accurate",
            "alligator", "aggravate", "tape", "cat", "date", "gate", "late",
            "weight", "mine", "line", "fine", "nice", "night", "wine", "dine", "sign",
        ),
        description="Words espeak-ng speaks as negatives (the phrase's own words are left out).",
    )
    # fmt: on
    seed: int = Field(0, description="Seed for synthesis, augmentation and training.")
    threads: int = Field(1, ge=1, description="torch CPU threads while training.")
    real_positive_share: float = Field(
        0.5,
        ge=0.0,
        le=1.0,
        description="Share of inserted phrases drawn from the real recordings when any are given "
        "(the rest from the synthesisers), so a few real voices are not drowned out.",
    )
    voice_share: float = Field(
        0.6,
        ge=0.0,
        le=1.0,
        description="Share of inserted words, phrase and others alike, given a voice change "
        "(pitch/formant warp and EQ, training/trigger_voice.py).",
    )
    voice_warp: tuple[float, float] = Field(
        (0.84, 1.2),
        description="Range of the voice change's frequency factor (pitch and formants together).",
    )
    voice_eq_db: float = Field(
        5.0, ge=0.0, description="Spread (dB, one sigma) of the voice change's random EQ curve."
    )
    negatives_by_group: bool = Field(
        True,
        description="Draw each other word from a group first (espeak-ng, flite, each folder of "
        "real recordings, equally likely), so a few real full-band words are not drowned out "
        "by a large folder of band-limited ones.",
    )
    whisper_share: float = Field(
        0.1,
        ge=0.0,
        le=1.0,
        description="Share of voice-changed words resynthesised with random phases "
        "(noise-excited: whispered, vocoder-like).",
    )


class CliSettings(_Section):
    """How the `facegate` command reports to the operator at a terminal."""

    status_refresh_per_second: float = Field(
        4.0,
        gt=0.0,
        le=30.0,
        description="Redraws per second of `facegate run`'s live status line (a terminal only).",
    )


class HomeAssistantSettings(_Section):
    """Home Assistant MQTT discovery of each door (over the broker of actions.mqtt / --mqtt)."""

    discovery: bool = Field(
        False,
        description="Announce each running door to Home Assistant: retained config topics "
        "<discovery_prefix>/<component>/facegate_<door>/<entity>/config (a binary sensor for "
        "the last decision, sensors for decision, person and reason; one device per door), an "
        "availability topic held by the running door (last will: offline); `doors remove` and "
        "DELETE /v1/doors/{name} clear them.",
    )
    discovery_prefix: str = Field(
        "homeassistant",
        min_length=1,
        pattern=r"^[A-Za-z0-9_-]+(/[A-Za-z0-9_-]+)*$",
        description="Home Assistant's discovery prefix (its MQTT integration's setting).",
    )
    timeout_s: float = Field(
        5.0, gt=0.0, description="Time limit to connect and publish the configs or their removal."
    )


class Settings(_Section):
    """All of facegate's settings."""

    media: MediaSettings = MediaSettings()
    vision: VisionSettings = VisionSettings()
    decide: DecideSettings = DecideSettings()
    gate: GateSettings = GateSettings()
    track: TrackSettings = TrackSettings()
    select: SelectSettings = SelectSettings()
    loop: LoopSettings = LoopSettings()
    source: SourceSettings = SourceSettings()
    liveness: LivenessSettings = LivenessSettings()
    actions: ActionsSettings = ActionsSettings()
    dashboard: DashboardSettings = DashboardSettings()
    drift: DriftSettings = DriftSettings()
    alarms: AlarmsSettings = AlarmsSettings()
    service: ServiceSettings = ServiceSettings()
    ui: UiSettings = UiSettings()
    doors: DoorsSettings = DoorsSettings()
    postgres: PostgresSettings = PostgresSettings()
    ann: AnnSettings = AnnSettings()
    scale: ScaleSettings = ScaleSettings()
    edge: EdgeSettings = EdgeSettings()
    audio: AudioSettings = AudioSettings()
    trigger_train: TriggerTrainSettings = TriggerTrainSettings()
    cli: CliSettings = CliSettings()
    home_assistant: HomeAssistantSettings = HomeAssistantSettings()
    crops: CropsSettings = CropsSettings()
    db: str | None = Field(
        None,
        description="Gallery database: a SQLite file path or a postgresql:// URL "
        "(default: a SQLite file in the user data dir).",
    )


def _env_overrides(environ: dict[str, str]) -> dict[str, Any]:
    """Return nested overrides from FACEGATE_SECTION__KEY=value variables."""
    out: dict[str, Any] = {}
    for key, value in environ.items():
        if not key.startswith(ENV_PREFIX) or key == ENV_PREFIX + "CONFIG":
            continue
        parts = key[len(ENV_PREFIX) :].lower().split("__")
        if parts == ["data"]:
            continue
        node = out
        for part in parts[:-1]:
            node = node.setdefault(part, {})
        node[parts[-1]] = value
    return out


def _merge(base: dict[str, Any], extra: dict[str, Any]) -> dict[str, Any]:
    """Return base with extra merged in, recursively."""
    merged = dict(base)
    for key, value in extra.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = _merge(merged[key], value)
        else:
            merged[key] = value
    return merged


def load_settings(
    path: Path | None = None, environ: dict[str, str] | None = None, **overrides: Any
) -> Settings:
    """Return settings from defaults, then a TOML file, then FACEGATE_* env, then overrides."""
    environ = dict(os.environ) if environ is None else environ
    data: dict[str, Any] = {}
    path = path or (
        Path(environ[ENV_PREFIX + "CONFIG"]) if ENV_PREFIX + "CONFIG" in environ else None
    )
    if path is not None:
        try:
            data = tomllib.loads(Path(path).read_text())
        except (OSError, tomllib.TOMLDecodeError) as exc:
            raise SettingsError(f"cannot read settings file {path}: {exc}") from exc
    data = _merge(data, _env_overrides(environ))
    data = _merge(data, overrides)
    try:
        return Settings.model_validate(data)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in err['loc'])}: "
            + ("unknown key" if err["type"] == "extra_forbidden" else err["msg"])
            for err in exc.errors()
        )
        raise SettingsError(f"invalid settings: {problems}") from exc
    except ValueError as exc:
        raise SettingsError(f"invalid settings: {exc}") from exc
