"""The door checks: verify (key card, 1:1) and identify (door, 1:N)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, File, Form, Request, UploadFile

from facegate.service import checks
from facegate.service.auth import require_scope
from facegate.service.keys import ApiKey
from facegate.service.resources import Resources
from facegate.service.schemas import DOOR_PATTERN, Decision, error_responses

router = APIRouter(prefix="/v1", tags=["doors"])

DoorForm = Annotated[
    str | None,
    Form(pattern=DOOR_PATTERN, description="Door name (default: settings loop.door)."),
]
ImageFile = Annotated[UploadFile, File(description="The live photo (largest face is used).")]
ERRORS = error_responses(401, 403, 409, 413, 415, 422, 429)


def _count(request: Request, decision: Decision) -> Decision:
    """Count the decision in the metrics and return it."""
    request.app.state.metrics.decision(decision.door, decision.mode, decision.decision)
    return decision


@router.post("/verify", responses=ERRORS)
def verify(
    request: Request,
    key: Annotated[ApiKey, Depends(require_scope("door"))],
    person: Annotated[str, Form(min_length=1, max_length=200, description="Claimed person.")],
    image: ImageFile,
    door: DoorForm = None,
) -> Decision:
    """Key-card check: is the face the claimed person, and may they enter? Logged."""
    resources: Resources = request.app.state.resources
    door = door or resources.settings.loop.door
    return _count(request, checks.check(resources, key, door, person, image.file))


@router.post("/identify", responses=ERRORS)
def identify(
    request: Request,
    key: Annotated[ApiKey, Depends(require_scope("door"))],
    image: ImageFile,
    door: DoorForm = None,
) -> Decision:
    """Door check: who is this (against everyone), and may they enter here? Logged."""
    resources: Resources = request.app.state.resources
    door = door or resources.settings.loop.door
    return _count(request, checks.check(resources, key, door, None, image.file))
