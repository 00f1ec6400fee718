"""Training both model families: sampler, losses, loop, resume, augmentation, ONNX export, CLI."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from facegate.cli import app
from facegate.decide.threshold import tail_path, threshold_for_gallery
from facegate.settings import DecideSettings, VisionSettings
from facegate.training.identities import (
    ChipSet,
    EmbeddingSet,
    identity_folders,
    read_people_folds,
)
from facegate.training.sampler import PKSampler

torch = pytest.importorskip("torch", reason="training needs the train extra (torch)")

from facegate.training.head import embed_numpy  # noqa: E402
from facegate.training.losses import triplet_semi_hard  # noqa: E402
from facegate.training.metric import (  # noqa: E402
    MetricConfig,
    MetricTrainer,
    overfit_batch,
    train_model,
)
from facegate.training.run import impostor_table  # noqa: E402


def generated(people: int, per: int, seed: int, noise: float = 3.0) -> EmbeddingSet:
    """Return unit vectors scattered around one random centre per identity."""
    rng = np.random.default_rng(seed)
    centres = rng.normal(size=(people, 128))
    vectors = np.repeat(centres, per, axis=0) + noise * rng.normal(size=(people * per, 128))
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    names = tuple(f"person{i}" for i in range(people))
    return EmbeddingSet(vectors.astype(np.float32), np.repeat(np.arange(people), per), names)


def generated_chips(people: int, per: int, seed: int) -> ChipSet:
    """Return 150 px chips: one random blocky pattern per identity, each copy with noise."""
    rng = np.random.default_rng(seed)
    patterns = rng.integers(0, 256, (people, 6, 6, 3)).repeat(25, axis=1).repeat(25, axis=2)
    chips = np.repeat(patterns, per, axis=0) + rng.normal(0, 30, (people * per, 150, 150, 3))
    names = tuple(f"person{i}" for i in range(people))
    labels = np.repeat(np.arange(people), per)
    return ChipSet(np.clip(chips, 0, 255).astype(np.uint8), labels, names)


def folder_dataset(faces: dict[str, list[Path]], data: Path) -> Path:
    """Return a folder-per-person dataset of links to the LFW photos."""
    for name, paths in faces.items():
        (data / name).mkdir(parents=True)
        for path in paths:
            (data / name / path.name).symlink_to(path)
    return data


CNN = {"family": "cnn", "size": 32, "width": 4, "p": 6, "k": 4}


def test_labelled_sets_subset_renumber_and_round_trip(tmp_path: Path) -> None:
    """of_people keeps those people, renumbers labels 0..k-1; save/load gives the same set."""
    for data in (generated(5, 3, 0), generated_chips(5, 3, 0)):
        picked = data.of_people(["person3", "person1"])
        assert picked.names == ("person1", "person3") and len(picked) == 6
        assert set(picked.labels) == {0, 1}
        assert np.array_equal(picked.rows(), data.rows()[np.isin(data.labels, [1, 3])])
        picked.save(tmp_path / "set.npz")
        again = type(data).load(tmp_path / "set.npz")
        assert again.names == picked.names and np.array_equal(again.labels, picked.labels)
        assert np.array_equal(again.rows(), picked.rows())
        assert again.rows().dtype == data.rows().dtype


def test_pk_sampler_gives_p_people_k_samples_each() -> None:
    """Each batch holds P distinct identities with K rows of each."""
    data = generated(10, 5, seed=0)
    batch = PKSampler(data.labels, p=4, k=3, seed=1).batch()
    people, counts = np.unique(data.labels[batch], return_counts=True)
    assert len(batch) == 12 and len(people) == 4 and set(counts) == {3}


def test_semi_hard_triplet_loss_is_zero_only_when_margin_holds() -> None:
    """Two tight, far-apart identities cost nothing; two overlapping ones cost something."""
    labels = torch.tensor([0, 0, 1, 1])
    apart = torch.tensor([[1.0, 0.0], [1.0, 0.0], [0.0, 1.0], [0.0, 1.0]])
    mixed = torch.nn.functional.normalize(torch.tensor([[1.0, 0], [0, 1.0], [1.0, 0.1], [0.1, 1]]))
    assert triplet_semi_hard(apart, labels, 0.2).item() == 0.0
    assert triplet_semi_hard(mixed, labels, 0.2).item() > 0.1


@pytest.mark.parametrize("loss", ["triplet", "arcface"])
def test_overfit_batch_drives_loss_near_zero(loss: str) -> None:
    """One small batch, trained on alone, is learnt to a loss of about zero."""
    figures = overfit_batch(generated(20, 6, seed=0), MetricConfig(loss=loss))  # type: ignore[arg-type]
    assert figures["first_loss"] > 0.05
    assert figures["final_loss"] < 1e-3


@pytest.mark.parametrize("loss", ["triplet", "arcface"])
def test_a_few_epochs_write_model_checkpoint_and_curves(loss: str, tmp_path: Path) -> None:
    """Three epochs on a tiny generated set train in seconds and leave every artefact."""
    config = MetricConfig(loss=loss, epochs=3, p=8)  # type: ignore[arg-type]
    summary = train_model(generated(30, 6, 0), generated(8, 6, 1), config, tmp_path, quiet=True)
    for name in ("head.onnx", "checkpoint.pt", "curves.png", "summary.json"):
        assert (tmp_path / name).stat().st_size > 0
    assert summary["epochs"] == 3 and 0.5 < summary["dev_accuracy"] <= 1.0
    assert json.loads((tmp_path / "summary.json").read_text())["train_loss"] >= 0.0


def test_cnn_overfits_one_batch() -> None:
    """The small CNN drives the loss of one fixed batch of chips to about zero."""
    config = MetricConfig(**CNN, loss="arcface", learning_rate=3e-3)  # type: ignore[arg-type]
    figures = overfit_batch(generated_chips(8, 4, seed=0), config, steps=150)
    assert figures["first_loss"] > 1.0
    assert figures["final_loss"] < 1e-2


def test_cnn_trains_with_augmentation_and_exports_matching_onnx(tmp_path: Path) -> None:
    """A few augmented epochs learn the patterns; OpenCV's run of cnn.onnx matches torch."""
    from facegate.vision.embedders import OnnxCnnEmbedder, cnn_input, onnx_embedder

    config = MetricConfig(**CNN, epochs=4, augment=("flip", "colour", "scarf"))  # type: ignore[arg-type]
    train, dev = generated_chips(12, 5, 0), generated_chips(6, 5, 1)
    summary = train_model(train, dev, config, tmp_path, quiet=True)
    for name in ("cnn.onnx", "checkpoint.pt", "curves.png", "summary.json"):
        assert (tmp_path / name).stat().st_size > 0
    assert summary["family"] == "cnn" and summary["dev_accuracy"] > 0.6
    assert summary["device"] == ("cuda" if torch.cuda.is_available() else "cpu")
    embedder = onnx_embedder(tmp_path / "cnn.onnx", VisionSettings(tta_mirror=False))
    assert isinstance(embedder, OnnxCnnEmbedder) and embedder.name.startswith("onnx-cnn:")
    trainer = MetricTrainer(config, train)
    trainer.load(tmp_path / "checkpoint.pt")
    expected = trainer.embed(dev)
    assert np.abs(embedder.embed(list(dev.chips)) - expected).max() < 1e-4
    assert cnn_input(dev.chips[:2], 32).shape == (2, 3, 32, 32)
    # enough dev people: the model's own 1:N impostor table is written beside it
    table = impostor_table(tmp_path / "cnn.onnx", generated_chips(30, 2, 3), tmp_path)
    assert table == str(tail_path(tmp_path / "cnn.onnx"))
    threshold = threshold_for_gallery(
        DecideSettings(threshold=2.0), 20, embedder.name, embedder.model_path
    )
    assert 0.0 < threshold < 2.0
    assert impostor_table(tmp_path / "cnn.onnx", dev, tmp_path) is None  # 6 dev people: too few


def test_cnn_resume_is_bit_identical_with_augmentation(tmp_path: Path) -> None:
    """Augmentation's random state is checkpointed: 1 + 1 epochs equal 2 epochs in one go."""
    train = generated_chips(12, 4, 0)
    config = {**CNN, "augment": ("crop", "blur")}
    train_model(train, None, MetricConfig(**config, epochs=1), tmp_path / "split", quiet=True)  # type: ignore[arg-type]
    train_model(
        train, None, MetricConfig(**config, epochs=2), tmp_path / "split", resume=True, quiet=True
    )  # type: ignore[arg-type]
    train_model(train, None, MetricConfig(**config, epochs=2), tmp_path / "whole", quiet=True)  # type: ignore[arg-type]
    split = torch.load(tmp_path / "split" / "checkpoint.pt", weights_only=False)
    once = torch.load(tmp_path / "whole" / "checkpoint.pt", weights_only=False)
    assert split["augment"] == once["augment"]
    for name, weights in once["model"].items():
        assert torch.equal(split["model"][name], weights), name


def test_resume_continues_exactly_where_the_checkpoint_stopped(tmp_path: Path) -> None:
    """2 epochs + resume to 4 gives the same weights and curves as 4 epochs in one go."""
    train, dev = generated(30, 6, 0), generated(8, 6, 1)
    train_model(train, dev, MetricConfig(epochs=2, p=8), tmp_path / "split", quiet=True)
    resumed = train_model(
        train, dev, MetricConfig(epochs=4, p=8), tmp_path / "split", resume=True, quiet=True
    )
    train_model(train, dev, MetricConfig(epochs=4, p=8), tmp_path / "whole", quiet=True)
    assert resumed["epochs"] == 4
    split = torch.load(tmp_path / "split" / "checkpoint.pt", weights_only=False)
    once = torch.load(tmp_path / "whole" / "checkpoint.pt", weights_only=False)
    assert split["history"] == once["history"]
    for name, weights in once["model"].items():
        assert torch.equal(split["model"][name], weights), name


def test_onnx_head_matches_torch_within_1e4(tmp_path: Path) -> None:
    """The exported head, run by OpenCV in OnnxHeadEmbedder, gives the PyTorch unit vectors."""
    from facegate.training.head import export_onnx
    from facegate.vision.embed import DlibResnetEmbedder
    from facegate.vision.embedders import OnnxHeadEmbedder

    data = generated(20, 6, 0)
    trainer = MetricTrainer(MetricConfig(p=8), data)
    for _ in range(3):
        trainer.run_epoch()
    export_onnx(trainer.model, tmp_path / "head.onnx")
    embedder = OnnxHeadEmbedder(tmp_path / "head.onnx", DlibResnetEmbedder())
    expected = embed_numpy(trainer.model, data.vectors)
    assert not np.allclose(expected, data.vectors, atol=1e-3)  # the head did change the space
    assert np.abs(embedder.head(data.vectors) - expected).max() < 1e-4
    assert embedder.name.startswith("onnx-head:") and embedder.dim == 128


def test_people_folds_of_lfw_view2(lfw: Path) -> None:
    """people.txt has 10 folds covering LFW's 5,749 people, each person in one fold."""
    folds = read_people_folds(lfw / "people.txt")
    names = [name for fold in folds for name in fold]
    assert len(folds) == 10 and len(names) == len(set(names)) == 5749


def test_cli_trains_then_enrolls_and_identifies_with_the_onnx_head(
    faces: dict[str, list[Path]], tmp_path: Path
) -> None:
    """train -> head.onnx; enroll and identify with --embedder onnx:PATH on LFW photos."""
    data = folder_dataset(faces, tmp_path / "data")
    assert len(identity_folders(data)) == 3
    runner = CliRunner()
    out = tmp_path / "run"
    args = ["train", "--data", str(data), "--out", str(out), "--epochs", "2"]
    trained = runner.invoke(app, [*args, "--dev-fraction", "0", "--json"])
    assert trained.exit_code == 0, trained.output
    summary = json.loads(trained.output.splitlines()[-1])
    assert summary["epochs"] == 2 and summary["family"] == "head"
    # the default flip,crop,colour augmentation adds one embedded augmented copy per image
    assert summary["train_rows"] == 2 * summary["images_with_a_face"]
    spec = f"onnx:{out / 'head.onnx'}"
    db = str(tmp_path / "gallery.db")
    powell = [str(p) for p in faces["Colin Powell"][:3]]
    enrolled = runner.invoke(
        app, ["enroll", "Colin Powell", *powell, "--db", db, "--embedder", spec, "--consent", "t"]
    )
    assert enrolled.exit_code == 0, enrolled.output
    probe = str(faces["Colin Powell"][3])
    identify = ["identify", probe, "--db", db, "--embedder", spec, "--json"]
    uncalibrated = runner.invoke(app, identify)
    assert uncalibrated.exit_code == 2 and "impostor-distance table" in uncalibrated.output
    found = runner.invoke(app, identify, env={"FACEGATE_DECIDE__IDENTIFY_THRESHOLD": "0.42"})
    assert found.exit_code == 0, found.output
    assert json.loads(found.output.splitlines()[-1])["person"] == "Colin Powell"
    # the shipped encoder's space holds nobody: vectors of two embedders are never compared
    other = runner.invoke(app, ["identify", probe, "--db", db, "--json"])
    assert other.exit_code == 1
    bad = runner.invoke(app, ["identify", probe, "--db", db, "--embedder", "onnx:/nope.onnx"])
    assert bad.exit_code == 2


def test_cli_trains_a_cnn_and_runs_it_as_the_embedder(
    faces: dict[str, list[Path]], tmp_path: Path
) -> None:
    """train --family cnn -> cnn.onnx; enroll and verify with it through the CLI."""
    data = folder_dataset(faces, tmp_path / "data")
    runner = CliRunner()
    out = tmp_path / "run"
    (data / "Colin Powell" / "broken.jpg").write_bytes(b"\xff\xd8 not a whole jpeg")
    args = ["train", "--data", str(data), "--out", str(out), "--family", "cnn", "--epochs", "2"]
    small = ["--image-size", "32", "--width", "4", "--augment", "flip,sunglasses"]
    trained = runner.invoke(app, [*args, *small, "--dev-fraction", "0", "--json"])
    assert trained.exit_code == 0, trained.output
    summary = json.loads(trained.output.splitlines()[-1])
    assert summary["family"] == "cnn" and summary["model"].endswith("cnn.onnx")
    assert summary["images"] == summary["images_with_a_face"] + 1  # the broken file, skipped
    spec = f"onnx:{out / 'cnn.onnx'}"
    db = str(tmp_path / "gallery.db")
    photo = str(faces["Colin Powell"][0])
    enrolled = runner.invoke(
        app, ["enroll", "Colin Powell", photo, "--db", db, "--embedder", spec, "--consent", "t"]
    )
    assert enrolled.exit_code == 0, enrolled.output
    verify = ["verify", "Colin Powell", photo, "--db", db, "--embedder", spec, "--json"]
    same = runner.invoke(app, verify)
    assert same.exit_code == 0, same.output
    assert json.loads(same.output.splitlines()[-1])["distance"] < 1e-3
    bad = runner.invoke(app, [*args, "--augment", "hat", "--json"])
    assert bad.exit_code == 2 and "unknown augmentation" in bad.output
    if not torch.cuda.is_available():
        no_gpu = runner.invoke(app, [*args, *small, "--device", "cuda", "--json"])
        assert no_gpu.exit_code == 2 and "no CUDA GPU" in no_gpu.output
