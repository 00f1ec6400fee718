"""Image decoding: formats, EXIF orientation, and refusal of bad or oversize input."""

from __future__ import annotations

import io
import struct
import zlib
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from facegate.errors import (
    ImageTooLargeError,
    ImageTooSmallError,
    NotAnImageError,
    TruncatedImageError,
)
from facegate.media import load_image
from facegate.settings import MediaSettings


def _encode(array: np.ndarray, fmt: str, **kwargs: object) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(array).save(buffer, format=fmt, **kwargs)
    return buffer.getvalue()


def _png_header_only(width: int, height: int) -> bytes:
    """Return a PNG whose header declares width x height but holds almost no pixel data."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", ihdr)
        + chunk(b"IDAT", zlib.compress(b"\0" * 64))
        + chunk(b"IEND", b"")
    )


@pytest.fixture
def gradient() -> np.ndarray:
    y, x = np.mgrid[0:60, 0:80]
    return np.stack([x * 3, y * 4, (x + y) * 2], axis=-1).astype(np.uint8)


@pytest.mark.parametrize("fmt", ["PNG", "BMP", "WEBP", "JPEG"])
def test_formats_decode_to_rgb_uint8(gradient: np.ndarray, fmt: str) -> None:
    kwargs = {"lossless": True} if fmt == "WEBP" else {}
    image = load_image(_encode(gradient, fmt, **kwargs))
    assert image.dtype == np.uint8 and image.shape == (60, 80, 3)
    if fmt != "JPEG":
        assert np.array_equal(image, gradient)


def test_path_and_bytes_agree(tmp_path: Path, gradient: np.ndarray) -> None:
    path = tmp_path / "g.png"
    path.write_bytes(_encode(gradient, "PNG"))
    assert np.array_equal(load_image(path), load_image(path.read_bytes()))


def test_greyscale_and_alpha_become_rgb(gradient: np.ndarray) -> None:
    grey = load_image(_encode(gradient[..., 0], "PNG"))
    rgba = load_image(_encode(np.dstack([gradient, np.full((60, 80), 128, np.uint8)]), "PNG"))
    assert grey.shape == (60, 80, 3) and rgba.shape == (60, 80, 3)


def test_exif_orientation_is_applied(gradient: np.ndarray) -> None:
    exif = Image.Exif()
    exif[0x0112] = 6  # rotate 90 degrees clockwise to display
    data = _encode(gradient, "JPEG", exif=exif.tobytes())
    assert load_image(data).shape == (80, 60, 3)


def test_text_file_named_jpg_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "face.jpg"
    path.write_text("this is not an image\n")
    with pytest.raises(NotAnImageError, match="not an image"):
        load_image(path)


def test_truncated_jpeg_is_refused(gradient: np.ndarray) -> None:
    data = _encode(np.tile(gradient, (4, 4, 1)), "JPEG")
    with pytest.raises(TruncatedImageError, match="truncated"):
        load_image(data[: len(data) // 2])


def test_one_pixel_image_is_refused() -> None:
    with pytest.raises(ImageTooSmallError, match="1x1"):
        load_image(_encode(np.zeros((1, 1, 3), np.uint8), "PNG"))


def test_huge_png_header_is_refused_before_decoding() -> None:
    data = _png_header_only(20_000, 20_000)
    # Decoding would fail as truncated; refusing as too large proves the header check came first.
    with pytest.raises(ImageTooLargeError, match="400000000 pixels"):
        load_image(data)


def test_pixel_limit_is_a_setting(gradient: np.ndarray) -> None:
    with pytest.raises(ImageTooLargeError, match="limit is 1000"):
        load_image(_encode(gradient, "PNG"), MediaSettings(max_pixels=1000))


def test_file_size_limit(tmp_path: Path, gradient: np.ndarray) -> None:
    path = tmp_path / "g.bmp"
    path.write_bytes(_encode(gradient, "BMP"))
    with pytest.raises(ImageTooLargeError, match="bytes"):
        load_image(path, MediaSettings(max_bytes=100))


def test_missing_file_and_empty_bytes() -> None:
    with pytest.raises(NotAnImageError, match="cannot read"):
        load_image("/nonexistent/face.jpg")
    with pytest.raises(NotAnImageError, match="empty"):
        load_image(b"")


def test_unsupported_format_is_named(gradient: np.ndarray) -> None:
    with pytest.raises(NotAnImageError, match="GIF"):
        load_image(_encode(gradient, "GIF"))


def test_header_over_our_limit_names_the_size() -> None:
    with pytest.raises(ImageTooLargeError, match="9000x9000"):
        load_image(_png_header_only(9_000, 9_000))
