"""1:N answers from a gallery's search() (its ANN index, or pgvector), equal to a full scan's."""

from __future__ import annotations

import numpy as np

from facegate.decide.match import (
    DEFAULT_FUSION,
    FusionRule,
    IdentifyDecision,
    fuse_embeddings,
    fuse_identify,
    identify_nearest,
)
from facegate.gallery.types import Gallery


def identify_in(
    gallery: Gallery, model: str, probe: np.ndarray, threshold: float, k: int
) -> IdentifyDecision:
    """Return the 1:N answer for one probe from the gallery's search() (its index, or pgvector).

    Two searches at most: the k + 1 nearest, then, when the nearest person owns more vectors
    than that, enough to reach anyone else's nearest, so the answer equals a full scan's.
    """
    hits = gallery.search(model, probe, k + 1)
    if not hits:
        return identify_nearest(hits, 0, threshold, k)
    owned = len(gallery.embeddings(model, hits[0].name))
    if max(k, owned) + 1 > len(hits) == k + 1:
        hits = gallery.search(model, probe, max(k, owned) + 1)
    return identify_nearest(hits, owned, threshold, k)


def identify_frames_in(
    gallery: Gallery,
    model: str,
    vectors: np.ndarray,
    threshold: float,
    k: int,
    rule: FusionRule = DEFAULT_FUSION,
) -> IdentifyDecision:
    """Return identify_frames' answer for several frames of one face from the gallery's search().

    mean_embedding: the frames' fused template identified once; a distance rule: each frame
    identified, then fused (decide/match.py: fuse_identify).
    """
    if rule == "mean_embedding":
        return identify_in(gallery, model, fuse_embeddings(vectors), threshold, k)
    per_frame = [identify_in(gallery, model, vector, threshold, k) for vector in vectors]
    return fuse_identify(per_frame, threshold, rule)
