"""Bring-your-own ArcFace-style ONNX embedders: the template alignment, a tiny model made here."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from conftest import lfw_image

from facegate.errors import SettingsError
from facegate.media import load_image
from facegate.settings import VisionSettings
from facegate.training.onnx_export import export_for_opencv
from facegate.vision.detect import build_detector
from facegate.vision.embed_arcface import (
    ARCFACE_TEMPLATE,
    CHIP_POINTS,
    OnnxArcfaceEmbedder,
    arcface_input,
    chip_points,
    similarity,
)
from facegate.vision.embedders import build_embedder
from facegate.vision.pipeline import FacePipeline
from facegate.vision.specs import build_embedder as build_spec

torch = pytest.importorskip("torch")


def export_tiny_arcface(path: Path, dim: int = 32, size: int = 112) -> Path:
    """Write a small random conv net with the ArcFace-style (N, 3, size, size) input."""
    torch.manual_seed(0)
    net = torch.nn.Sequential(
        torch.nn.Conv2d(3, 8, 5, stride=4),
        torch.nn.ReLU(),
        torch.nn.Conv2d(8, 16, 3, stride=2),
        torch.nn.ReLU(),
        torch.nn.AdaptiveAvgPool2d(1),
        torch.nn.Flatten(),
        torch.nn.Linear(16, dim),
    )
    export_for_opencv(net, torch.zeros(1, 3, size, size), "data", "embedding", path)
    return path


@pytest.fixture(scope="module")
def chips(lfw: Path) -> list[np.ndarray]:
    """Return aligned chips: two photos of Colin Powell, then one of George W Bush."""
    pipeline = FacePipeline(VisionSettings(multi_face="center"))
    photos = [lfw_image("Colin_Powell", 1), lfw_image("Colin_Powell", 2)]
    photos.append(lfw_image("George_W_Bush", 1))
    return [pipeline.align(load_image(p))[0] for p in photos]


def test_faces_are_warped_onto_the_insightface_template(chips: list[np.ndarray]) -> None:
    yunet = build_detector(VisionSettings()).inner
    batch = arcface_input(chips, yunet)
    assert batch.shape == (3, 3, 112, 112) and -1.0 <= batch.min() < batch.max() <= 1.0
    for chip, face in zip(chips, batch, strict=True):
        points = chip_points(chip, yunet)
        matrix = similarity(points, ARCFACE_TEMPLATE)
        fitted = points @ matrix[:, :2].T + matrix[:, 2]
        assert np.linalg.norm(fitted - ARCFACE_TEMPLATE, axis=1).mean() < 4.0
        # and the warped face really has its landmarks there (YuNet, found again on it)
        rgb = np.clip(face.transpose(1, 2, 0) * 127.5 + 127.5, 0, 255).astype(np.uint8)
        again = chip_points(rgb, yunet)
        assert np.linalg.norm(again - ARCFACE_TEMPLATE, axis=1).mean() < 8.0


def test_a_tiny_arcface_model_embeds_through_the_settings_and_specs(
    tmp_path: Path, chips: list[np.ndarray]
) -> None:
    model = export_tiny_arcface(tmp_path / "tiny_arcface.onnx")
    settings = VisionSettings(embedder=f"onnx-arcface:{model}", tta_mirror=False)
    embedder = build_embedder(settings)
    assert isinstance(embedder, OnnxArcfaceEmbedder)
    assert embedder.name.startswith("onnx-arcface:") and embedder.dim == 32
    assert embedder.model_path == model  # its own impostor table would sit beside it
    vectors = embedder.embed(chips)
    assert vectors.shape == (3, 32)
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    assert np.allclose(embedder.embed(chips[:1]), vectors[:1], atol=1e-5)  # deterministic
    assert embedder.embed([]).shape == (0, 32)
    assert build_spec(f"onnx-arcface:{model}").name == embedder.name
    # the whole pipeline runs with it
    face = FacePipeline(settings).encode(load_image(lfw_image("Colin_Powell", 3)))[0]
    assert face.embedding.shape == (32,)


def test_bad_arcface_models_get_clear_errors(tmp_path: Path) -> None:
    with pytest.raises(SettingsError, match="not found"):
        build_embedder(VisionSettings(embedder=f"onnx-arcface:{tmp_path / 'none.onnx'}"))
    junk = tmp_path / "junk.onnx"
    junk.write_bytes(b"not a model")
    with pytest.raises(SettingsError, match="not an ONNX model"):
        build_embedder(VisionSettings(embedder=f"onnx-arcface:{junk}"))
    wrong = export_tiny_arcface(tmp_path / "wrong.onnx", size=96)
    with pytest.raises(SettingsError, match=r"not \(N, 3, 112, 112\)"):
        build_embedder(VisionSettings(embedder=f"onnx-arcface:{wrong}"))
    with pytest.raises(ValueError, match="onnx-arcface:PATH"):
        VisionSettings(embedder="onnx-arcface:")


def test_similarity_recovers_a_known_transform() -> None:
    angle, scale, shift = 0.3, 0.7, np.array([5.0, -3.0])
    rotation = scale * np.array([[np.cos(angle), -np.sin(angle)], [np.sin(angle), np.cos(angle)]])
    moved = ARCFACE_TEMPLATE @ rotation.T + shift
    matrix = similarity(ARCFACE_TEMPLATE, moved)
    assert np.allclose(matrix[:, :2], rotation, atol=1e-6)
    assert np.allclose(matrix[:, 2], shift, atol=1e-5)


def test_the_fallback_points_follow_the_chip_padding() -> None:
    yunet = build_detector(VisionSettings()).inner
    blank = np.full((150, 150, 3), 128, np.uint8)  # no face: the mean points stand in
    tight, loose = chip_points(blank, yunet, 0.25), chip_points(blank, yunet, 0.6)
    assert np.allclose(tight, CHIP_POINTS)
    eyes = np.linalg.norm(loose[1] - loose[0]) / np.linalg.norm(tight[1] - tight[0])
    assert eyes == pytest.approx(1.5 / 2.2, rel=1e-4)


def test_its_own_1n_table_is_fitted_beside_it_and_used(tmp_path: Path, lfw: Path) -> None:
    from test_cli import facegate

    from facegate.decide.threshold import embedder_tail, tail_path

    model = export_tiny_arcface(tmp_path / "tiny_arcface.onnx")
    spec = f"onnx-arcface:{model}"
    result = facegate(
        "models", "fit-table", "--embedder", spec, "--root", lfw / "images", "--people", "40"
    )
    assert result.returncode == 0, result.stderr
    assert tail_path(model).exists()
    name = build_embedder(VisionSettings(embedder=spec)).name
    tail = embedder_tail(name, model)
    assert tail is not None and tail.embedder == name and tail.pairs == 40 * 39 // 2
    shipped = facegate("models", "fit-table", "--embedder", "dlib", "--root", lfw / "images")
    assert shipped.returncode == 2 and "ships with facegate" in shipped.stderr
