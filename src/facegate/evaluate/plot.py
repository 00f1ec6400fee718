"""Plots of evaluation results: ROC and DET curves as PNG."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from statistics import NormalDist

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np

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


DET_TICKS = (1e-4, 1e-3, 1e-2, 0.05, 0.2, 0.5)


def _probit(rate: np.ndarray) -> np.ndarray:
    """Return the standard-normal deviate of each rate (clipped to the plotted range)."""
    inv = NormalDist().inv_cdf
    return np.array([inv(float(r)) for r in np.clip(rate, DET_TICKS[0], DET_TICKS[-1])])


def save_det_plot(curves: Mapping[str, Roc], path: Path, title: str = "DET") -> Path:
    """Write a DET plot (false reject vs false accept, normal-deviate axes) to a PNG."""
    fig, ax = plt.subplots(figsize=(6, 4.5), dpi=120)
    for label, roc in curves.items():
        ax.plot(_probit(roc.far), _probit(1.0 - roc.tar), label=f"{label} (EER {roc.eer():.2%})")
    ticks = _probit(np.array(DET_TICKS))
    names = [f"{t:g}" for t in DET_TICKS]
    ax.set_xticks(ticks, names)
    ax.set_yticks(ticks, names)
    ax.set_xlim(ticks[0], ticks[-1])
    ax.set_ylim(ticks[0], ticks[-1])
    ax.set_xlabel("false accept rate")
    ax.set_ylabel("false reject rate")
    ax.set_title(title)
    ax.grid(True, alpha=0.3)
    ax.legend(loc="upper right", fontsize="small")
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path)
    plt.close(fig)
    return path
