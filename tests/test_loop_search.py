"""The embedded loop decides through the gallery's search() + count(), exactly as a full scan."""

from __future__ import annotations

import math
from itertools import pairwise
from pathlib import Path

import numpy as np
import pytest
from conftest import lfw_image

from facegate import api
from facegate.access import DoorPolicy
from facegate.decide.match import identify_frames
from facegate.decide.policy import Match
from facegate.gallery import EmbeddingRecord
from facegate.gallery.cache import in_memory
from facegate.gallery.sqlite import SQLiteGallery
from facegate.media import load_image
from facegate.settings import Settings
from facegate.stream.loop import AccessLoop, loop_pipeline

MODEL = "dlib-resnet-v1"


def _people(lfw: Path, count: int) -> list[str]:
    """Return the first LFW people (by name) with at least four photos."""
    names = sorted(p.name for p in (lfw / "images").iterdir() if p.is_dir())
    return [n for n in names if lfw_image(n, 4).exists()][:count]


@pytest.fixture(scope="module")
def vectors(lfw: Path) -> dict[str, np.ndarray]:
    """Return photos 1-4 of 14 LFW people embedded (name -> 4 x 128)."""
    settings = Settings()
    pipeline = api.get_pipeline(settings.vision)
    out = {}
    for name in _people(lfw, 14):
        rows = [pipeline.encode(load_image(lfw_image(name, n)))[0].embedding for n in (1, 2, 3, 4)]
        out[name] = np.stack(rows)
    return out


def test_loop_decisions_through_search_equal_the_full_scan(
    vectors: dict[str, np.ndarray], tmp_path: Path
) -> None:
    names = sorted(vectors)
    enrolled, strangers = names[:10], names[10:]
    with SQLiteGallery(tmp_path / "g.db") as gallery:
        for i, name in enumerate(enrolled):  # 1-2 photos each: the k rule meets both cases
            photos = vectors[name][: 1 + i % 2]
            records = [EmbeddingRecord(v, MODEL, "lfw", 100, 50.0, 120.0) for v in photos]
            gallery.add_person(name, records, "test")
        tracks = [vectors[n][2:] for n in enrolled] + [vectors[n][:2] for n in strangers]
        blends = [vectors[a][2:3] + vectors[b][3:] for a, b in pairwise(enrolled)]
        tracks += blends  # one frame between two enrolled people
        pipeline = loop_pipeline(Settings())
        model_path = pipeline.embedder.model_path
        compared = named = 0
        for fusion in ("mean_embedding", "mean_best"):
            for k in (1, 3):
                for fpir in (0.001, 0.2):
                    settings = Settings.model_validate(
                        {
                            "select": {"fusion": fusion},
                            "decide": {"identify_k": k, "identify_fpir": fpir},
                        }
                    )
                    everyone = gallery.embeddings(MODEL)
                    with in_memory(gallery) as searched:
                        for target in (gallery, searched):
                            loop = AccessLoop(settings, target, print, pipeline=pipeline)
                            policy = DoorPolicy(None, "main", "identify", settings)
                            threshold = policy.threshold(len(everyone), MODEL, model_path)
                            for track in tracks:
                                frames = track / np.linalg.norm(track, axis=1, keepdims=True)
                                ruling = loop._rule_here(frames, True, False)
                                full = identify_frames(frames, everyone, threshold, k, fusion)
                                verdict = policy.decide(
                                    Match(full.person, full.distance, threshold), True
                                )
                                assert (ruling.decision, ruling.reason, ruling.person) == (
                                    verdict.decision,
                                    verdict.reason,
                                    verdict.person,
                                )
                                assert ruling.threshold == threshold
                                finite = math.isfinite(full.distance)
                                expected = full.distance if finite else None
                                assert ruling.distance == pytest.approx(expected, abs=1e-5)
                                compared += 1
                                named += ruling.person is not None
    assert compared == 2 * 2 * 2 * 2 * len(tracks)
    assert 0 < named < compared  # both answers were exercised


def test_a_person_removed_is_never_named_while_the_loops_copy_is_fresh(
    vectors: dict[str, np.ndarray], tmp_path: Path
) -> None:
    names = sorted(vectors)[:4]
    with SQLiteGallery(tmp_path / "g.db") as gallery:
        for name in names:
            records = [
                EmbeddingRecord(v, MODEL, "lfw", 100, 50.0, 120.0) for v in vectors[name][:2]
            ]
            gallery.add_person(name, records, "test")
        settings = Settings()
        with in_memory(gallery, refresh_s=3600.0) as searched:
            loop = AccessLoop(settings, searched, print, pipeline=loop_pipeline(settings))
            track = vectors[names[0]][2:]
            assert loop._rule_here(track, True, False).person == names[0]
            gallery.remove_person(names[0])  # the loop's copy still holds the vectors
            ruling = loop._rule_here(track, True, False)
            assert ruling.person is None and ruling.decision != "unlock"
