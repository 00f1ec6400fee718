"""The face pipeline: image -> detected faces -> aligned chips -> quality + embeddings."""

from __future__ import annotations

import numpy as np

from facegate.errors import ManyFacesError, NoFaceError, PoorQualityError
from facegate.settings import VisionSettings
from facegate.vision.align import align_views
from facegate.vision.detect import FacePolicy, build_detector, select_faces
from facegate.vision.embedders import build_embedder, embed_views, view_paddings
from facegate.vision.quality import measure_quality
from facegate.vision.types import Detector, Embedder, FaceBox, FaceEncoding


def is_thread_safe(settings: VisionSettings) -> bool:
    """Return whether one pipeline of these settings may serve several threads at once.

    YuNet keeps one detector per thread and ONNX Runtime sessions are thread-safe; dlib's HOG
    and CNN detectors, its native encoder and OpenCV-run trained models are not.
    """
    return (
        settings.detector == "yunet"
        and not settings.fallback_detectors
        and settings.embedder == "dlib"
        and settings.embedder_engine == "onnx"
    )


class FacePipeline:
    """Detects, aligns, measures and embeds faces as the vision settings say."""

    def __init__(
        self,
        settings: VisionSettings | None = None,
        detector: Detector | None = None,
        embedder: Embedder | None = None,
    ) -> None:
        self.settings = settings or VisionSettings()
        self.detector = detector or build_detector(self.settings)
        self.embedder = embedder or build_embedder(self.settings)

    def _aligned(
        self, image: np.ndarray, policy: FacePolicy | None
    ) -> tuple[list[FaceBox], list[tuple[list[np.ndarray], np.ndarray]]]:
        """Return the boxes the policy keeps and each one's (chip and its views, landmarks)."""
        policy = policy or self.settings.multi_face
        boxes = select_faces(self.detector.detect(image), policy, image.shape)
        vision = self.settings
        aligned = [
            align_views(image, box, vision.chip_size, vision.chip_padding, view_paddings(vision))
            for box in boxes
        ]
        return boxes, aligned

    def align(self, image: np.ndarray, policy: FacePolicy | None = None) -> list[np.ndarray]:
        """Return the aligned chip of each face the policy keeps (no embedding)."""
        return [chips[0] for chips, _ in self._aligned(image, policy)[1]]

    def encode(self, image: np.ndarray, policy: FacePolicy | None = None) -> list[FaceEncoding]:
        """Return one FaceEncoding per face the policy keeps (empty list when none)."""
        boxes, aligned = self._aligned(image, policy)
        vectors = embed_views(
            self.embedder, [chips[0] for chips, _ in aligned], [chips[1:] for chips, _ in aligned]
        )
        return [
            FaceEncoding(box, landmarks, measure_quality(chips[0], box), vector)
            for box, (chips, landmarks), vector in zip(boxes, aligned, vectors, strict=True)
        ]

    def encode_for_enrollment(self, image: np.ndarray, name: str = "image") -> FaceEncoding:
        """Return the one face of an enrollment image, refusing several, tiny or blurred faces."""
        faces = self.encode(image, policy="all")
        if not faces:
            raise NoFaceError(f"{name}: no face found")
        if len(faces) > 1:
            raise ManyFacesError(
                f"{name}: {len(faces)} faces found; enrollment needs a picture of one person"
            )
        face = faces[0]
        if face.quality.face_px < self.settings.min_face_px:
            raise PoorQualityError(
                f"{name}: face is {face.quality.face_px}px wide, "
                f"enrollment needs >= {self.settings.min_face_px}px"
            )
        if face.quality.sharpness < self.settings.min_sharpness:
            raise PoorQualityError(
                f"{name}: face is too blurred (sharpness {face.quality.sharpness:.1f} "
                f"< {self.settings.min_sharpness})"
            )
        return face
