"""Exporting a trained torch model to an ONNX file that OpenCV's DNN module reads."""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Any

OPSET = 13  # the TorchScript exporter at this opset gives graphs cv2.dnn loads


def export_for_opencv(
    model: Any, example: Any, input_name: str, output_name: str, path: Path
) -> None:
    """Write the model in eval mode, batch size free, with one named input and output."""
    import torch

    model.eval()
    path.parent.mkdir(parents=True, exist_ok=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)  # the TorchScript exporter is enough
        torch.onnx.export(
            model,
            (example,),
            str(path),
            input_names=[input_name],
            output_names=[output_name],
            dynamic_axes={input_name: {0: "batch"}, output_name: {0: "batch"}},
            opset_version=OPSET,
            dynamo=False,
        )
