"""Frame scores, the best-k collector, and fusing the chosen frames' distances."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
import pytest

from facegate.decide.match import (
    IdentifyDecision,
    fuse_distances,
    fuse_embeddings,
    fuse_identify,
    fuse_verify,
    identify_embedding,
    identify_frames,
)
from facegate.gallery.types import EmbeddingSet
from facegate.media import load_image
from facegate.settings import SelectSettings, VisionSettings
from facegate.stream.select import (
    BestFrames,
    ScoreWeights,
    exposure_score,
    frame_score,
    frame_score_parts,
    sharpness_score,
    size_score,
)
from facegate.vision import FaceBox, FacePipeline, FaceQuality
from facegate.vision.align import align_face
from facegate.vision.pose import estimate_yaw
from facegate.vision.quality import measure_quality

# A frontal face in dlib's 5-point order: image-right eye (outer, inner), image-left eye
# (outer, inner), nose base.
FRONTAL = np.array([[150, 114], [136, 114], [100, 114], [114, 114], [125, 140]], np.float32)
BOX = FaceBox(67, 80, 176, 188, 1.0, "test")


def rotate(points: np.ndarray, degrees: float) -> np.ndarray:
    """Return the points rotated in the image plane about their mean."""
    angle = np.radians(degrees)
    matrix = np.array([[np.cos(angle), -np.sin(angle)], [np.sin(angle), np.cos(angle)]])
    centre = points.mean(axis=0)
    return (points - centre) @ matrix.T + centre


# --- pose and the parts of a frame score -----------------------------------------------------


def test_yaw_is_zero_for_a_frontal_face_and_ignores_roll() -> None:
    assert estimate_yaw(FRONTAL) == pytest.approx(0.0, abs=1e-6)
    turned = FRONTAL.copy()
    turned[4, 0] += 10
    yaw = estimate_yaw(turned)
    assert yaw > 15
    assert estimate_yaw(rotate(turned, 30)) == pytest.approx(yaw, abs=1e-4)
    mirrored = turned.copy()
    mirrored[:, 0] = 250 - mirrored[:, 0]
    mirrored = mirrored[[2, 3, 0, 1, 4]]  # dlib lists the image-right eye first
    assert estimate_yaw(mirrored) == pytest.approx(-yaw, abs=1e-4)
    assert estimate_yaw(np.zeros((5, 2))) == 90.0


def test_score_parts_are_monotonic_and_bounded() -> None:
    sharp = [sharpness_score(s) for s in (0.5, 1.2, 2, 4, 6, 8, 50)]
    assert sharp[0] == sharp[1] == 0.0 and sharp[-2] == sharp[-1] == 1.0
    assert sharp == sorted(sharp) and len(set(sharp[1:6])) == 5
    assert exposure_score(128) == 1.0 and exposure_score(20) == exposure_score(250) == 0.0
    assert exposure_score(100) > exposure_score(60) > 0
    assert size_score(FaceBox(0, 0, 50, 50, 1.0, "t")) == 0.5
    assert size_score(FaceBox(0, 0, 300, 300, 1.0, "t")) == 1.0


def test_frame_score_combines_the_parts_with_the_weights() -> None:
    quality = FaceQuality(face_px=109, sharpness=30.0, focus=3.0, brightness=120.0)
    parts = frame_score_parts(quality, FRONTAL, BOX)
    score = frame_score(quality, FRONTAL, BOX)
    assert 0.0 < score <= 1.0 and score == pytest.approx(parts.total())
    only_sharpness = ScoreWeights(sharpness=1.0, pose=0.0, size=0.0, exposure=0.0)
    assert frame_score(quality, FRONTAL, BOX, only_sharpness) == pytest.approx(parts.sharpness)
    turned = FRONTAL.copy()
    turned[4, 0] += 12
    assert frame_score(quality, turned, BOX) < score
    dark = FaceQuality(face_px=109, sharpness=30.0, focus=3.0, brightness=40.0)
    assert frame_score(dark, FRONTAL, BOX) < score


# --- real faces -------------------------------------------------------------------------------


@dataclass(frozen=True)
class RealFace:
    image: np.ndarray
    box: FaceBox
    landmarks: np.ndarray
    chip: np.ndarray


@pytest.fixture(scope="module")
def pipeline() -> FacePipeline:
    return FacePipeline(VisionSettings(fallback_detectors=()))


def real_face(pipeline: FacePipeline, image: np.ndarray) -> RealFace:
    """Return the one face of an image with its aligned chip."""
    (face,) = pipeline.encode(image)
    chip, _ = align_face(image, face.box)
    return RealFace(image, face.box, face.landmarks, chip)


def test_best_frames_keep_the_sharpest_real_chips(
    pipeline: FacePipeline, faces: dict[str, list[Path]]
) -> None:
    face = real_face(pipeline, load_image(faces["George W Bush"][1]))  # near-frontal
    sigmas = [0.0, 0.8, 1.5, 3.0]
    chips = [face.chip if s == 0 else cv2.GaussianBlur(face.chip, (0, 0), s) for s in sigmas]
    scores = [frame_score(measure_quality(c, face.box), face.landmarks, face.box) for c in chips]
    assert scores == sorted(scores, reverse=True) and len(set(scores)) == len(scores)
    frames: BestFrames[float] = BestFrames(SelectSettings(best_k=2, window_seconds=2.0))
    for t, i in enumerate([2, 0, 3, 1]):
        frames.add(sigmas[i], scores[i], t / 10, face.box.width)
    assert frames.best() == [0.0, 0.8]


def test_yaw_of_a_real_face_flips_when_mirrored_and_survives_rotation(
    pipeline: FacePipeline, faces: dict[str, list[Path]]
) -> None:
    image = load_image(faces["Colin Powell"][0])  # turned towards the image's right
    yaw = estimate_yaw(real_face(pipeline, image).landmarks)
    assert 10 < yaw < 35
    mirrored = np.ascontiguousarray(image[:, ::-1])
    assert estimate_yaw(real_face(pipeline, mirrored).landmarks) == pytest.approx(-yaw, abs=6)
    height, width = image.shape[:2]
    matrix = cv2.getRotationMatrix2D((width / 2, height / 2), 20, 1.0)
    rotated = cv2.warpAffine(image, matrix, (width, height), borderMode=cv2.BORDER_REFLECT)
    assert estimate_yaw(real_face(pipeline, rotated).landmarks) == pytest.approx(yaw, abs=6)


# --- the best-k collector ---------------------------------------------------------------------


def test_best_frames_keep_the_k_best_sorted() -> None:
    frames: BestFrames[str] = BestFrames(SelectSettings(best_k=3))
    for t, (name, score) in enumerate([("a", 0.2), ("b", 0.9), ("c", 0.5), ("d", 0.1)]):
        frames.add(name, score, t / 10, 80)
    assert frames.best() == ["b", "c", "a"]
    assert frames.add("e", 0.7, 0.4, 80) and frames.best() == ["b", "e", "c"]
    assert not frames.add("f", 0.3, 0.5, 80)
    assert [f.score for f in frames.scored()] == [0.9, 0.7, 0.5]


def test_equal_scores_keep_the_earlier_frame_first() -> None:
    frames: BestFrames[str] = BestFrames(SelectSettings(best_k=2))
    frames.add("first", 0.5, 0.0, 80)
    frames.add("second", 0.5, 0.1, 80)
    assert not frames.add("third", 0.5, 0.2, 80)
    assert frames.best() == ["first", "second"]


def test_tiny_faces_are_refused_and_do_not_start_the_window() -> None:
    frames: BestFrames[str] = BestFrames(SelectSettings(min_face_px=40, window_seconds=2.0))
    assert not frames.add("far", 0.9, 0.0, 39)
    assert len(frames) == 0 and frames.started_at is None
    assert not frames.ready(10.0)
    assert frames.add("near", 0.4, 3.0, 40)
    assert frames.started_at == 3.0 and not frames.ready(4.0)


def test_ready_once_enough_candidates_were_seen() -> None:
    settings = SelectSettings(best_k=3, min_candidates=6, window_seconds=2.0)
    frames: BestFrames[int] = BestFrames(settings)
    for i in range(6):
        assert not frames.ready(i / 10)
        frames.add(i, i / 10, i / 10, 80)
    assert frames.ready(0.5)
    assert frames.best() == [5, 4, 3]


def test_ready_as_soon_as_best_k_frames_are_good_enough() -> None:
    settings = SelectSettings(best_k=3, min_candidates=10, good_score=0.8, window_seconds=2.0)
    frames: BestFrames[int] = BestFrames(settings)
    for i, score in enumerate((0.9, 0.5, 0.95)):
        frames.add(i, score, i / 25, 80)
    assert not frames.ready(0.1)  # three frames, but one of them is poor
    frames.add(3, 0.85, 0.12, 80)
    assert frames.ready(0.12) and frames.best() == [2, 0, 3]
    never: BestFrames[int] = BestFrames(settings.model_copy(update={"good_score": 1.01}))
    for i in range(5):
        never.add(i, 1.0, i / 25, 80)
    assert not never.ready(0.2)


def test_ready_when_the_window_elapses_and_later_frames_are_refused() -> None:
    frames: BestFrames[int] = BestFrames(SelectSettings(best_k=5, window_seconds=2.0))
    frames.add(0, 0.3, 1.0, 80)
    frames.add(1, 0.4, 2.5, 80)
    assert not frames.ready(2.9)
    assert frames.ready(3.0)
    assert frames.add(2, 0.5, 3.0, 80)  # still inside the window
    assert not frames.add(3, 0.9, 3.01, 80)
    assert frames.best() == [2, 1, 0]


# --- fusing the frames' distances -------------------------------------------------------------

GENUINE_WITH_OUTLIER = [0.31, 0.33, 0.35, 0.37, 0.95]  # one blurred frame
IMPOSTOR_WITH_LUCKY_FRAME = [0.30, 0.55, 0.58, 0.60, 0.66]


def test_fusion_rules() -> None:
    d = GENUINE_WITH_OUTLIER
    assert fuse_distances(d) == pytest.approx((0.31 + 0.33 + 0.35) / 3)
    assert fuse_distances(d, "median") == pytest.approx(0.35)
    assert fuse_distances(d, "vote") == pytest.approx(0.35)
    assert fuse_distances([0.3, 0.5], "mean_best") == pytest.approx(0.4)
    assert fuse_distances([0.3, 0.5], "median") == pytest.approx(0.4)
    assert fuse_distances([0.3, 0.5], "vote") == pytest.approx(0.5)
    assert fuse_distances([0.4], "vote") == pytest.approx(0.4)
    with pytest.raises(ValueError):
        fuse_distances([])
    with pytest.raises(ValueError):
        fuse_distances([0.3], "max")  # type: ignore[arg-type]


@pytest.mark.parametrize("rule", ["mean_best", "median", "vote"])
def test_one_outlier_frame_neither_rejects_nor_admits(rule: str) -> None:
    assert fuse_verify(GENUINE_WITH_OUTLIER, 0.42, rule).accepted  # type: ignore[arg-type]
    assert np.mean(GENUINE_WITH_OUTLIER) > 0.42  # a plain mean would reject
    assert not fuse_verify(IMPOSTOR_WITH_LUCKY_FRAME, 0.42, rule).accepted  # type: ignore[arg-type]
    assert min(IMPOSTOR_WITH_LUCKY_FRAME) < 0.42  # the best frame alone would admit


def frame(
    person: str | None, nearest: str, distance: float, runner: str, runner_d: float
) -> IdentifyDecision:
    """Return one frame's identify decision."""
    return IdentifyDecision(person, distance, 0.42, nearest, runner, runner_d)


def test_fuse_identify_outvotes_one_wrong_frame() -> None:
    decisions = [
        frame("ada", "ada", 0.30, "bob", 0.70),
        frame("ada", "ada", 0.32, "bob", 0.68),
        frame("bob", "bob", 0.40, "ada", 0.45),  # the outlier frame
        frame("ada", "ada", 0.34, "bob", 0.72),
        frame(None, "ada", 0.50, "cy", 0.80),
    ]
    fused = fuse_identify(decisions, 0.42)
    assert fused.person == "ada" and fused.nearest == "ada"
    assert fused.distance == pytest.approx((0.30 + 0.32 + 0.34) / 3)
    assert fused.runner_up == "bob"
    assert fused.runner_up_distance == pytest.approx((0.40 + 0.68 + 0.70) / 3)


def test_fuse_identify_without_a_majority_is_unknown() -> None:
    decisions = [
        frame("ada", "ada", 0.30, "bob", 0.50),
        frame("ada", "ada", 0.35, "bob", 0.50),
        frame("bob", "bob", 0.38, "ada", 0.45),
        frame("bob", "bob", 0.39, "ada", 0.50),
        frame(None, "cy", 0.60, "ada", 0.62),
    ]
    fused = fuse_identify(decisions, 0.42)
    assert fused.person is None and fused.nearest == "ada" and fused.runner_up == "bob"
    assert fuse_identify(decisions[:2], 0.42).person == "ada"
    assert fuse_identify(decisions[:2], 0.30).person is None  # a stricter fused threshold
    assert fuse_identify([], 0.42) == IdentifyDecision(None, float("inf"), 0.42, None, None, None)


def test_focus_ranks_blur_not_noise_or_contrast(
    pipeline: FacePipeline, faces: dict[str, list[Path]]
) -> None:
    face = real_face(pipeline, load_image(faces["George W Bush"][1]))
    rng = np.random.default_rng(0)
    dim_sharp = (face.chip.astype(np.float32) * 0.7).astype(np.uint8)
    noisy_blurred = cv2.GaussianBlur(face.chip, (0, 0), 2.0).astype(np.float32)
    noisy_blurred = np.clip(noisy_blurred + rng.normal(0, 6, noisy_blurred.shape), 0, 255)
    sharp_q = measure_quality(dim_sharp, face.box)
    blurred_q = measure_quality(noisy_blurred.astype(np.uint8), face.box)
    assert sharp_q.focus > blurred_q.focus
    assert sharp_q.sharpness < blurred_q.sharpness  # why the Laplacian variance was replaced


def noisy_copies(centre: np.ndarray, count: int, noise: float, seed: int) -> np.ndarray:
    """Return unit vectors scattered around a unit centre."""
    rng = np.random.default_rng(seed)
    vectors = centre + rng.normal(0.0, noise, (count, len(centre)))
    return vectors / np.linalg.norm(vectors, axis=1, keepdims=True)


def test_fuse_embeddings_is_the_unit_mean() -> None:
    vectors = np.array([[1.0, 0.0], [0.0, 1.0]], dtype=np.float32)
    assert fuse_embeddings(vectors) == pytest.approx([2**-0.5, 2**-0.5])
    with pytest.raises(ValueError):
        fuse_embeddings(np.zeros((0, 2)))
    with pytest.raises(ValueError):
        fuse_embeddings(np.array([[1.0, 0.0], [-1.0, 0.0]]))


def test_mean_embedding_names_a_face_no_single_noisy_frame_reaches() -> None:
    rng = np.random.default_rng(0)
    ada, bob = (v / np.linalg.norm(v) for v in rng.normal(size=(2, 128)))
    gallery = EmbeddingSet(["ada", "bob"], np.stack([ada, bob]).astype(np.float32))
    frames = noisy_copies(ada, 5, 0.05, seed=1)  # each frame ~0.55 from ada's template
    single = [identify_embedding(v, gallery, 0.42) for v in frames]
    assert all(d.person is None for d in single)
    fused = identify_frames(frames, gallery, 0.42, rule="mean_embedding")
    assert fused.person == "ada" and fused.distance < 0.42
    assert identify_frames(frames, gallery, 0.42, rule="mean_best").person is None
    stranger = noisy_copies(rng.normal(size=128) / 11.3, 5, 0.05, seed=2)
    assert identify_frames(stranger, gallery, 0.42).person is None
