"""facegate: face-recognition access control.

A flat API mirroring the CLI::

    from facegate import Gallery, enroll, verify, identify
    with Gallery("people.db") as gallery:
        enroll(gallery, "Ada", ["ada1.jpg", "ada2.jpg"], consent="signed form 2026-11-23")
        verify(gallery, "Ada", "door.jpg").accepted
        identify(gallery, "door.jpg")[0].person
"""

from facegate.api import IdentifyResult, VerifyResult, enroll, identify, open_gallery, verify
from facegate.gallery import SQLiteGallery as Gallery
from facegate.settings import Settings, load_settings

__all__ = [
    "Gallery",
    "IdentifyResult",
    "Settings",
    "VerifyResult",
    "enroll",
    "identify",
    "load_settings",
    "open_gallery",
    "verify",
]
__version__ = "0.1.0"
