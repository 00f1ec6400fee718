"""A pure-Python reader of dlib's DNN serialization, for the face recognition ResNet.

dlib writes a network as its C++ type nests: the loss layer, then one version number per
wrapper from the top of the network down to the input, the input layer, and then each
layer's details from the bottom up. The topology (which tag a skip or an add_prev refers to)
lives in the C++ type, not in the file, so the reader walks the file against the type of
`dlib_face_recognition_resnet_model_v1` (dlib's dnn_face_recognition_ex.cpp), written out
here as a list of layers, and refuses anything that does not follow it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from facegate.errors import FacegateError

CHIP_SIZE = 150  # input_rgb_image_sized<150>


class DlibFormatError(FacegateError):
    """A file is not (or no longer all of) the dlib network it should be."""

    code = "bad_dlib_model"


@dataclass(frozen=True)
class Conv:
    """A convolution: filters (out, in, rows, cols), optional bias, stride and zero padding."""

    filters: np.ndarray
    bias: np.ndarray | None
    stride: int
    padding: int


@dataclass(frozen=True)
class Affine:
    """A per-channel scale and shift (a frozen batch norm)."""

    gamma: np.ndarray
    beta: np.ndarray


@dataclass(frozen=True)
class Relu:
    """max(0, x)."""


@dataclass(frozen=True)
class Pool:
    """Max or average pooling; size 0 pools the whole image (avg_pool_everything)."""

    kind: str  # "max" or "avg"
    size: int
    stride: int
    padding: int


@dataclass(frozen=True)
class Tag:
    """Marks the output below it so a later skip or add_prev can refer to it."""

    tag: int


@dataclass(frozen=True)
class Skip:
    """Continues from the output of the nearest tag with this id below it."""

    tag: int


@dataclass(frozen=True)
class AddPrev:
    """Adds the nearest tagged output below it; the smaller input is zero-padded."""

    tag: int


@dataclass(frozen=True)
class Fc:
    """A fully connected layer: weights (inputs, outputs), optional bias."""

    weights: np.ndarray
    bias: np.ndarray | None


Layer = Conv | Affine | Relu | Pool | Tag | Skip | AddPrev | Fc


@dataclass(frozen=True)
class DlibNet:
    """The network as read: input mean (R, G, B), input scale, layers from input to output."""

    mean: tuple[float, float, float]
    scale: float
    layers: list[Layer]

    @property
    def parameter_count(self) -> int:
        """Return the number of learned values (filters, biases, gammas, betas, weights)."""
        total = 0
        for layer in self.layers:
            for value in vars(layer).values():
                if isinstance(value, np.ndarray):
                    total += value.size
        return total


# ---- the network's type, as (kind, arguments) from the input upwards -------------------


def _block(filters: int, stride: int) -> list[tuple]:
    """Return dlib's `block`: con(stride), affine, relu, con(1), affine."""
    return [
        ("con", filters, 3, stride),
        ("affine",),
        ("relu",),
        ("con", filters, 3, 1),
        ("affine",),
    ]


def _ares(filters: int) -> list[tuple]:
    """Return `ares`: relu(add_prev1(block(tag1(x))))."""
    return [("tag", 1), *_block(filters, 1), ("add_prev", 1), ("relu",)]


def _ares_down(filters: int) -> list[tuple]:
    """Return `ares_down`: relu(add_prev2(avg_pool(skip1(tag2(block/2(tag1(x)))))))."""
    return [
        ("tag", 1),
        *_block(filters, 2),
        ("tag", 2),
        ("skip", 1),
        ("avg_pool", 2, 2),
        ("add_prev", 2),
        ("relu",),
    ]


def resnet_v1_type() -> list[tuple]:
    """Return the face recognition ResNet's layers, input to output, as dlib's example types it."""
    spec: list[tuple] = [("con", 32, 7, 2), ("affine",), ("relu",), ("max_pool", 3, 2)]
    spec += _ares(32) * 3
    spec += _ares_down(64) + _ares(64) * 3
    spec += _ares_down(128) + _ares(128) * 2
    spec += _ares_down(256) + _ares(256) * 2
    spec += _ares_down(256)
    spec += [("avg_pool", 0, 1), ("fc", 128)]
    return spec


# ---- the byte stream ---------------------------------------------------------------------


class DlibStream:
    """Reads dlib's serialized primitives from bytes, with clear errors at the end of the data."""

    def __init__(self, data: bytes, name: str) -> None:
        self.data = data
        self.pos = 0
        self.name = name

    def fail(self, what: str) -> DlibFormatError:
        """Return the error for a bad value at the current position."""
        return DlibFormatError(f"{self.name}: {what} at byte {self.pos}; not dlib's face ResNet")

    def take(self, count: int) -> bytes:
        """Return the next count bytes, or fail when the file ends first."""
        if self.pos + count > len(self.data):
            raise DlibFormatError(
                f"{self.name}: the file ends at byte {len(self.data)}, "
                f"{self.pos + count - len(self.data)} bytes early (truncated?)"
            )
        chunk = self.data[self.pos : self.pos + count]
        self.pos += count
        return chunk

    def int(self) -> int:
        """Return a packed integer: a control byte (count in the low 4 bits, 0x80 = negative)."""
        control = self.take(1)[0]
        count = control & 0x0F
        if count > 8 or control & 0x70:
            raise self.fail(f"bad integer control byte {control:#x}")
        value = int.from_bytes(self.take(count), "little")
        return -value if control & 0x80 else value

    def float(self) -> float:
        """Return a float stored as a packed mantissa then a packed exponent."""
        mantissa, exponent = self.int(), self.int()
        specials = {32000: math.inf, 32001: -math.inf, 32002: math.nan}
        return specials.get(exponent, math.ldexp(mantissa, exponent) if exponent < 32000 else 0.0)

    def bool(self) -> bool:
        """Return a bool stored as the ASCII byte '0' or '1'."""
        byte = self.take(1)
        if byte not in (b"0", b"1"):
            raise self.fail(f"bad bool {byte!r}")
        return byte == b"1"

    def version(self, allowed: tuple[str, ...]) -> str:
        """Return a layer's version string, failing unless it is one of the allowed ones."""
        start = self.pos
        length = self.int()
        if not 0 <= length <= 64:
            self.pos = start
            raise self.fail(f"expected {'/'.join(allowed)}")
        found = self.take(length).decode("latin-1")
        if found not in allowed:
            self.pos = start
            raise self.fail(f"expected {'/'.join(allowed)}, found {found!r}")
        return found

    def wrapper(self, what: str, versions: tuple[int, ...]) -> int:
        """Return a wrapper's version number, failing unless it is an allowed one."""
        start = self.pos
        found = self.int()
        if found not in versions:
            self.pos = start
            raise self.fail(f"expected a {what} (version {versions}), found {found}")
        return found

    def tensor(self) -> np.ndarray:
        """Return a tensor: version 2, packed (num, k, rows, cols), little-endian float32 data."""
        if self.int() != 2:
            raise self.fail("bad tensor version")
        shape = tuple(self.int() for _ in range(4))
        if any(d < 0 for d in shape) or math.prod(shape) > 50_000_000:
            raise self.fail(f"implausible tensor shape {shape}")
        raw = self.take(4 * math.prod(shape))
        return np.frombuffer(raw, dtype="<f4").reshape(shape).astype(np.float32)

    def alias(self) -> tuple[int, ...]:
        """Return an alias tensor's shape (version 1 and four packed sizes, no data)."""
        if self.int() != 1:
            raise self.fail("bad alias tensor version")
        return tuple(self.int() for _ in range(4))


# ---- the layers --------------------------------------------------------------------------


def _con(s: DlibStream, filters: int, size: int, stride: int) -> Conv:
    """Read a con_ layer and check it against the type."""
    version = s.version(("con_4", "con_5", "con_6"))
    params = s.tensor().ravel()
    found = (s.int(), s.int(), s.int(), s.int(), s.int())
    pad = (s.int(), s.int())
    if found != (filters, size, size, stride, stride) or pad[0] != pad[1]:
        raise s.fail(f"con_ is {found} pad {pad}, the type says {(filters, size, size, stride)}")
    filter_shape = s.alias()
    bias_shape = s.alias()
    for _ in range(4):  # learning-rate and weight-decay multipliers
        s.float()
    use_bias = s.bool() if version in ("con_5", "con_6") else True
    if version == "con_6":
        s.bool()  # use_relu: a fused relu, never set in this network
    count = math.prod(filter_shape)
    if params.size != count + (math.prod(bias_shape) if use_bias else 0):
        raise s.fail(f"con_ holds {params.size} values for filters {filter_shape}")
    weights = params[:count].reshape(filter_shape[0], filter_shape[1], size, size)
    return Conv(weights, params[count:].copy() if use_bias else None, stride, pad[0])


def _affine(s: DlibStream) -> Affine:
    """Read an affine_ layer (per-channel gamma and beta)."""
    version = s.version(("affine_", "affine_2"))
    params = s.tensor().ravel()  # gamma then beta, each described by an alias tensor
    gamma_size, beta_size = math.prod(s.alias()), math.prod(s.alias())
    if s.int() != 0:  # layer_mode: CONV_MODE = 0, FC_MODE = 1
        raise s.fail("affine_ is not in convolution mode")
    if version == "affine_2" and s.bool():
        raise s.fail("affine_ is disabled")
    if gamma_size != beta_size or params.size != gamma_size + beta_size:
        raise s.fail(f"affine_ holds {params.size} values for {gamma_size} channels")
    return Affine(params[:gamma_size].copy(), params[gamma_size:].copy())


def _relu(s: DlibStream) -> Relu:
    """Read a relu_ layer."""
    if s.version(("relu_", "relu_2")) == "relu_2" and s.bool():
        raise s.fail("relu_ is disabled")
    return Relu()


def _pool(s: DlibStream, kind: str, size: int, stride: int) -> Pool:
    """Read a max_pool_ or avg_pool_ layer and check it against the type."""
    s.version((f"{kind}_pool_2",))
    found = (s.int(), s.int(), s.int(), s.int())
    pad = (s.int(), s.int())
    if found != (size, size, stride, stride) or pad[0] != pad[1]:
        raise s.fail(f"{kind}_pool_ is {found}, the type says {(size, size, stride, stride)}")
    return Pool(kind, size, stride, pad[0])


def _fc(s: DlibStream, outputs: int) -> Fc:
    """Read an fc_ layer and check its output count."""
    version = s.version(("fc_2", "fc_3"))
    found, inputs = s.int(), s.int()
    params = s.tensor().ravel()
    s.alias()
    s.alias()
    bias_mode = s.int()
    for _ in range(4):
        s.float()
    use_bias = s.bool() if version == "fc_3" else True
    if found != outputs:
        raise s.fail(f"fc_ has {found} outputs, the type says {outputs}")
    has_bias = use_bias and bias_mode == 0
    if params.size != inputs * outputs + (outputs if has_bias else 0):
        raise s.fail(f"fc_ holds {params.size} values for {inputs}x{outputs}")
    weights = params[: inputs * outputs].reshape(inputs, outputs)
    return Fc(weights, params[inputs * outputs :].copy() if has_bias else None)


def _details(s: DlibStream, spec: tuple) -> Layer:
    """Read one computing layer's details as the type says."""
    kind = spec[0]
    if kind == "con":
        return _con(s, *spec[1:])
    if kind == "affine":
        return _affine(s)
    if kind == "relu":
        return _relu(s)
    if kind in ("max_pool", "avg_pool"):
        return _pool(s, kind.removesuffix("_pool"), *spec[1:])
    if kind == "add_prev":
        s.version(("add_prev_",))
        return AddPrev(spec[1])
    return _fc(s, spec[1])


def _layer_state(s: DlibStream, version: int) -> None:
    """Skip an add_layer's training state: three flags and its gradient/output tensors."""
    for _ in range(3):
        s.bool()
    s.tensor()
    s.tensor()
    if version >= 2:
        s.tensor()


def read_dlib_net(data: bytes, name: str = "model") -> DlibNet:
    """Return the face recognition ResNet read from dlib's serialized bytes, or a clear error."""
    s = DlibStream(data, name)
    spec = resnet_v1_type()
    s.wrapper("loss layer", (1,))
    if s.version(("loss_metric_", "loss_metric_2")) == "loss_metric_2":
        s.float()  # margin
        s.float()  # distance threshold
    first, rest = spec[0], spec[1:]  # the first layer's add_layer holds the input layer
    versions = [
        s.wrapper(f"{item[0]} layer", (1,))
        if item[0] in ("tag", "skip")
        else s.wrapper(f"{item[0]} add_layer", (1, 2))
        for item in reversed(rest)
    ][::-1]
    input_version = s.wrapper("add_layer on the input", (2, 3))
    sized = s.version(("input_rgb_image", "input_rgb_image_sized")) == "input_rgb_image_sized"
    mean = (s.float(), s.float(), s.float())
    if sized and (s.int(), s.int()) != (CHIP_SIZE, CHIP_SIZE):
        raise s.fail(f"the input is not {CHIP_SIZE}x{CHIP_SIZE}")
    layers: list[Layer] = [_details(s, first)]
    for _ in range(3):
        s.bool()
    s.tensor()  # x_grad
    s.tensor()  # cached output
    s.tensor()  # grad_final
    if input_version >= 3:
        s.int()  # sample expansion factor
    for item, version in zip(rest, versions, strict=True):
        if item[0] == "tag":
            layers.append(Tag(item[1]))
        elif item[0] == "skip":
            layers.append(Skip(item[1]))
        else:
            layers.append(_details(s, item))
            _layer_state(s, version)
    if s.pos != len(data):
        raise s.fail(f"{len(data) - s.pos} bytes left after the last layer")
    return DlibNet(mean, 1.0 / 256.0, layers)


def read_dlib_file(path: Path) -> DlibNet:
    """Return the network in a dlib .dat file, or a clear error for a missing or foreign file."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise DlibFormatError(f"{path}: cannot read ({exc.strerror})") from exc
    return read_dlib_net(data, str(path))
