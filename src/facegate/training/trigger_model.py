"""The trigger network (spectrogram -> strided conv -> GRUs -> per-step sigmoid), ONNX export."""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import torch
from torch import nn

from facegate.settings import TriggerTrainSettings

ONNX_OPSET = 17
INPUTS = ("features", "state")  # (1, frames, bins) dB spectrogram; (layers, 1, hidden) GRU state
OUTPUTS = ("scores", "state_out")  # (1, steps) P(phrase just ended); the state after the chunk


class TriggerNet(nn.Module):
    """Per-step P(the phrase just ended) from a dB spectrogram, GRU state in and out."""

    def __init__(self, bins: int, settings: TriggerTrainSettings) -> None:
        super().__init__()
        self.register_buffer("mean", torch.zeros(bins))
        self.register_buffer("scale", torch.ones(bins))
        self.conv = nn.Conv1d(
            bins, settings.conv_channels, settings.conv_kernel, stride=settings.conv_stride
        )
        self.drop = nn.Dropout(settings.dropout)
        self.gru = nn.GRU(
            settings.conv_channels,
            settings.gru_hidden,
            settings.gru_layers,
            batch_first=True,
            dropout=settings.dropout if settings.gru_layers > 1 else 0.0,
        )
        self.head = nn.Linear(settings.gru_hidden, 1)

    def set_normalisation(self, mean: np.ndarray, std: np.ndarray) -> None:
        """Store the per-bin mean and spread of the training spectrograms inside the model."""
        self.mean.copy_(torch.from_numpy(mean.astype(np.float32)))
        self.scale.copy_(torch.from_numpy((1.0 / np.maximum(std, 1e-3)).astype(np.float32)))

    def logits(self, features: torch.Tensor, state: torch.Tensor) -> tuple[torch.Tensor, ...]:
        """Return per-step logits (batch, steps) and the GRU state after the last step."""
        x = (features - self.mean) * self.scale
        x = torch.relu(self.conv(x.transpose(1, 2))).transpose(1, 2)
        x, state = self.gru(self.drop(x), state)
        return self.head(self.drop(x)).squeeze(-1), state

    def forward(self, features: torch.Tensor, state: torch.Tensor) -> tuple[torch.Tensor, ...]:
        """Return per-step probabilities (batch, steps) and the GRU state after the last step."""
        logits, state = self.logits(features, state)
        return torch.sigmoid(logits), state


def zero_state(model: TriggerNet, batch: int) -> torch.Tensor:
    """Return the GRU's all-zero starting state for a batch."""
    return torch.zeros(model.gru.num_layers, batch, model.gru.hidden_size)


def export_onnx(model: TriggerNet, path: Path) -> None:
    """Write the chunk model: any number of frames in, scores and the carried state out."""
    model.eval()
    bins = model.mean.shape[0]
    example = (torch.zeros(1, 64, bins), zero_state(model, 1))
    path.parent.mkdir(parents=True, exist_ok=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # GRU-with-batch-1 and TorchScript deprecation notes
        torch.onnx.export(
            model,
            example,
            str(path),
            input_names=list(INPUTS),
            output_names=list(OUTPUTS),
            dynamic_axes={"features": {1: "frames"}, "scores": {1: "steps"}},
            opset_version=ONNX_OPSET,
            dynamo=False,
        )
