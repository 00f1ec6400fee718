"""Safe decoding of images from paths or bytes into RGB uint8 arrays."""

from __future__ import annotations

import io
import os
import stat
import warnings
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from facegate.errors import (
    ImageTooLargeError,
    ImageTooSmallError,
    NotAnImageError,
    TruncatedImageError,
)
from facegate.settings import MediaSettings

ALLOWED_FORMATS = frozenset({"JPEG", "PNG", "WEBP", "BMP"})


def _read_regular_file(path: Path, name: str, max_bytes: int) -> bytes:
    """Return a regular file's bytes, at most max_bytes; refuse directories, FIFOs, devices.

    Opened non-blocking (a FIFO must not hang the caller), checked on the open descriptor
    (no swap between check and read), and read one byte past the limit, never more.
    """
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0))
    except OSError as exc:
        raise NotAnImageError(f"{name}: cannot read file ({exc.strerror})") from exc
    info = os.fstat(fd)
    if not stat.S_ISREG(info.st_mode):
        os.close(fd)
        kind = "a directory" if stat.S_ISDIR(info.st_mode) else "not a regular file"
        raise NotAnImageError(f"{name}: {kind}; an image must be a regular file")
    with os.fdopen(fd, "rb", buffering=0) as handle:
        if info.st_size > max_bytes:
            raise ImageTooLargeError(f"{name}: file is {info.st_size} bytes, limit is {max_bytes}")
        chunks, total = [], 0
        while total <= max_bytes and (chunk := handle.read(max_bytes + 1 - total)):
            chunks.append(chunk)
            total += len(chunk)
    return b"".join(chunks)


def _read_bytes(source: str | Path | bytes, limits: MediaSettings) -> tuple[bytes, str]:
    """Return the encoded bytes and a name for messages, refusing oversize files."""
    if isinstance(source, bytes | bytearray | memoryview):
        data, name = bytes(source), "<bytes>"
    else:
        path = Path(source)
        name = str(path)
        data = _read_regular_file(path, name, limits.max_bytes)
    if len(data) > limits.max_bytes:
        raise ImageTooLargeError(f"{name}: {len(data)} bytes, limit is {limits.max_bytes}")
    if not data:
        raise NotAnImageError(f"{name}: empty file")
    return data, name


def load_image(source: str | Path | bytes, limits: MediaSettings | None = None) -> np.ndarray:
    """Return an RGB uint8 HxWx3 array decoded from a path or bytes, EXIF-upright."""
    limits = limits or MediaSettings()
    data, name = _read_bytes(source, limits)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image = Image.open(io.BytesIO(data))
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise ImageTooLargeError(f"{name}: {exc}") from exc
    except UnidentifiedImageError:
        image = None
    except OSError as exc:
        raise NotAnImageError(f"{name}: not a readable image ({exc})") from exc
    if image is None or image.format not in ALLOWED_FORMATS:
        kind = "unsupported format " + image.format if image is not None else "not an image"
        raise NotAnImageError(f"{name}: {kind} (expected JPEG, PNG, WebP or BMP)")
    width, height = image.size
    if width * height > limits.max_pixels:
        raise ImageTooLargeError(
            f"{name}: {width}x{height} = {width * height} pixels, limit is {limits.max_pixels}"
        )
    if min(width, height) < limits.min_side:
        raise ImageTooSmallError(
            f"{name}: {width}x{height} is too small, shorter side must be >= {limits.min_side}"
        )
    try:
        image.load()
        image = ImageOps.exif_transpose(image)
        rgb = image.convert("RGB")
    except OSError as exc:
        raise TruncatedImageError(f"{name}: image data is truncated or corrupt ({exc})") from exc
    return np.ascontiguousarray(np.asarray(rgb, dtype=np.uint8))


def encode_jpeg(image: np.ndarray, quality: int = 92) -> bytes:
    """Return JPEG bytes of an RGB uint8 array."""
    buffer = io.BytesIO()
    Image.fromarray(image).save(buffer, format="JPEG", quality=quality)
    return buffer.getvalue()
