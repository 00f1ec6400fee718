"""A face partly covered by another face's box is watched for liveness but never matched."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from facegate.gallery import SQLiteGallery
from facegate.settings import load_settings
from facegate.stream.loop import AccessLoop
from facegate.stream.scene import head_crop
from facegate.stream.select import covered_share
from facegate.vision.types import FaceBox


def box(left: int, top: int, side: int) -> FaceBox:
    """Return a square test box."""
    return FaceBox(left, top, left + side, top + side, 1.0, "test")


def test_covered_share_is_the_largest_covered_part_of_the_box() -> None:
    face = box(0, 0, 100)
    assert covered_share(face, []) == 0.0
    assert covered_share(face, [face]) == 0.0  # itself does not count
    assert covered_share(face, [box(200, 0, 100)]) == 0.0
    assert covered_share(face, [box(50, 0, 100)]) == 0.5
    assert covered_share(face, [box(75, 75, 100), box(0, 80, 100)]) == 0.2
    assert covered_share(face, [box(-10, -10, 200)]) == 1.0


def test_an_overlapped_face_is_watched_but_not_offered_for_matching(tmp_path: Path) -> None:
    settings = load_settings(environ={})
    photo = np.array(head_crop("Eileen Collins"))
    with SQLiteGallery(tmp_path / "g.db") as gallery:
        loop = AccessLoop(settings, gallery, lambda event: None)
        face = loop.pipeline.detector.detect(photo)[0]
        side = face.width
        neighbour = box(face.left + side // 2, face.top, side)  # covers half of the face
        loop._collect(photo, 1, face, 0.0, [face, neighbour])
        assert len(loop._tracks[1].frames) == 0
        assert len(loop._tracks[1].liveness.times) == 1  # liveness still saw the frame
        clear = box(face.right + side, face.top, side)
        loop._collect(photo, 1, face, 0.04, [face, clear])
        assert len(loop._tracks[1].frames) == 1
