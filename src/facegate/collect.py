"""The data-collection station: quality-filtered, de-duplicated face crops per consenting person.

Writes a folder-per-identity dataset (`OUT/<person>/NNNN.jpg`, the layout `facegate train`
reads) from a camera / video (`collect_from_frames`) or a folder of photos (`import_photos`).
Each person's folder holds `consent.json`: who consented, to what, when, from which source.
A crop is the face box grown by CROP_MARGIN on every side (so the detector finds the face again
when the dataset is embedded), kept only when the face is wide and sharp enough, roughly
frontal, and not a near-copy of a crop already kept (embedding distance below dedup_distance).
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
from PIL import Image

from facegate.access_event import now_iso
from facegate.errors import FacegateError, ImageError
from facegate.media import load_image
from facegate.settings import Settings
from facegate.vision import FacePipeline
from facegate.vision.pose import estimate_yaw
from facegate.vision.types import FaceEncoding

CROP_MARGIN = 0.5  # face widths added on each side of the box
MAX_YAW_DEG = 45.0  # crops of faces turned further are not kept
IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".webp", ".bmp"}


class CollectError(FacegateError):
    """The collection cannot start (bad person name, output folder not writable)."""

    code = "bad_collect"


@dataclass
class CollectReport:
    """What one collection kept and why it skipped the rest."""

    person: str
    folder: str
    kept: int = 0
    frames: int = 0
    no_face: int = 0
    poor_quality: int = 0
    duplicates: int = 0
    unreadable: int = 0
    files: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, object]:
        """Return the report as JSON-ready data."""
        return asdict(self)


class Collector:
    """Keeps the good, new-looking faces of one person and writes them into the dataset."""

    def __init__(
        self,
        person: str,
        out: Path,
        consent: str,
        source: str,
        settings: Settings,
        dedup_distance: float = 0.12,
        pipeline: FacePipeline | None = None,
    ) -> None:
        if not person.strip() or any(c in person for c in "/\\") or person in {".", ".."}:
            raise CollectError(f"person name {person!r} cannot be a folder name")
        if not consent.strip():
            raise CollectError("a consent note is required (who agreed, to what)")
        self.settings = settings
        self.dedup_distance = dedup_distance
        self.pipeline = pipeline or FacePipeline(settings.vision)
        self.folder = out / person
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise CollectError(f"cannot create {self.folder}: {exc}") from exc
        self._next = 1 + max((int(p.stem) for p in self._crops()), default=0)
        self._kept: list[np.ndarray] = []
        self.report = CollectReport(person, str(self.folder))
        self._record_consent(consent, source)

    def _crops(self) -> list[Path]:
        """Return the numbered crop files already in the person's folder."""
        return [p for p in self.folder.glob("*.jpg") if p.stem.isdigit()]

    def _record_consent(self, consent: str, source: str) -> None:
        """Append this session's consent record to the person's consent.json."""
        path = self.folder / "consent.json"
        records = json.loads(path.read_text()) if path.exists() else []
        records.append(
            {"person": self.report.person, "consent": consent, "time": now_iso(), "source": source}
        )
        path.write_text(json.dumps(records, indent=2) + "\n")

    def offer(self, image: np.ndarray) -> bool:
        """Consider one RGB image or frame; return whether a crop of its largest face was kept."""
        self.report.frames += 1
        face = self.pipeline.encode(image, "largest")
        if not face:
            self.report.no_face += 1
            return False
        if not self._good(face[0]):
            self.report.poor_quality += 1
            return False
        vector = face[0].embedding
        if self._kept and min(np.linalg.norm(k - vector) for k in self._kept) < self.dedup_distance:
            self.report.duplicates += 1
            return False
        self._write(image, face[0])
        self._kept.append(vector)
        return True

    def _good(self, face: FaceEncoding) -> bool:
        """Return whether a face is wide, sharp and frontal enough to keep."""
        quality = face.quality
        return (
            quality.face_px >= self.settings.select.min_face_px
            and quality.sharpness >= self.settings.vision.min_sharpness
            and abs(estimate_yaw(face.landmarks)) <= MAX_YAW_DEG
        )

    def _write(self, image: np.ndarray, face: FaceEncoding) -> None:
        """Write the face box grown by CROP_MARGIN as the next numbered JPEG."""
        box = face.box
        grow = round(CROP_MARGIN * box.width)
        height, width = image.shape[:2]
        crop = image[
            max(0, box.top - grow) : min(height, box.bottom + grow),
            max(0, box.left - grow) : min(width, box.right + grow),
        ]
        path = self.folder / f"{self._next:04d}.jpg"
        partial = path.with_suffix(".part")
        Image.fromarray(crop).save(partial, format="JPEG", quality=95)
        partial.replace(path)  # a killed process never leaves half a crop under a real name
        self._next += 1
        self.report.kept += 1
        self.report.files.append(path.name)


def collect_from_frames(
    collector: Collector, frames: Iterable[tuple[float, np.ndarray]], every: int, limit: int
) -> CollectReport:
    """Offer every n-th frame of a source until it ends or `limit` crops were kept."""
    for index, (_, frame) in enumerate(frames):
        if collector.report.kept >= limit:
            break
        if index % every == 0:
            collector.offer(frame)
    return collector.report


def import_photos(collector: Collector, folder: Path, limit: int) -> CollectReport:
    """Offer every photo in a folder (sorted); unreadable files are counted, not fatal."""
    if not folder.is_dir():
        raise CollectError(f"{folder}: not a folder of photos")
    for path in sorted(p for p in folder.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES):
        if collector.report.kept >= limit:
            break
        try:
            image = load_image(path, collector.settings.media)
        except ImageError:
            collector.report.unreadable += 1
            continue
        collector.offer(image)
    return collector.report
