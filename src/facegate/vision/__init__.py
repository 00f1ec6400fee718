"""Pure functions over arrays: detect, align, embed and measure faces."""

from facegate.vision.pipeline import FacePipeline
from facegate.vision.types import FaceBox, FaceEncoding, FaceQuality

__all__ = ["FaceBox", "FaceEncoding", "FacePipeline", "FaceQuality"]
