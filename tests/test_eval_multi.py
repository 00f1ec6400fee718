"""`facegate eval pairs` with several embedders side by side, and the embedder specs."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from test_cli import facegate, lines

from facegate.errors import SettingsError
from facegate.vision.embed import DlibResnetEmbedder
from facegate.vision.embed_onnx import OnnxDlibEmbedder
from facegate.vision.specs import EmbedderSpecError, build_embedder


def test_specs_name_the_shipped_variants() -> None:
    for spec, mirror, jitters in (
        ("dlib", True, 0),
        ("dlib-nomirror", False, 0),
        ("dlib-jitter10", True, 10),
    ):
        embedder = build_embedder(spec)
        assert isinstance(embedder, OnnxDlibEmbedder)  # the default engine
        assert (embedder.mirror, embedder.jitters) == (mirror, jitters)
        native = build_embedder("native-" + spec)
        assert isinstance(native, DlibResnetEmbedder)
        assert (native.mirror, native.jitters) == (mirror, jitters)
        assert native.name == embedder.name
    assert build_embedder("default").name == "dlib-resnet-v1"


def test_onnx_spec_builds_a_head_or_a_cnn_and_bad_specs_give_clear_errors(
    tmp_path: Path,
) -> None:
    pytest.importorskip("torch", reason="exporting a model needs the train extra (torch)")
    from facegate.training.cnn import SmallFaceCnn, export_cnn
    from facegate.training.head import ResidualHead, export_onnx

    export_onnx(ResidualHead(), tmp_path / "head.onnx")
    assert build_embedder(f"onnx:{tmp_path / 'head.onnx'}").name.startswith("onnx-head:")
    export_cnn(SmallFaceCnn(32, 4), tmp_path / "cnn.onnx")
    cnn = build_embedder(f"onnx:{tmp_path / 'cnn.onnx'}")
    assert cnn.name.startswith("onnx-cnn:") and cnn.dim == 128
    assert cnn.embed([np.zeros((150, 150, 3), np.uint8)]).shape == (1, 128)
    (tmp_path / "junk.onnx").write_bytes(b"not a model")
    with pytest.raises(SettingsError, match="not an ONNX model"):
        build_embedder(f"onnx:{tmp_path / 'junk.onnx'}")
    with pytest.raises(SettingsError, match="embedder model not found"):
        build_embedder("onnx:model.onnx")
    with pytest.raises(EmbedderSpecError, match="unknown embedder 'resnet'; known: default"):
        build_embedder("resnet")


def test_eval_with_a_missing_onnx_model_exits_2_with_one_line(lfw: Path) -> None:
    result = facegate(
        "eval", "pairs", lfw / "pairs.txt", "--root", lfw / "images", "--embedder", "onnx:x.onnx"
    )
    assert result.returncode == 2
    assert result.stderr.strip() == "facegate: error: embedder model not found: x.onnx"


def test_two_embedders_side_by_side(lfw: Path, tmp_path: Path) -> None:
    roc, det = tmp_path / "roc.png", tmp_path / "det.png"
    args = ["eval", "pairs", lfw / "pairs.txt", "--root", lfw / "images", "--limit", "30"]
    args += ["--workers", "2", "--embedder", "dlib", "--embedder", "dlib-nomirror"]
    result = facegate(*args, "--json", "--roc", roc, "--det", det)
    assert result.returncode == 0, result.stderr
    reports = lines(result)
    assert [r["embedder"] for r in reports] == ["dlib", "dlib-nomirror"]
    for report in reports:
        assert report["pairs"] == 30 and report["protocol"] == "lfw-10fold"
        assert report["accuracy"] >= 0.9 and len(report["fold_thresholds"]) == 10
        assert 0 <= report["eer"] <= 0.2
        assert 0 < report["embed_ms"] < report["ms_per_image"]
        for key in ("tar_at_far_1e-2", "tar_at_far_1e-3", "auc"):
            assert 0 <= report[key] <= 1
    # the mirror TTA embeds two chips per face: it costs more than the plain encoder
    assert reports[0]["embed_ms"] > reports[1]["embed_ms"]
    assert roc.stat().st_size > 10_000 and det.stat().st_size > 10_000
    table = facegate(*args)
    assert table.returncode == 0, table.stderr
    assert "30 pairs, 60 images" in table.stdout and "dlib-n" in table.stdout
