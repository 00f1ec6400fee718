"""Train/dev loss and verification-accuracy curves of a training run, as one PNG."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt


def save_curves(history: Any, path: Path, loss_name: str) -> None:
    """Plot the losses (left) and pair accuracies (right) per epoch to a PNG file."""
    epochs = range(1, len(history.train_loss) + 1)
    figure, (left, right) = plt.subplots(1, 2, figsize=(10, 4))
    left.plot(epochs, history.train_loss, label=f"train ({loss_name})")
    if history.dev_loss:
        left.plot(epochs, history.dev_loss, label="dev (triplet)")
    left.set_xlabel("epoch")
    left.set_ylabel("loss")
    left.legend()
    right.plot(epochs, history.train_accuracy, label="train")
    if history.dev_accuracy:
        right.plot(epochs, history.dev_accuracy, label="dev")
    right.set_xlabel("epoch")
    right.set_ylabel("pair accuracy (best threshold)")
    right.legend()
    figure.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, dpi=100)
    plt.close(figure)
