"""Train the presence network (P(a face is in view) from a whole frame) and export it to ONNX.

    python -m facegate.training.presence --out src/facegate/models/presence.onnx

writes the ONNX model and a model card (`presence.json`) beside it. Needs the `train` extra
(torch, onnx); torch is imported only when training runs.
"""

from __future__ import annotations

import argparse
import json
import platform
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
from rich.progress import Progress

from facegate.stream.presence import INPUT_HEIGHT, INPUT_WIDTH, to_input
from facegate.training.onnx_export import export_for_opencv
from facegate.training.presence_data import build_set, describe, split_parts

CHANNELS = (8, 16, 32, 32, 32)  # conv widths; all but the last conv halve the resolution
COMMAND = "python -m facegate.training.presence --out src/facegate/models/presence.onnx"


@dataclass(frozen=True)
class TrainConfig:
    """Everything that determines the trained model (the same config gives the same model)."""

    seed: int = 0
    pasted: int = 6000  # pasted-face frames (half with faces) for training
    scene_seeds: int = 16  # generated demo scenes for training (seeds 1..n)
    held_out_pasted: int = 1000
    held_out_scene_seeds: int = 4
    epochs: int = 12
    batch_size: int = 64
    learning_rate: float = 3e-3
    weight_decay: float = 1e-4


def build_model() -> Any:
    """Return the untrained network: 5 small 3x3 convs, global max pool, one logit."""
    from torch import nn

    layers: list[nn.Module] = []
    inputs = 1
    for index, width in enumerate(CHANNELS):
        stride = 1 if index == len(CHANNELS) - 1 else 2
        layers += [
            nn.Conv2d(inputs, width, 3, stride=stride, padding=1, bias=False),
            nn.BatchNorm2d(width),
            nn.ReLU(inplace=True),
        ]
        inputs = width
    layers += [nn.AdaptiveMaxPool2d(1), nn.Flatten(), nn.Linear(inputs, 1)]
    return nn.Sequential(*layers)


def predict_logits(model: Any, images: np.ndarray, batch_size: int = 256) -> np.ndarray:
    """Return the model's logits (eval mode) for letterboxed grey images."""
    import torch

    model.eval()
    outputs = []
    with torch.no_grad():
        for start in range(0, len(images), batch_size):
            batch = torch.from_numpy(to_input(images[start : start + batch_size]))
            outputs.append(model(batch).reshape(-1).numpy())
    return np.concatenate(outputs)


def metrics(logits: np.ndarray, labels: np.ndarray) -> dict[str, float]:
    """Return accuracy, recall (faces found) and specificity (empty frames refused) at P=0.5."""
    predicted = logits >= 0.0
    positive = labels >= 0.5
    return {
        "accuracy": round(float(np.mean(predicted == positive)), 4),
        "recall": round(float(np.mean(predicted[positive])), 4),
        "specificity": round(float(np.mean(~predicted[~positive])), 4),
    }


def fit(
    model: Any, images: np.ndarray, labels: np.ndarray, config: TrainConfig, progress: Progress
) -> list[float]:
    """Train the model in place (Adam, cosine schedule, random mirroring); return epoch losses."""
    import torch

    generator = torch.Generator().manual_seed(config.seed)
    inputs = torch.from_numpy(to_input(images))
    targets = torch.from_numpy(labels).reshape(-1, 1)
    optimiser = torch.optim.AdamW(
        model.parameters(), lr=config.learning_rate, weight_decay=config.weight_decay
    )
    steps = config.epochs * -(-len(inputs) // config.batch_size)
    schedule = torch.optim.lr_scheduler.OneCycleLR(optimiser, config.learning_rate, steps)
    loss_fn = torch.nn.BCEWithLogitsLoss()
    task = progress.add_task("training", total=steps)
    losses: list[float] = []
    for _ in range(config.epochs):
        model.train()
        order = torch.randperm(len(inputs), generator=generator)
        total = 0.0
        for start in range(0, len(order), config.batch_size):
            index = order[start : start + config.batch_size]
            batch = inputs[index]
            flip = torch.rand(len(batch), generator=generator) < 0.5
            batch[flip] = batch[flip].flip(-1)
            loss = loss_fn(model(batch), targets[index])
            optimiser.zero_grad()
            loss.backward()
            optimiser.step()
            schedule.step()
            total += loss.item() * len(index)
            progress.advance(task)
        losses.append(round(total / len(inputs), 4))
    return losses


def export_onnx(model: Any, path: Path) -> None:
    """Write the model (eval mode, batch size free) to an ONNX file OpenCV's DNN module reads."""
    import torch

    example = torch.zeros(1, 1, INPUT_HEIGHT, INPUT_WIDTH)
    export_for_opencv(model, example, "frame", "logit", path)


def train(config: TrainConfig, out: Path, quiet: bool = False) -> dict[str, Any]:
    """Build the data, train, export to `out` and write the model card beside it; return it."""
    import torch

    torch.set_num_threads(1)  # tiny convs: one thread is faster than two fighting for a core
    torch.manual_seed(config.seed)
    rng = np.random.default_rng(config.seed)
    started = time.perf_counter()
    train_part, held_part = split_parts(config.scene_seeds, config.held_out_scene_seeds)
    with Progress(disable=quiet, transient=True) as progress:
        total = config.scene_seeds + config.pasted + config.held_out_scene_seeds
        task = progress.add_task("building data", total=total + config.held_out_pasted)

        def step(count: int) -> None:
            progress.advance(task, count)

        images, labels = build_set(train_part, config.pasted, rng, step)
        held_images, held_labels = build_set(held_part, config.held_out_pasted, rng, step)
        model = build_model()
        losses = fit(model, images, labels, config, progress)
    export_onnx(model, out)
    card = {
        "model": out.name,
        "task": "P(a face is in view) from a whole frame",
        "input": f"grey frame letterboxed to {INPUT_WIDTH}x{INPUT_HEIGHT} (bars grey 128), "
        "(grey - 128) / 64; see facegate.stream.presence",
        "output": "one logit; sigmoid = P(face in view)",
        "architecture": f"5 conv3x3+BN+ReLU {list(CHANNELS)}, stride 2 but the last, "
        "global max pool, linear",
        "parameters": sum(p.numel() for p in model.parameters()),
        "data": "generated demo scenes (stream.scene, seeds 1..n train, 1000.. held out; label = "
        "face box at least half in view) and skimage lfw_subset faces (80 train / 20 held out) "
        "pasted into backgrounds (scikit-image photos without people, generated streets, "
        "lfw_subset non-face mosaics, textures); negatives are the same backgrounds with "
        "non-face patches pasted the same way",
        "train": describe(labels),
        "held_out": {
            **describe(held_labels),
            **metrics(predict_logits(model, held_images), held_labels),
        },
        "train_metrics": metrics(predict_logits(model, images), labels),
        "epoch_losses": losses,
        "config": asdict(config),
        "torch": torch.__version__,
        "python": platform.python_version(),
        "train_seconds": round(time.perf_counter() - started, 1),
        "command": COMMAND,
    }
    out.with_suffix(".json").write_text(json.dumps(card, indent=2) + "\n")
    return card


def main(argv: list[str] | None = None) -> None:
    """Parse the command line, train, and print the held-out figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, required=True, help="ONNX file to write")
    parser.add_argument("--seed", type=int, default=TrainConfig.seed)
    parser.add_argument("--epochs", type=int, default=TrainConfig.epochs)
    parser.add_argument("--pasted", type=int, default=TrainConfig.pasted)
    parser.add_argument("--scene-seeds", type=int, default=TrainConfig.scene_seeds)
    args = parser.parse_args(argv)
    config = TrainConfig(
        seed=args.seed, epochs=args.epochs, pasted=args.pasted, scene_seeds=args.scene_seeds
    )
    card = train(config, args.out)
    print(json.dumps({"out": str(args.out), "held_out": card["held_out"]}))


if __name__ == "__main__":
    main()
