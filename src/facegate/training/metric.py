"""Metric-learning loop for either model family: P x K batches, triplet or ArcFace, checkpoints."""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np
import torch
from rich.progress import Progress

from facegate.errors import FacegateError
from facegate.training.families import CnnFamily, Family, HeadFamily
from facegate.training.head import unit
from facegate.training.identities import ChipSet, EmbeddingSet
from facegate.training.losses import ArcFaceHead, triplet_semi_hard
from facegate.training.sampler import PKSampler

Loss = Literal["triplet", "arcface"]
FamilyName = Literal["head", "cnn"]
CHECKPOINT = "checkpoint.pt"
MODEL_FILES = {"head": "head.onnx", "cnn": "cnn.onnx"}
ACCURACY_ROWS = 2000  # the per-epoch train accuracy uses at most this many training rows
TrainingData = EmbeddingSet | ChipSet


@dataclass(frozen=True)
class MetricConfig:
    """Everything that determines the trained head (the same config gives the same model)."""

    family: FamilyName = "head"
    loss: Loss = "triplet"
    epochs: int = 20
    p: int = 16  # identities per batch
    k: int = 4  # samples per identity
    learning_rate: float = 1e-3
    weight_decay: float = 1e-4
    hidden: int = 256
    margin: float = 0.2  # triplet alpha (squared distances)
    arc_margin: float = 0.3
    arc_scale: float = 30.0
    seed: int = 0
    augment: tuple[str, ...] = ()  # cnn: per batch, each with augment_probability
    augment_probability: float = 0.5
    size: int = 64  # cnn input side in pixels
    width: int = 16  # cnn channels of the first stage


def training_device(wanted: str = "auto") -> torch.device:
    """Return the device to train on: a CUDA GPU when one exists (auto), else the CPU."""
    if wanted == "auto":
        wanted = "cuda" if torch.cuda.is_available() else "cpu"
    if wanted == "cuda" and not torch.cuda.is_available():
        raise FacegateError("--device cuda: torch finds no CUDA GPU on this machine")
    return torch.device(wanted)


def make_family(config: MetricConfig) -> Family:
    """Return the model family the config names."""
    if config.family == "head":
        return HeadFamily(config.hidden)
    return CnnFamily(
        config.size, config.width, config.augment, config.augment_probability, config.seed
    )


@dataclass
class History:
    """Per-epoch curves: training objective, dev triplet loss, train and dev pair accuracy."""

    train_loss: list[float] = field(default_factory=list)
    dev_loss: list[float] = field(default_factory=list)
    train_accuracy: list[float] = field(default_factory=list)
    dev_accuracy: list[float] = field(default_factory=list)


def verification_accuracy(vectors: np.ndarray, labels: np.ndarray, pairs: int = 2000) -> float:
    """Return the best-threshold accuracy on balanced same/different pairs of these vectors."""
    rng = np.random.default_rng(0)
    same_rows = [np.flatnonzero(labels == person) for person in np.unique(labels)]
    same_rows = [rows for rows in same_rows if len(rows) >= 2]
    if not same_rows:
        return float("nan")
    chosen = rng.integers(len(same_rows), size=pairs)
    positive = np.array([rng.choice(same_rows[i], 2, replace=False) for i in chosen])
    negative = rng.integers(len(labels), size=(pairs * 2, 2))
    negative = negative[labels[negative[:, 0]] != labels[negative[:, 1]]][:pairs]
    distance = np.concatenate(
        [
            np.linalg.norm(vectors[positive[:, 0]] - vectors[positive[:, 1]], axis=1),
            np.linalg.norm(vectors[negative[:, 0]] - vectors[negative[:, 1]], axis=1),
        ]
    )
    truth = np.r_[np.ones(len(positive), bool), np.zeros(len(negative), bool)][np.argsort(distance)]
    # accepting the i nearest pairs: true accepts among them + true rejects after them
    accepted_same = np.r_[0, np.cumsum(truth)]
    accepted_different = np.r_[0, np.cumsum(~truth)]
    correct = accepted_same + (np.sum(~truth) - accepted_different)
    return round(float(correct.max() / len(truth)), 4)


class MetricTrainer:
    """Owns the model, the loss (and ArcFace classifier), the optimiser and the sampler."""

    def __init__(
        self, config: MetricConfig, train: TrainingData, device: str | torch.device = "cpu"
    ) -> None:
        torch.manual_seed(config.seed)
        self.config = config
        self.train_set = train
        self.device = torch.device(device)
        self.family = make_family(config)
        self.model = self.family.build(train).to(self.device)
        self.arcface = (
            ArcFaceHead(self.model.dim, len(train.names), config.arc_scale, config.arc_margin).to(
                self.device
            )
            if config.loss == "arcface"
            else None
        )
        params = list(self.model.parameters())
        if self.arcface is not None:
            params += list(self.arcface.parameters())
        self.optimiser = torch.optim.AdamW(
            params, lr=config.learning_rate, weight_decay=config.weight_decay
        )
        self.sampler = PKSampler(train.labels, config.p, config.k, config.seed)
        accuracy_rng = np.random.default_rng(config.seed)
        self.accuracy_rows = np.sort(
            accuracy_rng.permutation(len(train))[: min(ACCURACY_ROWS, len(train))]
        )
        self.epoch = 0
        self.history = History()

    def loss(self, inputs: Any, labels: Any) -> Any:
        """Return the training objective on one batch."""
        embeddings = unit(self.model, inputs)
        if self.arcface is not None:
            return self.arcface(embeddings, labels)
        return triplet_semi_hard(embeddings, labels, self.config.margin)

    def step(self, inputs: Any, labels: Any) -> float:
        """Take one optimiser step on a batch; return its loss."""
        self.model.train()
        loss = self.loss(inputs, labels)
        self.optimiser.zero_grad()
        loss.backward()
        self.optimiser.step()
        return float(loss.item())

    def batch(
        self, index: np.ndarray, data: TrainingData | None = None, train: bool = True
    ) -> tuple[Any, Any]:
        """Return the input and label tensors of these rows of the training (or given) set."""
        data = data or self.train_set
        inputs = self.family.inputs(data, index, train=train and data is self.train_set)
        return inputs.to(self.device), torch.from_numpy(data.labels[index]).to(self.device)

    def dev_loss(self, dev: TrainingData, batches: int = 8) -> float:
        """Return the mean triplet loss on fixed P x K batches of the dev set."""
        sampler = PKSampler(dev.labels, self.config.p, self.config.k, seed=12345)
        self.model.eval()
        with torch.no_grad():
            losses = [
                triplet_semi_hard(unit(self.model, inputs), labels, self.config.margin).item()
                for inputs, labels in (
                    self.batch(sampler.batch(), dev, train=False) for _ in range(batches)
                )
            ]
        return round(float(np.mean(losses)), 4)

    def run_epoch(self, progress: Progress | None = None, task: Any = None) -> float:
        """Train one epoch of P x K batches; return the mean loss."""
        losses = []
        for index in self.sampler.epoch():
            losses.append(self.step(*self.batch(index)))
            if progress is not None:
                progress.advance(task)
        self.epoch += 1
        return round(float(np.mean(losses)), 4)

    def embed(self, data: TrainingData, index: np.ndarray | None = None) -> np.ndarray:
        """Return the model's unit vectors of these rows of a set (all rows when None)."""
        return self.family.embed(self.model, data, index)

    def record(self, train_loss: float, dev: TrainingData | None) -> None:
        """Append this epoch's figures to the history."""
        self.history.train_loss.append(train_loss)
        rows = self.accuracy_rows
        self.history.train_accuracy.append(
            verification_accuracy(self.embed(self.train_set, rows), self.train_set.labels[rows])
        )
        if dev is not None and len(dev.names) >= 2:
            self.history.dev_loss.append(self.dev_loss(dev))
            self.history.dev_accuracy.append(verification_accuracy(self.embed(dev), dev.labels))

    def save(self, path: Path) -> None:
        """Write a checkpoint: weights, optimiser, sampler state, epoch and history."""
        torch.save(
            {
                "config": asdict(self.config),
                "epoch": self.epoch,
                "model": self.model.state_dict(),
                "arcface": None if self.arcface is None else self.arcface.state_dict(),
                "optimiser": self.optimiser.state_dict(),
                "sampler": self.sampler.state(),
                "augment": self.family.state(),
                "torch_rng": torch.get_rng_state(),  # dropout draws from it
                "history": asdict(self.history),
            },
            path,
        )

    def load(self, path: Path) -> None:
        """Continue from a checkpoint written by save (same data and loss)."""
        state = torch.load(path, weights_only=False, map_location=self.device)
        self.model.load_state_dict(state["model"])
        if self.arcface is not None:
            self.arcface.load_state_dict(state["arcface"])
        self.optimiser.load_state_dict(state["optimiser"])
        self.sampler.restore(state["sampler"])
        self.family.restore(state["augment"])
        torch.set_rng_state(state["torch_rng"])
        self.epoch = state["epoch"]
        self.history = History(**state["history"])


def train_model(
    train: TrainingData,
    dev: TrainingData | None,
    config: MetricConfig,
    out: Path,
    resume: bool = False,
    quiet: bool = False,
    device: str = "auto",
) -> dict[str, Any]:
    """Train (or resume) a model, checkpoint each epoch, export ONNX and curves; return figures.

    device: 'auto' (a CUDA GPU when torch finds one, else the CPU), 'cpu' or 'cuda'. Resume is
    bit-identical on the CPU; on a GPU, cuDNN kernels need not be deterministic.
    """
    from facegate.training.curves import save_curves

    # a tiny MLP: one thread beats two fighting for a core; a CNN uses them all
    torch.set_num_threads(1 if config.family == "head" else os.cpu_count() or 1)
    out.mkdir(parents=True, exist_ok=True)
    trainer = MetricTrainer(config, train, training_device(device))
    if resume and (out / CHECKPOINT).exists():
        trainer.load(out / CHECKPOINT)
    remaining = max(0, config.epochs - trainer.epoch)
    with Progress(disable=quiet, transient=True) as progress:
        task = progress.add_task(
            f"training {config.family} ({config.loss})",
            total=remaining * trainer.sampler.batches_per_epoch(),
        )
        for _ in range(remaining):
            trainer.record(trainer.run_epoch(progress, task), dev)
            trainer.save(out / CHECKPOINT)
    model = out / MODEL_FILES[config.family]
    trainer.family.export(trainer.model, model)
    save_curves(trainer.history, out / "curves.png", f"{config.family}, {config.loss}")
    summary = {
        "model": str(model),
        "family": config.family,
        "device": str(trainer.device),
        "epochs": trainer.epoch,
        "train_people": len(train.names),
        "train_rows": len(train),
        "dev_people": 0 if dev is None else len(dev.names),
        "encoder_dev_accuracy": verification_accuracy(dev.vectors, dev.labels)
        if isinstance(dev, EmbeddingSet)
        else None,
        **{
            name: values[-1] if values else None for name, values in asdict(trainer.history).items()
        },
        "config": asdict(config),
    }
    (out / "summary.json").write_text(json.dumps(summary, indent=2) + "\n")
    return summary


def overfit_batch(
    train: TrainingData, config: MetricConfig, steps: int = 300, p: int = 4, k: int = 4
) -> dict[str, float]:
    """Train on one fixed P x K batch only; return its loss before and after (should reach ~0)."""
    torch.set_num_threads(1 if config.family == "head" else os.cpu_count() or 1)
    sampler = PKSampler(train.labels, p, k, config.seed)
    small = train.subset(np.isin(np.arange(len(train)), sampler.batch()))
    trainer = MetricTrainer(config, small)
    index = np.arange(len(small))
    inputs, labels = trainer.batch(index, train=False)  # the same batch every step
    first = trainer.step(inputs, labels)
    for _ in range(steps - 1):
        trainer.step(inputs, labels)
    trainer.model.eval()
    with torch.no_grad():
        last = float(trainer.loss(inputs, labels).item())
    return {"steps": steps, "batch": len(index), "first_loss": first, "final_loss": last}
