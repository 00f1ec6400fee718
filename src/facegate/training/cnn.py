"""Model family (b): a small residual CNN trained end to end on aligned face chips."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch
from torch import nn

from facegate.training.onnx_export import export_for_opencv


class Block(nn.Module):
    """Two 3x3 convolutions with batch norm and a (strided, projected) shortcut."""

    def __init__(self, inputs: int, outputs: int, stride: int) -> None:
        super().__init__()
        self.body = nn.Sequential(
            nn.Conv2d(inputs, outputs, 3, stride, 1, bias=False),
            nn.BatchNorm2d(outputs),
            nn.ReLU(inplace=True),
            nn.Conv2d(outputs, outputs, 3, 1, 1, bias=False),
            nn.BatchNorm2d(outputs),
        )
        self.shortcut = nn.Sequential(
            nn.Conv2d(inputs, outputs, 1, stride, bias=False), nn.BatchNorm2d(outputs)
        )
        self.relu = nn.ReLU(inplace=True)

    def forward(self, x: Any) -> Any:
        """Return relu(body(x) + shortcut(x))."""
        return self.relu(self.body(x) + self.shortcut(x))


class SmallFaceCnn(nn.Module):
    """Stem, three strided residual stages (x2, x4, x8 width), then a flattened linear embedding.

    The last layer keeps the 8x8 spatial layout (no global pooling): where a feature sits on an
    aligned face matters, as in MobileFaceNet's global depthwise layer.
    """

    def __init__(self, size: int = 64, width: int = 16, dim: int = 128) -> None:
        super().__init__()
        if size % 8:
            raise ValueError(f"CNN input size must be a multiple of 8, not {size}")
        self.size = size
        self.dim = dim
        self.features = nn.Sequential(
            nn.Conv2d(3, width, 3, 1, 1, bias=False),
            nn.BatchNorm2d(width),
            nn.ReLU(inplace=True),
            Block(width, 2 * width, 2),
            Block(2 * width, 4 * width, 2),
            Block(4 * width, 8 * width, 2),
        )
        side = size // 8
        self.embedding = nn.Sequential(
            nn.Flatten(),
            nn.Dropout(0.2),
            nn.Linear(8 * width * side * side, dim, bias=False),
            nn.BatchNorm1d(dim),
        )

    def forward(self, x: Any) -> Any:
        """Return (not yet normalised) embeddings of a (N, 3, size, size) batch."""
        return self.embedding(self.features(x))


def export_cnn(model: SmallFaceCnn, path: Path) -> None:
    """Write the CNN (eval mode, batch size free) to ONNX; consumers unit-normalise its output."""
    example = torch.zeros(1, 3, model.size, model.size)
    export_for_opencv(model, example, "chip", "embedding", path)
