"""Embedder specs: the names a user gives `--embedder` and the embedders they build."""

from __future__ import annotations

from facegate.errors import FacegateError
from facegate.settings import VisionSettings
from facegate.vision.embed import DlibResnetEmbedder
from facegate.vision.embedders import build_embedder as build_configured
from facegate.vision.embedders import dlib_encoder
from facegate.vision.types import Embedder

# name -> (mirror TTA, jitters) of the shipped dlib ResNet variants
DLIB_VARIANTS: dict[str, tuple[bool, int]] = {
    "dlib": (True, 0),
    "dlib-nomirror": (False, 0),
    "dlib-jitter10": (True, 10),
}
NATIVE_PREFIX = "native-"  # e.g. native-dlib-nomirror: the variant on dlib's own code
SPEC_HELP = (
    "default (as the settings say), "
    + ", ".join(DLIB_VARIANTS)
    + " (on vision.embedder_engine; prefix native- for dlib's own code), onnx:PATH, "
    + "onnx-arcface:PATH"
)


class EmbedderSpecError(FacegateError):
    """An embedder spec names no embedder, or one this build cannot run."""

    code = "bad_embedder"


def build_embedder(spec: str, settings: VisionSettings | None = None) -> Embedder:
    """Return the embedder a spec names ('default' = the one the vision settings configure)."""
    settings = settings or VisionSettings()
    if spec == "default":
        return build_configured(settings)
    if spec in DLIB_VARIANTS:
        return dlib_encoder(settings, *DLIB_VARIANTS[spec])
    if spec.removeprefix(NATIVE_PREFIX) in DLIB_VARIANTS:
        return DlibResnetEmbedder(*DLIB_VARIANTS[spec.removeprefix(NATIVE_PREFIX)])
    if spec.startswith(("onnx:", "onnx-arcface:")):
        return build_configured(settings.model_copy(update={"embedder": spec}))
    raise EmbedderSpecError(f"unknown embedder {spec!r}; known: {SPEC_HELP}")
