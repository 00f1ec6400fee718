"""The two model families behind one trainer: what each is built from, fed and exported as.

(a) `head`: a residual MLP on the frozen shipped encoder's vectors (EmbeddingSet rows);
    image augmentation happens before training, as extra encoder vectors of augmented chips.
(b) `cnn`: a small CNN on aligned chips (ChipSet rows), augmented afresh in every batch.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import numpy as np
import torch
from torch import nn

from facegate.training.augment import AUGMENTS
from facegate.training.cnn import SmallFaceCnn, export_cnn
from facegate.training.head import ResidualHead, export_onnx, unit
from facegate.training.identities import ChipSet, EmbeddingSet
from facegate.vision.embedders import cnn_input

EMBED_BATCH = 256


class Family(Protocol):
    """What the trainer needs of a model family."""

    name: str

    def build(self, data: Any) -> nn.Module:
        """Return a fresh model for this training data."""
        ...

    def inputs(self, data: Any, index: np.ndarray, train: bool) -> Any:
        """Return the model input tensor for these rows (augmented when train is true)."""
        ...

    def embed(self, model: nn.Module, data: Any, index: np.ndarray | None = None) -> np.ndarray:
        """Return the unit vectors (eval mode) of these rows (all when index is None)."""
        ...

    def export(self, model: nn.Module, path: Path) -> None:
        """Write the model to ONNX."""
        ...

    def state(self) -> dict:
        """Return the family's random state (for checkpoints)."""
        ...

    def restore(self, state: dict) -> None:
        """Restore a state from state()."""
        ...


def _embed_rows(
    family: Family, model: nn.Module, data: Any, index: np.ndarray | None
) -> np.ndarray:
    """Return unit vectors of the rows in batches, eval mode, no gradients."""
    rows = np.arange(len(data)) if index is None else index
    device = next(model.parameters()).device
    model.eval()
    parts = []
    with torch.no_grad():
        for start in range(0, len(rows), EMBED_BATCH):
            batch = family.inputs(data, rows[start : start + EMBED_BATCH], train=False)
            parts.append(unit(model, batch.to(device)).cpu().numpy())
    return np.concatenate(parts) if parts else np.zeros((0, 128), np.float32)


@dataclass
class HeadFamily:
    """Family (a): ResidualHead on encoder vectors."""

    hidden: int = 256
    name: str = "head"

    def build(self, data: EmbeddingSet) -> nn.Module:
        """Return a head that starts as the identity."""
        return ResidualHead(data.vectors.shape[1], self.hidden)

    def inputs(self, data: EmbeddingSet, index: np.ndarray, train: bool) -> Any:
        """Return the rows' vectors."""
        return torch.from_numpy(data.vectors[index])

    def embed(
        self, model: nn.Module, data: EmbeddingSet, index: np.ndarray | None = None
    ) -> np.ndarray:
        """Return the head's unit vectors of these rows."""
        return _embed_rows(self, model, data, index)

    def export(self, model: nn.Module, path: Path) -> None:
        """Write the head to ONNX (from the CPU)."""
        export_onnx(model.cpu(), path)

    def state(self) -> dict:
        """The head draws no random numbers of its own."""
        return {}

    def restore(self, state: dict) -> None:
        """Nothing to restore."""


@dataclass
class CnnFamily:
    """Family (b): SmallFaceCnn on chips, each named augmentation applied with probability p."""

    size: int = 64
    width: int = 16
    augments: tuple[str, ...] = ("flip", "crop", "colour")
    probability: float = 0.5
    seed: int = 0
    name: str = "cnn"
    rng: np.random.Generator = field(init=False)

    def __post_init__(self) -> None:
        unknown = set(self.augments) - AUGMENTS.keys()
        if unknown:
            raise ValueError(f"unknown augmentation {sorted(unknown)}; known: {sorted(AUGMENTS)}")
        self.rng = np.random.default_rng(self.seed + 1)

    def build(self, data: ChipSet) -> nn.Module:
        """Return a freshly initialised CNN."""
        return SmallFaceCnn(self.size, self.width)

    def augmented(self, chip: np.ndarray) -> np.ndarray:
        """Return the chip with each augmentation applied or not at random."""
        for name in self.augments:
            if self.rng.random() < self.probability:
                chip = AUGMENTS[name](chip, self.rng)
        return chip

    def inputs(self, data: ChipSet, index: np.ndarray, train: bool) -> Any:
        """Return the rows' chips as a CNN batch (augmented when training)."""
        chips = [self.augmented(data.chips[i]) if train else data.chips[i] for i in index]
        return torch.from_numpy(cnn_input(chips, self.size))

    def embed(self, model: nn.Module, data: ChipSet, index: np.ndarray | None = None) -> np.ndarray:
        """Return the CNN's unit vectors of these rows."""
        return _embed_rows(self, model, data, index)

    def export(self, model: nn.Module, path: Path) -> None:
        """Write the CNN to ONNX (from the CPU)."""
        export_cnn(model.cpu(), path)

    def state(self) -> dict:
        """Return the augmentation random state."""
        return self.rng.bit_generator.state

    def restore(self, state: dict) -> None:
        """Restore the augmentation random state."""
        self.rng.bit_generator.state = state
