"""Model family (a): a small head trained on top of the frozen shipped encoder's embeddings."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from facegate.training.onnx_export import export_for_opencv


class ResidualHead(nn.Module):
    """x + W2 relu(W1 x): starts as the identity (W2 = 0), so training starts at the encoder."""

    def __init__(self, dim: int = 128, hidden: int = 256) -> None:
        super().__init__()
        self.dim = dim
        self.hidden = hidden
        self.net = nn.Sequential(nn.Linear(dim, hidden), nn.ReLU(), nn.Linear(hidden, dim))
        nn.init.zeros_(self.net[2].weight)
        nn.init.zeros_(self.net[2].bias)

    def forward(self, x: Any) -> Any:
        """Return the new (not yet normalised) vectors."""
        return x + self.net(x)


def unit(model: nn.Module, x: Any) -> Any:
    """Return the model's outputs scaled to unit length."""
    return F.normalize(model(x), dim=1)


def embed_numpy(model: nn.Module, vectors: np.ndarray) -> np.ndarray:
    """Return the model's unit vectors (eval mode, no grad) for an (N, dim) float32 array."""
    model.eval()
    with torch.no_grad():
        return unit(model, torch.from_numpy(np.asarray(vectors, np.float32))).numpy()


def export_onnx(model: nn.Module, path: Path) -> None:
    """Write the head (eval mode, batch size free) to ONNX; consumers unit-normalise its output."""
    export_for_opencv(model, torch.zeros(1, model.dim), "embedding", "head", path)
