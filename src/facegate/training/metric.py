"""Metric-learning loop for the head: P x K batches, triplet or ArcFace, checkpoints, curves."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np
import torch
from rich.progress import Progress

from facegate.training.head import ResidualHead, embed_numpy, export_onnx, unit
from facegate.training.identities import EmbeddingSet
from facegate.training.losses import ArcFaceHead, triplet_semi_hard
from facegate.training.sampler import PKSampler

Loss = Literal["triplet", "arcface"]
CHECKPOINT = "checkpoint.pt"
MODEL = "head.onnx"


@dataclass(frozen=True)
class MetricConfig:
    """Everything that determines the trained head (the same config gives the same model)."""

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
    """Owns the head, the loss (and ArcFace classifier), the optimiser and the sampler."""

    def __init__(self, config: MetricConfig, train: EmbeddingSet) -> None:
        torch.manual_seed(config.seed)
        self.config = config
        self.train_set = train
        self.model = ResidualHead(train.vectors.shape[1], config.hidden)
        self.arcface = (
            ArcFaceHead(self.model.dim, len(train.names), config.arc_scale, config.arc_margin)
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
        self.epoch = 0
        self.history = History()

    def loss(self, vectors: Any, labels: Any) -> Any:
        """Return the training objective on one batch."""
        embeddings = unit(self.model, vectors)
        if self.arcface is not None:
            return self.arcface(embeddings, labels)
        return triplet_semi_hard(embeddings, labels, self.config.margin)

    def step(self, vectors: Any, labels: Any) -> float:
        """Take one optimiser step on a batch; return its loss."""
        self.model.train()
        loss = self.loss(vectors, labels)
        self.optimiser.zero_grad()
        loss.backward()
        self.optimiser.step()
        return float(loss.item())

    def batch(self, index: np.ndarray, data: EmbeddingSet | None = None) -> tuple[Any, Any]:
        """Return the tensors of these rows of the training (or given) set."""
        data = data or self.train_set
        return torch.from_numpy(data.vectors[index]), torch.from_numpy(data.labels[index])

    def dev_loss(self, dev: EmbeddingSet, batches: int = 8) -> float:
        """Return the mean triplet loss on fixed P x K batches of the dev set."""
        sampler = PKSampler(dev.labels, self.config.p, self.config.k, seed=12345)
        self.model.eval()
        with torch.no_grad():
            losses = [
                triplet_semi_hard(unit(self.model, vectors), labels, self.config.margin).item()
                for vectors, labels in (self.batch(sampler.batch(), dev) for _ in range(batches))
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

    def record(self, train_loss: float, dev: EmbeddingSet | None) -> None:
        """Append this epoch's figures to the history."""
        self.history.train_loss.append(train_loss)
        train_vectors = embed_numpy(self.model, self.train_set.vectors)
        self.history.train_accuracy.append(
            verification_accuracy(train_vectors, self.train_set.labels)
        )
        if dev is not None and len(dev.names) >= 2:
            self.history.dev_loss.append(self.dev_loss(dev))
            dev_vectors = embed_numpy(self.model, dev.vectors)
            self.history.dev_accuracy.append(verification_accuracy(dev_vectors, dev.labels))

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
                "history": asdict(self.history),
            },
            path,
        )

    def load(self, path: Path) -> None:
        """Continue from a checkpoint written by save (same data and loss)."""
        state = torch.load(path, weights_only=False)
        self.model.load_state_dict(state["model"])
        if self.arcface is not None:
            self.arcface.load_state_dict(state["arcface"])
        self.optimiser.load_state_dict(state["optimiser"])
        self.sampler.restore(state["sampler"])
        self.epoch = state["epoch"]
        self.history = History(**state["history"])


def train_head(
    train: EmbeddingSet,
    dev: EmbeddingSet | None,
    config: MetricConfig,
    out: Path,
    resume: bool = False,
    quiet: bool = False,
) -> dict[str, Any]:
    """Train (or resume) the head, checkpoint each epoch, export ONNX and curves; return figures."""
    from facegate.training.curves import save_curves

    torch.set_num_threads(1)  # a tiny MLP: one thread beats two fighting for a core
    out.mkdir(parents=True, exist_ok=True)
    trainer = MetricTrainer(config, train)
    if resume and (out / CHECKPOINT).exists():
        trainer.load(out / CHECKPOINT)
    remaining = max(0, config.epochs - trainer.epoch)
    with Progress(disable=quiet, transient=True) as progress:
        task = progress.add_task(
            f"training ({config.loss})", total=remaining * trainer.sampler.batches_per_epoch()
        )
        for _ in range(remaining):
            trainer.record(trainer.run_epoch(progress, task), dev)
            trainer.save(out / CHECKPOINT)
    export_onnx(trainer.model, out / MODEL)
    save_curves(trainer.history, out / "curves.png", config.loss)
    summary = {
        "model": str(out / MODEL),
        "epochs": trainer.epoch,
        "train_people": len(train.names),
        "train_vectors": len(train),
        "dev_people": 0 if dev is None else len(dev.names),
        "encoder_dev_accuracy": None
        if dev is None
        else verification_accuracy(dev.vectors, dev.labels),
        **{
            name: values[-1] if values else None for name, values in asdict(trainer.history).items()
        },
        "config": asdict(config),
    }
    (out / "summary.json").write_text(json.dumps(summary, indent=2) + "\n")
    return summary


def overfit_batch(
    train: EmbeddingSet, config: MetricConfig, steps: int = 300, p: int = 4, k: int = 4
) -> dict[str, float]:
    """Train on one fixed P x K batch only; return its loss before and after (should reach ~0)."""
    torch.set_num_threads(1)
    sampler = PKSampler(train.labels, p, k, config.seed)
    small = train.subset(np.isin(np.arange(len(train)), sampler.batch()))
    trainer = MetricTrainer(config, small)
    index = np.arange(len(small))
    vectors, labels = trainer.batch(index)
    first = trainer.step(vectors, labels)
    for _ in range(steps - 1):
        trainer.step(vectors, labels)
    trainer.model.eval()
    with torch.no_grad():
        last = float(trainer.loss(vectors, labels).item())
    return {"steps": steps, "batch": len(index), "first_loss": first, "final_loss": last}
