"""The HTTP service: a FastAPI app over the Python API (enroll, verify, identify, events)."""

from facegate.service.app import create_app

__all__ = ["create_app"]
