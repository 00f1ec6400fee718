"""The collection station: crops from a generated video and from a photo folder, as a dataset."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from facegate.collect import CollectError, Collector
from facegate.media import load_image
from facegate.settings import load_settings
from facegate.stream.scene import SceneSegment, demo_scene, write_video
from facegate.training.identities import identity_folders
from facegate.vision import FacePipeline


def facegate(*args: str | Path) -> subprocess.CompletedProcess[str]:
    """Run the facegate CLI in a subprocess."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("FACEGATE_DB")}
    return subprocess.run(
        [sys.executable, "-m", "facegate", *map(str, args)],
        capture_output=True,
        text=True,
        env=env,
        timeout=600,
    )


@pytest.fixture(scope="module")
def walk_video(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Return a generated video of Eileen Collins walking up to the camera."""
    frames = demo_scene(
        segments=(SceneSegment("street", 0.5), SceneSegment("walk", 3.0, "Eileen Collins"))
    )
    path = tmp_path_factory.mktemp("collect") / "walk.mp4"
    write_video((f.image for f in frames), path)
    return path


def test_collect_from_a_video_keeps_distinct_usable_crops(walk_video: Path, tmp_path: Path) -> None:
    out = tmp_path / "dataset"
    result = facegate(
        "collect", "Eileen Collins", "--consent", "test: generated scene", "--out", out,
        "--source", walk_video, "--json",
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["kept"] >= 2
    assert (
        report["frames"]
        == report["kept"] + report["no_face"] + report["poor_quality"] + (report["duplicates"])
    )
    assert report["no_face"] >= 1  # the empty street before she walks in
    crops = identity_folders(out)["Eileen Collins"]
    assert [p.name for p in crops] == report["files"]
    pipeline = FacePipeline(load_settings(environ={}).vision)
    for crop in crops:  # every crop is found again when the dataset is embedded
        assert len(pipeline.encode(load_image(crop), "all")) == 1
    (record,) = json.loads((out / "Eileen Collins" / "consent.json").read_text())
    assert record["consent"] == "test: generated scene" and "walk.mp4" in record["source"]


def test_dedup_and_limit(walk_video: Path, tmp_path: Path) -> None:
    base = ["collect", "Eileen Collins", "--consent", "ok", "--source", walk_video, "--json"]
    loose = json.loads(facegate(*base, "--out", tmp_path / "a", "--dedup", "0").stdout)
    strict = json.loads(facegate(*base, "--out", tmp_path / "b", "--dedup", "0.3").stdout)
    assert loose["duplicates"] == 0 and strict["duplicates"] > 0
    assert strict["kept"] < loose["kept"]
    limited = json.loads(facegate(*base, "--out", tmp_path / "c", "--limit", "1").stdout)
    assert limited["kept"] == 1


def test_import_photos_counts_what_it_skips(faces: dict[str, list[Path]], tmp_path: Path) -> None:
    photos = tmp_path / "photos"
    photos.mkdir()
    for path in faces["Colin Powell"]:
        (photos / path.name).write_bytes(path.read_bytes())
    (photos / "broken.jpg").write_bytes(b"not a jpeg at all")
    (photos / "empty.png").write_bytes(b"")
    out = tmp_path / "dataset"
    args = ["collect", "Colin Powell", "--consent", "press photos", "--out", out, "--json"]
    first = json.loads(facegate(*args, "--photos", photos).stdout)
    assert first["kept"] == 4 and first["unreadable"] == 2
    again = json.loads(facegate(*args, "--photos", photos).stdout)  # a second session adds on
    assert again["files"][0] == "0005.jpg"
    assert len(json.loads((out / "Colin Powell" / "consent.json").read_text())) == 2


def test_bad_requests_are_clear_errors(tmp_path: Path) -> None:
    settings = load_settings(environ={})
    with pytest.raises(CollectError, match="folder name"):
        Collector("../evil", tmp_path, "ok", "test", settings)
    with pytest.raises(CollectError, match="consent"):
        Collector("Ada", tmp_path, " ", "test", settings)
    both = facegate("collect", "Ada", "--consent", "ok", "--out", tmp_path)
    assert both.returncode == 2 and "exactly one of --source or --photos" in both.stderr
    missing = facegate(
        "collect", "Ada", "--consent", "ok", "--out", tmp_path, "--photos", tmp_path / "nope"
    )
    assert missing.returncode == 2 and "not a folder" in missing.stderr
