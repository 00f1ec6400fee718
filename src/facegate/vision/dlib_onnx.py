"""dlib's face ResNet (as read by dlib_dnn) written out as an ONNX graph.

The graph takes (N, 150, 150, 3) float32 RGB chips with values 0..255 and returns dlib's raw
(N, 128) descriptors. Each affine folds into the convolution before it; add_prev zero-pads the
smaller of its inputs at the end of each axis, as dlib's tt::add does.
"""

from __future__ import annotations

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

from facegate.vision.dlib_dnn import (
    CHIP_SIZE,
    AddPrev,
    Affine,
    Conv,
    DlibNet,
    Fc,
    Pool,
    Relu,
    Skip,
    Tag,
)

OPSET = 17
INPUT = "chips"  # (N, 150, 150, 3) float32 RGB 0..255
OUTPUT = "descriptors"  # (N, 128) float32, as dlib's compute_face_descriptor


class _Graph:
    """Accumulates nodes and weights while tracking each value's (channels, rows, cols)."""

    def __init__(self) -> None:
        self.nodes: list[onnx.NodeProto] = []
        self.weights: list[onnx.TensorProto] = []
        self.count = 0

    def name(self, stem: str) -> str:
        """Return a fresh value name."""
        self.count += 1
        return f"{stem}{self.count}"

    def const(self, array: np.ndarray, stem: str) -> str:
        """Add a weight and return its name."""
        name = self.name(stem)
        self.weights.append(numpy_helper.from_array(np.ascontiguousarray(array), name))
        return name

    def op(self, kind: str, inputs: list[str], **attrs: object) -> str:
        """Add a node and return its output's name."""
        out = self.name(kind.lower())
        self.nodes.append(helper.make_node(kind, inputs, [out], **attrs))
        return out


def _out_side(side: int, size: int, stride: int, padding: int) -> int:
    """Return an output side of a dlib convolution or pooling (floor division)."""
    return 1 + (side + 2 * padding - size) // stride


Shape = tuple[int, int, int]  # channels, rows, cols


def _pad_to(g: _Graph, value: str, shape: Shape, target: Shape) -> str:
    """Return value zero-padded at the end of channels, rows and cols up to target."""
    if shape == target:
        return value
    extra = [t - s for s, t in zip(shape, target, strict=True)]
    pads = np.array([0, 0, 0, 0, 0, *extra], dtype=np.int64)
    return g.op("Pad", [value, g.const(pads, "pads")], mode="constant")


def dlib_to_onnx(net: DlibNet) -> onnx.ModelProto:
    """Return the ONNX model computing the network's descriptors from 0..255 RGB chips."""
    g = _Graph()
    mean = np.array(net.mean, np.float32).reshape(1, 3, 1, 1)
    x = g.op("Transpose", [INPUT], perm=[0, 3, 1, 2])
    x = g.op("Sub", [x, g.const(mean, "mean")])
    x = g.op("Mul", [x, g.const(np.array(net.scale, np.float32), "scale")])
    shape = (3, CHIP_SIZE, CHIP_SIZE)
    tags: dict[int, tuple[str, Shape]] = {}
    layers = net.layers
    i = 0
    while i < len(layers):
        layer = layers[i]
        if isinstance(layer, Conv):
            filters = layer.filters
            bias = layer.bias if layer.bias is not None else np.zeros(len(filters), np.float32)
            if i + 1 < len(layers) and isinstance(layers[i + 1], Affine):
                affine = layers[i + 1]
                filters = filters * affine.gamma[:, None, None, None]
                bias = bias * affine.gamma + affine.beta
                i += 1
            side = filters.shape[2]
            p = layer.padding
            weights = g.const(filters.astype(np.float32), "w")
            x = g.op(
                "Conv",
                [x, weights, g.const(bias.astype(np.float32), "b")],
                kernel_shape=[side, side],
                strides=[layer.stride] * 2,
                pads=[p, p, p, p],
            )
            rows = _out_side(shape[1], side, layer.stride, p)
            cols = _out_side(shape[2], side, layer.stride, p)
            shape = (filters.shape[0], rows, cols)
        elif isinstance(layer, Affine):
            x = g.op("Mul", [x, g.const(layer.gamma.reshape(1, -1, 1, 1), "gamma")])
            x = g.op("Add", [x, g.const(layer.beta.reshape(1, -1, 1, 1), "beta")])
        elif isinstance(layer, Relu):
            x = g.op("Relu", [x])
        elif isinstance(layer, Pool) and layer.size == 0:
            x = g.op("GlobalAveragePool", [x])
            shape = (shape[0], 1, 1)
        elif isinstance(layer, Pool):
            p = layer.padding
            kind = "MaxPool" if layer.kind == "max" else "AveragePool"
            x = g.op(
                kind,
                [x],
                kernel_shape=[layer.size] * 2,
                strides=[layer.stride] * 2,
                pads=[p, p, p, p],
            )
            shape = (
                shape[0],
                _out_side(shape[1], layer.size, layer.stride, p),
                _out_side(shape[2], layer.size, layer.stride, p),
            )
        elif isinstance(layer, Tag):
            tags[layer.tag] = (x, shape)
        elif isinstance(layer, Skip):
            x, shape = tags[layer.tag]
        elif isinstance(layer, AddPrev):
            other, other_shape = tags[layer.tag]
            target = tuple(max(a, b) for a, b in zip(shape, other_shape, strict=True))
            x = g.op(
                "Add",
                [_pad_to(g, x, shape, target), _pad_to(g, other, other_shape, target)],
            )
            shape = target
        elif isinstance(layer, Fc):
            x = g.op("Flatten", [x], axis=1)
            x = g.op("MatMul", [x, g.const(layer.weights, "fc")])
            if layer.bias is not None:
                x = g.op("Add", [x, g.const(layer.bias, "fc_bias")])
            shape = (layer.weights.shape[1], 1, 1)
        i += 1
    g.nodes.append(helper.make_node("Identity", [x], [OUTPUT]))
    graph = helper.make_graph(
        g.nodes,
        "dlib_face_recognition_resnet_model_v1",
        [helper.make_tensor_value_info(INPUT, TensorProto.FLOAT, ["N", CHIP_SIZE, CHIP_SIZE, 3])],
        [helper.make_tensor_value_info(OUTPUT, TensorProto.FLOAT, ["N", shape[0]])],
        g.weights,
    )
    model = helper.make_model(
        graph,
        opset_imports=[helper.make_opsetid("", OPSET)],
        producer_name="facegate",
        doc_string="dlib_face_recognition_resnet_model_v1 (CC0), converted by facegate",
    )
    model.ir_version = 8
    onnx.checker.check_model(model)
    return model
