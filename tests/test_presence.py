"""The presence network: training and ONNX export, the shipped model, its gates and settings."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from facegate.errors import SettingsError
from facegate.settings import GateSettings, load_settings
from facegate.stream.gate import GateResult, PixelChangeGate
from facegate.stream.gates import build_gate
from facegate.stream.presence import (
    INPUT_HEIGHT,
    INPUT_WIDTH,
    SHIPPED_MODEL,
    CascadeGate,
    PresenceGate,
    PresenceNet,
    letterbox,
)
from facegate.stream.scene import SceneSegment, demo_scene, face_in_view, write_video
from facegate.training.presence_data import build_set, pasted_frame, split_parts


@pytest.fixture(scope="module")
def net() -> PresenceNet:
    """Return the shipped presence network."""
    return PresenceNet()


def test_letterbox_keeps_the_aspect_ratio() -> None:
    """A 4:3 frame fills the input's height, with grey bars left and right."""
    frame = np.zeros((480, 640, 3), np.uint8)
    small = letterbox(frame)
    assert small.shape == (INPUT_HEIGHT, INPUT_WIDTH)
    assert (small[:, :20] == 128).all() and (small[:, 20:140] == 0).all()
    assert (small[:, 140:] == 128).all()


def test_training_steps_export_and_onnx_match_torch(tmp_path: Path) -> None:
    """A few training steps on a tiny set; OpenCV's ONNX outputs equal torch's within 1e-4."""
    pytest.importorskip("torch", reason="training needs the train extra (torch)")
    from rich.progress import Progress

    from facegate.training.presence import (
        TrainConfig,
        build_model,
        export_onnx,
        fit,
        predict_logits,
    )

    train_part, _ = split_parts(0, 0)
    images, labels = build_set(train_part, 48, np.random.default_rng(0))
    model = build_model()
    with Progress(disable=True) as progress:
        losses = fit(model, images, labels, TrainConfig(epochs=2, batch_size=16), progress)
    assert len(losses) == 2 and all(np.isfinite(losses))
    path = tmp_path / "presence.onnx"
    export_onnx(model, path)
    assert path.stat().st_size < 200_000
    expected = predict_logits(model, images)
    got = PresenceNet(path).logits(images)
    np.testing.assert_allclose(got, expected, atol=1e-4)


def test_train_writes_model_and_card(tmp_path: Path) -> None:
    """The training entry writes the ONNX model and a model card with held-out figures."""
    pytest.importorskip("torch", reason="training needs the train extra (torch)")
    from facegate.training.presence import TrainConfig, train

    config = TrainConfig(
        pasted=32, scene_seeds=0, held_out_pasted=16, held_out_scene_seeds=0, epochs=1
    )
    out = tmp_path / "m" / "presence.onnx"
    card = train(config, out, quiet=True)
    assert out.is_file() and json.loads(out.with_suffix(".json").read_text()) == card
    assert card["held_out"]["samples"] == 16 and 0.0 <= card["held_out"]["accuracy"] <= 1.0
    assert card["train"] == {"samples": 32, "positives": 16, "negatives": 16}
    PresenceNet(out).score(np.zeros((360, 640, 3), np.uint8))


def test_shipped_model_is_small_and_has_a_card() -> None:
    """The shipped model is a few hundred KB at most and says how to reproduce it."""
    assert SHIPPED_MODEL.stat().st_size < 500_000
    card = json.loads(SHIPPED_MODEL.with_suffix(".json").read_text())
    assert "python -m facegate.training.presence" in card["command"]
    assert card["held_out"]["accuracy"] > 0.8


def test_shipped_model_separates_held_out_faces_from_backgrounds(net: PresenceNet) -> None:
    """Held-out lfw_subset faces pasted into held-out photos vs the same without a face."""
    _, held_out = split_parts(0, 0)
    rng = np.random.default_rng(7)
    labels = np.arange(200) % 2 == 0
    images = np.stack([letterbox(pasted_frame(held_out, bool(y), rng)) for y in labels])
    predicted = net.logits(images) >= 0.0
    # Faces down to 8 px wide and dim exposures make this set hard: held out 0.86 at training.
    assert np.mean(predicted == labels) > 0.75
    assert np.mean(predicted[labels]) > 0.75


def test_shipped_model_on_the_demo_scene(net: PresenceNet) -> None:
    """Faces at least 60 px wide are seen; empty street frames mostly are not."""
    wide, empty = [], []
    for frame in demo_scene():
        box = frame.truth.face_box
        if not face_in_view(frame):
            empty.append(net.score(frame.image))
        elif box is not None and box[2] - box[0] >= 60:
            wide.append(net.score(frame.image))
    assert np.mean(np.array(wide) >= 0.5) > 0.95
    assert np.mean(np.array(empty) >= 0.5) < 0.2


def test_cascade_on_a_static_street_passes_nothing(net: PresenceNet) -> None:
    """The empty street with a swaying tree: no frame reaches the face model."""
    gate = CascadeGate(GateSettings(mode="cascade"), net)
    segments = (SceneSegment("street", 4.0),)
    results = [gate.update(f.image, f.timestamp) for f in demo_scene(segments=segments, seed=3)]
    assert not any(r.passed for r in results)


def test_cascade_passes_an_approaching_face(net: PresenceNet) -> None:
    """A walker: the cascade opens, and runs the network only where pixels changed."""
    gate = CascadeGate(GateSettings(mode="cascade"), net)
    segments = (SceneSegment("street", 1.0), SceneSegment("walk", 3.0, "Grace Hopper"))
    results = [gate.update(f.image, f.timestamp) for f in demo_scene(segments=segments, seed=3)]
    assert sum(r.passed for r in results) > 10
    for result in results:
        assert (result.presence is None) == (result.changed_fraction <= GateSettings().epsilon)


def test_presence_gate_scores_every_frame(net: PresenceNet) -> None:
    """Mode 'presence' needs no motion: a still frame with a large face passes at once."""
    gate = PresenceGate(GateSettings(mode="presence"), net)
    walk = list(demo_scene(segments=(SceneSegment("walk", 2.0, "Eileen Collins"),), seed=5))
    result = gate.update(walk[-1].image, 0.0)
    assert result.passed and result.presence is not None and result.presence >= 0.5
    assert result.changed_fraction == 1.0


def test_gate_result_keeps_its_fields() -> None:
    """Existing positional use still works; the presence score defaults to None."""
    result = GateResult(False, 0.0)
    assert result.presence is None and result == GateResult(passed=False, changed_fraction=0.0)


@pytest.mark.parametrize(
    ("mode", "kind"),
    [("pixel", PixelChangeGate), ("presence", PresenceGate), ("cascade", CascadeGate)],
)
def test_build_gate_per_mode(mode: str, kind: type) -> None:
    """Each mode builds its gate; the default stays the pixel gate."""
    assert isinstance(build_gate(GateSettings(mode=mode)), kind)
    assert GateSettings().mode == "pixel"


def test_gate_settings_from_environment(tmp_path: Path) -> None:
    """Mode, threshold and model path come from FACEGATE_GATE__* variables."""
    env = {
        "FACEGATE_GATE__MODE": "cascade",
        "FACEGATE_GATE__PRESENCE_THRESHOLD": "0.3",
        "FACEGATE_GATE__PRESENCE_MODEL": str(tmp_path / "p.onnx"),
    }
    gate = load_settings(environ=env).gate
    assert (gate.mode, gate.presence_threshold) == ("cascade", 0.3)
    assert gate.presence_model == tmp_path / "p.onnx"
    assert load_settings(environ={}).gate.presence_model is None


@pytest.mark.parametrize(
    "env",
    [
        {"FACEGATE_GATE__MODE": "yolo"},
        {"FACEGATE_GATE__PRESENCE_THRESHOLD": "0"},
        {"FACEGATE_GATE__PRESENCE_THRESHOLD": "1"},
        {"FACEGATE_GATE__PRESENCE_THRESHOLD": "high"},
    ],
)
def test_bad_gate_settings_are_refused(env: dict[str, str]) -> None:
    """Unknown modes and thresholds outside (0, 1) are refused."""
    with pytest.raises(SettingsError):
        load_settings(environ=env)


def test_missing_or_broken_model_is_refused(tmp_path: Path) -> None:
    """A presence model path that does not exist or is not ONNX gives a settings error."""
    with pytest.raises(SettingsError, match="not found"):
        build_gate(GateSettings(mode="presence", presence_model=tmp_path / "none.onnx"))
    broken = tmp_path / "broken.onnx"
    broken.write_bytes(b"not a model")
    with pytest.raises(SettingsError, match="cannot load"):
        build_gate(GateSettings(mode="cascade", presence_model=broken))


def test_run_with_cascade_gate_decides_the_enrolled_person(tmp_path: Path) -> None:
    """`facegate run` on a generated video with the cascade gate unlocks the enrolled walker."""
    frames = demo_scene(
        segments=(SceneSegment("street", 1.0), SceneSegment("walk", 3.0, "Eileen Collins"))
    )
    video = tmp_path / "walk.mp4"
    write_video((f.image for f in frames), video)
    db = tmp_path / "g.db"
    env = {k: v for k, v in os.environ.items() if not k.startswith("FACEGATE_GATE")}
    env |= {"FACEGATE_DB": str(db), "FACEGATE_GATE__MODE": "cascade"}
    command = [sys.executable, "-m", "facegate"]
    enrolled = subprocess.run(
        [*command, "demo", "--db", str(db)], capture_output=True, text=True, env=env
    )
    assert enrolled.returncode == 0, enrolled.stderr
    result = subprocess.run(
        [*command, "run", "--json", "--source", str(video)],
        capture_output=True,
        text=True,
        env=env,
        timeout=600,
    )
    assert result.returncode == 0, result.stderr
    events = [json.loads(line) for line in result.stdout.splitlines() if line.strip()]
    assert [(e["decision"], e["person"]) for e in events] == [("unlock", "Eileen Collins")]
