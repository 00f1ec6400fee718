"""A face partly covered by another face's box is watched for liveness but never matched."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from facegate import api
from facegate.gallery import SQLiteGallery
from facegate.settings import Settings, load_settings
from facegate.stream.loop import AccessLoop, loop_pipeline
from facegate.stream.scene import head_crop
from facegate.stream.select import covered_share
from facegate.stream.sources import open_source
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


BOY_AT = (3.96, (801, 708))  # the enrolled boy's nearest frame and his face's centre there


def _boy(crowd_video: Path, settings: Settings) -> np.ndarray:
    """Return the crop around the boy's face on his nearest frame (one face in it)."""
    detector = loop_pipeline(settings).detector
    for timestamp, frame in open_source(crowd_video, settings.source):
        if timestamp >= BOY_AT[0] - 1e-6:
            x, y = BOY_AT[1]
            face = min(
                detector.detect(frame),
                key=lambda b: abs((b.left + b.right) / 2 - x) + abs((b.top + b.bottom) / 2 - y),
            )
            grow = face.width // 2
            return frame[
                face.top - grow : face.bottom + grow, face.left - grow : face.right + grow
            ].copy()
    raise AssertionError("the crowd video is shorter than expected")


def test_a_walker_behind_an_enrolled_boy_is_not_let_in_as_him(
    crowd_video: Path, tmp_path: Path
) -> None:
    settings = load_settings(environ={})
    unchecked = settings.model_copy(
        update={"select": settings.select.model_copy(update={"max_overlap": 1.0})}
    )
    with SQLiteGallery(tmp_path / "g.db") as gallery:
        api.enroll(gallery, "Boy", [_boy(crowd_video, settings)], "test: one video frame")
        unlocks = {}
        for name, s in (("checked", settings), ("unchecked", unchecked)):
            loop = AccessLoop(s, gallery, lambda event: None)
            events = []
            for timestamp, frame in open_source(crowd_video, s.source):
                if timestamp > 1.4:  # the woman behind him is gone by 1.28 s
                    break
                events += loop.process(frame, timestamp)
            unlocks[name] = [(e.track, e.person) for e in events if e.decision == "unlock"]
    assert len(unlocks["checked"]) == 1 and unlocks["checked"][0][1] == "Boy"
    # without the check, her chips (part of his face in them) let her in as him too
    assert len(unlocks["unchecked"]) == 2
