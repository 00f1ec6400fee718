"""The YuNet detector: real LFW faces, a blank image, a group photo; its model file."""

from __future__ import annotations

import threading
from pathlib import Path

import numpy as np
import pytest
from conftest import lfw_image

from facegate.media import load_image
from facegate.settings import VisionSettings
from facegate.vision import model_files
from facegate.vision.detect import HogDetector, build_detector
from facegate.vision.detect_yunet import YunetDetector
from facegate.vision.model_files import YUNET_SHA256, ModelFileError, file_sha256, yunet_onnx
from facegate.vision.pipeline import FacePipeline

PEOPLE = ["Colin_Powell", "George_W_Bush", "Serena_Williams", "Tony_Blair", "Ariel_Sharon"]


@pytest.fixture(scope="module")
def yunet() -> YunetDetector:
    """Return the default detector (YuNet from the model cache)."""
    detector = build_detector(VisionSettings())
    assert isinstance(detector.inner, YunetDetector)  # behind the downscaling wrapper
    return detector.inner


def test_the_model_file_is_the_pinned_one() -> None:
    assert file_sha256(yunet_onnx()) == YUNET_SHA256


def test_finds_the_lfw_face_where_hog_does_with_a_dlib_like_box(
    lfw: Path, yunet: YunetDetector
) -> None:
    hog = HogDetector()
    for name in PEOPLE:
        image = load_image(lfw_image(name, 1))
        found = [b for b in yunet.detect(image) if abs((b.left + b.right) / 2 - 125) < 40]
        assert len(found) == 1, name
        box, ref = found[0], hog.detect(image)[0]
        assert box.detector == "yunet" and 0.6 <= box.score <= 1.0
        assert abs(box.width - box.height) <= 2  # square, as HOG's
        assert 0.8 < box.width / ref.width < 1.25, name  # about HOG's size ...
        overlap = max(0, min(box.right, ref.right) - max(box.left, ref.left)) * max(
            0, min(box.bottom, ref.bottom) - max(box.top, ref.top)
        )
        assert overlap / (box.area + ref.area - overlap) > 0.6, name  # ... and place


def test_finds_nothing_in_a_blank_or_noise_image(yunet: YunetDetector) -> None:
    assert yunet.detect(np.full((480, 640, 3), 128, np.uint8)) == []
    noise = np.random.default_rng(0).integers(0, 256, (480, 640, 3), dtype=np.uint8)
    assert yunet.detect(noise) == []


def test_finds_the_many_faces_of_a_group_selfie(deepface: Path) -> None:
    image = load_image(deepface / "selfie-many-people.jpg")
    yunet = build_detector(VisionSettings()).detect(image)
    hog = build_detector(VisionSettings(detector="hog")).detect(image)
    assert len(yunet) >= 6 and len(yunet) > len(hog)  # 7 people, two cut by the frame
    assert all(b.detector == "yunet" for b in yunet)


def test_the_pipeline_embeds_yunet_faces_like_hog_faces(lfw: Path) -> None:
    image = load_image(lfw_image("Colin_Powell", 1))
    by_yunet = FacePipeline(VisionSettings(multi_face="center")).encode(image)[0]
    by_hog = FacePipeline(VisionSettings(detector="hog", multi_face="center")).encode(image)[0]
    # the 5-point predictor lands on the same landmarks, so the vectors nearly agree
    assert np.abs(by_yunet.landmarks - by_hog.landmarks).max() < 4
    assert float(np.linalg.norm(by_yunet.embedding - by_hog.embedding)) < 0.1


def test_each_thread_gets_its_own_detector(yunet: YunetDetector) -> None:
    seen: list[object] = []

    def grab() -> None:
        seen.append(yunet._detector(64, 64))

    threads = [threading.Thread(target=grab) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len({id(d) for d in seen}) == 2


def test_a_missing_model_that_cannot_be_fetched_names_the_fix(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(model_files.sys, "executable", str(tmp_path / "no-python"))
    with pytest.raises(ModelFileError, match="facegate models prepare"):
        yunet_onnx(tmp_path)
    assert not list(tmp_path.iterdir())  # nothing half-written
