"""Plots of evaluation results: ROC curves as PNG."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt

from facegate.evaluate.metrics import Roc


def save_roc_plot(curves: Mapping[str, Roc], path: Path, title: str = "ROC") -> Path:
    """Write a ROC plot (log FAR axis) of one or more named curves to a PNG and return its path."""
    fig, ax = plt.subplots(figsize=(6, 4.5), dpi=120)
    for label, roc in curves.items():
        ax.plot(roc.far.clip(1e-5, 1), roc.tar, label=f"{label} (AUC {roc.auc():.4f})")
    ax.set_xscale("log")
    ax.set_xlim(1e-4, 1)
    ax.set_ylim(0.9, 1.001)
    ax.set_xlabel("false accept rate")
    ax.set_ylabel("true accept rate")
    ax.set_title(title)
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(loc="lower right", fontsize="small")
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path)
    plt.close(fig)
    return path
