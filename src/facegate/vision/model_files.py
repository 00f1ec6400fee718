"""Model files facegate makes or unpacks itself, in the user's cache, checked by sha256.

The dlib ResNet's ONNX form is converted from the .dat that `face-recognition-models` ships
(its sha256 checked first) and kept under a name keyed by that hash. Every cached file has a
`.sha256` sidecar (hash and size, written after the file); a file whose sidecar is missing or
does not match is treated as corrupt or partial and made again. Writes are atomic (a temporary
file renamed into place), so a killed conversion never leaves a half file under the real name.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from collections.abc import Callable
from pathlib import Path

import platformdirs

from facegate.errors import FacegateError

DLIB_RESNET_SHA256 = "55533b28a95800a551ba546ba62fe69625c7e95a7061c338adffead08719da30"


class ModelFileError(FacegateError):
    """A model file cannot be had, or is not the file it should be."""

    code = "model_file"


def default_cache_dir() -> Path:
    """Return the user's model cache directory (platformdirs' cache dir / models)."""
    return Path(platformdirs.user_cache_dir("facegate")) / "models"


def file_sha256(path: Path) -> str:
    """Return the hex sha256 of a file's contents."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def write_atomic(path: Path, data: bytes) -> None:
    """Write data to path through a temporary file in the same directory, then rename it."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".part")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _sidecar(path: Path) -> Path:
    """Return the path of a cached file's hash-and-size record."""
    return path.with_name(path.name + ".sha256")


def is_intact(path: Path, sha256: str | None = None) -> bool:
    """Return whether a cached file matches its sidecar (and the expected hash, when given)."""
    try:
        recorded, size = _sidecar(path).read_text().split()
        if path.stat().st_size != int(size):
            return False
    except (OSError, ValueError):
        return False
    if sha256 is not None and recorded != sha256:
        return False
    return file_sha256(path) == recorded


def store(path: Path, data: bytes) -> None:
    """Write a cache file and then its sidecar, both atomically."""
    write_atomic(path, data)
    write_atomic(_sidecar(path), f"{hashlib.sha256(data).hexdigest()} {len(data)}\n".encode())


def cached(path: Path, make: Callable[[], bytes], sha256: str | None = None) -> Path:
    """Return path once it holds an intact file, making (or remaking) it when it does not."""
    if not is_intact(path, sha256):
        data = make()
        if sha256 is not None and hashlib.sha256(data).hexdigest() != sha256:
            raise ModelFileError(f"{path.name}: the made file's sha256 is not {sha256}")
        store(path, data)
    return path


def dlib_resnet_dat() -> Path:
    """Return the shipped dlib ResNet .dat after checking its sha256."""
    import face_recognition_models

    path = Path(face_recognition_models.face_recognition_model_location())
    if not path.is_file():
        raise ModelFileError(f"{path}: missing; reinstall face-recognition-models")
    found = file_sha256(path)
    if found != DLIB_RESNET_SHA256:
        raise ModelFileError(
            f"{path}: sha256 {found[:16]}... is not the dlib ResNet v1 facegate converts "
            f"({DLIB_RESNET_SHA256[:16]}...); reinstall face-recognition-models==0.3.0"
        )
    return path


def dlib_resnet_onnx(cache_dir: Path | None = None) -> Path:
    """Return the ONNX form of the shipped dlib ResNet, converting it into the cache if needed."""
    from facegate.vision.dlib_dnn import read_dlib_file
    from facegate.vision.dlib_onnx import dlib_to_onnx

    dat = dlib_resnet_dat()
    target = (cache_dir or default_cache_dir()) / f"dlib_resnet_v1-{DLIB_RESNET_SHA256[:16]}.onnx"
    return cached(target, lambda: dlib_to_onnx(read_dlib_file(dat)).SerializeToString())


def prepare_models(cache_dir: Path | None = None) -> dict[str, Path]:
    """Return every model file facegate makes or unpacks, each made now if missing or corrupt."""
    return {"dlib-resnet-v1 (ONNX)": dlib_resnet_onnx(cache_dir)}
