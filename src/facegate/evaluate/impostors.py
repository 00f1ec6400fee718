"""Vectors of distinct people for a model's 1:N impostor table: the first image of each."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from facegate.errors import FacegateError, SettingsError
from facegate.media import load_image
from facegate.settings import VisionSettings
from facegate.vision.pipeline import FacePipeline


def first_image_vectors(
    root: Path, people: int, vision: VisionSettings
) -> tuple[np.ndarray, Path, str]:
    """Return (one unit vector per identity folder, the model's file, its embedder name)."""
    pipeline = FacePipeline(vision.model_copy(update={"multi_face": "center"}))
    model = pipeline.embedder.model_path
    if model is None:
        raise SettingsError("the shipped encoder's table ships with facegate; name a model file")
    if not root.is_dir():
        raise SettingsError(f"{root}: not a folder of identity folders")
    vectors = []
    for folder in sorted(p for p in root.iterdir() if p.is_dir())[:people]:
        images = sorted(p for p in folder.iterdir() if p.suffix.lower() in (".jpg", ".png"))
        if not images:
            continue
        try:
            faces = pipeline.encode(load_image(images[0]))
        except FacegateError:
            continue
        if faces:
            vectors.append(faces[0].embedding)
    if len(vectors) < 30:
        raise SettingsError(f"{root}: {len(vectors)} identities with a face, at least 30 needed")
    return np.stack(vectors), model, pipeline.embedder.name
