"""Typed errors: each says what went wrong and why, in one line."""

from __future__ import annotations


class FacegateError(Exception):
    """Base of every error facegate raises on purpose (CLI exit code 2)."""

    code = "error"


class SettingsError(FacegateError):
    """A settings file or variable is invalid."""

    code = "bad_settings"


class ImageError(FacegateError):
    """An input could not be turned into an RGB image."""

    code = "bad_image"


class NotAnImageError(ImageError):
    """The bytes are not an image format we read."""

    code = "not_an_image"


class TruncatedImageError(ImageError):
    """The image file ends before its pixels do."""

    code = "truncated_image"


class ImageTooLargeError(ImageError):
    """The image (file size or pixel count) is over the configured limit."""

    code = "image_too_large"


class ImageTooSmallError(ImageError):
    """The image is too small to hold a face."""

    code = "image_too_small"


class FaceError(FacegateError):
    """The image does not hold exactly the face that was needed."""

    code = "face_error"


class NoFaceError(FaceError):
    """No face was found."""

    code = "no_face"


class ManyFacesError(FaceError):
    """Several faces were found where exactly one was needed."""

    code = "many_faces"


class PoorQualityError(FaceError):
    """The face is too small or too blurred to be used."""

    code = "poor_quality"


class GalleryError(FacegateError):
    """The gallery refused an operation."""

    code = "gallery_error"


class PersonExistsError(GalleryError):
    """A person of that name is already enrolled."""

    code = "person_exists"


class UnknownPersonError(GalleryError):
    """No person of that name is enrolled."""

    code = "unknown_person"


class GalleryUnavailableError(GalleryError):
    """The gallery database cannot be opened or written (read-only, locked, corrupt)."""

    code = "gallery_unavailable"


class SourceError(FacegateError):
    """A frame source cannot be opened or has stopped for good."""

    code = "bad_source"


class EventLogUnavailableError(FacegateError):
    """The event log database cannot be opened, read or written (locked, corrupt, no access)."""

    code = "event_log_unavailable"


class OutputError(FacegateError):
    """An output could not deliver an event (HTTP error, unreachable, command failed)."""

    code = "output_failed"


class OutputConfigError(OutputError, ValueError):
    """An output was given a URL or option it cannot use."""

    code = "bad_output"


class DoorExistsError(GalleryError):
    """A door of that name is already configured."""

    code = "door_exists"


class UnknownDoorError(GalleryError):
    """No door of that name is configured."""

    code = "unknown_door"


class MissingDatabaseError(FacegateError):
    """A command that only reads was given a database that does not exist."""

    code = "no_database"
