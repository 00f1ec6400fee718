"""The face pipeline on real faces: detection policy, alignment, unit embeddings, quality."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import skimage.data

from facegate.errors import ManyFacesError, NoFaceError, PoorQualityError
from facegate.media import load_image
from facegate.settings import VisionSettings
from facegate.vision import FacePipeline
from facegate.vision.align import align_face, align_views
from facegate.vision.detect import HogDetector, select_faces
from facegate.vision.embedders import embed_views
from facegate.vision.types import FaceBox


@pytest.fixture(scope="module")
def pipeline() -> FacePipeline:
    return FacePipeline(VisionSettings(fallback_detectors=()))


def test_lfw_face_gives_one_unit_embedding(
    pipeline: FacePipeline, faces: dict[str, list[Path]]
) -> None:
    found = pipeline.encode(load_image(faces["Colin Powell"][0]))
    assert len(found) == 1
    face = found[0]
    assert face.embedding.dtype == np.float32 and face.embedding.shape == (128,)
    assert np.linalg.norm(face.embedding) == pytest.approx(1.0, abs=1e-5)
    assert face.landmarks.shape == (5, 2)
    assert 60 < face.quality.face_px < 200 and face.quality.sharpness > 10


def test_same_person_is_closer_than_another(
    pipeline: FacePipeline, faces: dict[str, list[Path]]
) -> None:
    def emb(path: Path) -> np.ndarray:
        return pipeline.encode(load_image(path))[0].embedding

    powell = [emb(p) for p in faces["Colin Powell"][:2]]
    serena = emb(faces["Serena Williams"][0])
    assert np.linalg.norm(powell[0] - powell[1]) < 0.5 < np.linalg.norm(powell[0] - serena)


def test_mirror_tta_is_close_to_plain(faces: dict[str, list[Path]]) -> None:
    image = load_image(faces["George W Bush"][0])
    plain = FacePipeline(VisionSettings(tta_mirror=False, fallback_detectors=())).encode(image)[0]
    mirror = FacePipeline(VisionSettings(tta_mirror=True, fallback_detectors=())).encode(image)[0]
    assert 0.0 < np.linalg.norm(plain.embedding - mirror.embedding) < 0.2


def test_padding_views_are_averaged_with_the_chip(
    pipeline: FacePipeline, faces: dict[str, list[Path]]
) -> None:
    """tta_paddings: the chip at padding 0.3 is embedded with the main one and averaged."""
    image = load_image(faces["Colin Powell"][0])
    box = select_faces(pipeline.detector.detect(image), "largest", image.shape)[0]
    chips, _ = align_views(image, box, 150, 0.25, (0.3,))
    assert len(chips) == 2 and not np.array_equal(chips[0], chips[1])
    assert np.array_equal(chips[0], align_face(image, box, 150, 0.25)[0])
    parts = pipeline.embedder.embed(chips)
    expected = (parts[0] + parts[1]) / np.linalg.norm(parts[0] + parts[1])
    fused = embed_views(pipeline.embedder, [chips[0]], [chips[1:]])[0]
    np.testing.assert_allclose(fused, expected, atol=1e-6)
    assert pipeline.encode(image)[0].embedding == pytest.approx(fused, abs=1e-5)
    plain = FacePipeline(
        VisionSettings(fallback_detectors=(), tta_paddings=()), embedder=pipeline.embedder
    )
    alone = plain.encode(image)[0].embedding
    np.testing.assert_allclose(alone, parts[0], atol=1e-6)
    assert 0.005 < np.linalg.norm(alone - fused) < 0.1  # a second view, same vector space


def test_no_face_gives_empty_list_and_enrollment_error(pipeline: FacePipeline) -> None:
    blank = np.full((200, 200, 3), 127, np.uint8)
    assert pipeline.encode(blank) == []
    with pytest.raises(NoFaceError):
        pipeline.encode_for_enrollment(blank, "blank")


def test_several_faces_policy(pipeline: FacePipeline, faces: dict[str, list[Path]]) -> None:
    left = load_image(faces["Colin Powell"][0])
    right = load_image(faces["Serena Williams"][0])
    both = np.concatenate([left, right[:, :, :]], axis=1)
    assert len(pipeline.encode(both, "all")) == 2
    assert len(pipeline.encode(both, "largest")) == 1
    with pytest.raises(ManyFacesError, match="2 faces"):
        pipeline.encode_for_enrollment(both, "pair")


def test_tiny_or_blurred_face_is_refused_for_enrollment(faces: dict[str, list[Path]]) -> None:
    image = load_image(faces["Colin Powell"][0])
    strict = FacePipeline(VisionSettings(fallback_detectors=(), min_face_px=500))
    with pytest.raises(PoorQualityError, match="px wide"):
        strict.encode_for_enrollment(image, "powell")
    picky = FacePipeline(VisionSettings(fallback_detectors=(), min_sharpness=1e9))
    with pytest.raises(PoorQualityError, match="blurred"):
        picky.encode_for_enrollment(image, "powell")


def test_largest_policy_orders_by_area() -> None:
    small = FaceBox(0, 0, 10, 10, 2.0, "x")
    big = FaceBox(0, 0, 50, 50, 0.1, "x")
    assert select_faces([small, big], "largest") == [big]
    assert select_faces([small, big], "all") == [big, small]


def test_hog_finds_the_shipped_astronaut() -> None:
    boxes = HogDetector(upsample=1).detect(skimage.data.astronaut())
    assert any(170 < b.left < 185 and 70 < b.top < 85 for b in boxes)


def test_large_images_are_downscaled_for_detection_only(faces: dict[str, list[Path]]) -> None:
    import cv2

    image = load_image(faces["Colin Powell"][0])
    big = cv2.resize(image, None, fx=6, fy=6, interpolation=cv2.INTER_CUBIC)  # 1500 x 1500
    pipeline = FacePipeline(VisionSettings(fallback_detectors=(), detect_max_side=800))
    small_face = pipeline.encode(image)[0]
    big_face = pipeline.encode(big)[0]
    assert big_face.box.width == pytest.approx(6 * small_face.box.width, rel=0.25)
    assert np.linalg.norm(big_face.embedding - small_face.embedding) < 0.25


def test_a_strided_crop_of_a_frame_is_encoded_like_its_copy(pipeline: FacePipeline) -> None:
    photo = skimage.data.astronaut()
    view = photo[10:-10, 20:-20]  # a view into the frame, not contiguous
    assert not view.flags["C_CONTIGUOUS"]
    faces, copies = pipeline.encode(view), pipeline.encode(view.copy())
    assert len(faces) == len(copies) == 1
    assert np.array_equal(faces[0].embedding, copies[0].embedding)
