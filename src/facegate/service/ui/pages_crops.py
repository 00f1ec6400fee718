"""Event crops in the UI (crops.enabled): each event's face thumbnail, behind a session."""

from __future__ import annotations

import time
from collections.abc import Iterable
from typing import Annotated

from fastapi import APIRouter, Path, Request
from fastapi.responses import Response

from facegate.monitor.crops import DAY_S
from facegate.service.ui.auth import User, ui_state
from facegate.service.ui.render import secure
from facegate.service.ui.state import UiState

router = APIRouter(prefix="/ui", include_in_schema=False)

EventId = Annotated[int, Path(ge=1, le=2**63 - 1)]


def cutoff(state: UiState) -> float:
    """Return the UNIX time before which a crop is expired (never served)."""
    return time.time() - float(state.settings.crops.retention_days or 0.0) * DAY_S


def crop_links(state: UiState, event_ids: Iterable[int]) -> dict[int, str]:
    """Return the thumbnail URL of each of these events that has an unexpired crop."""
    found = state.resources.crops().having(event_ids, cutoff(state))
    return {event_id: f"/ui/events/{event_id}/crop" for event_id in found}


@router.get("/events/{event_id}/crop")
def event_crop(request: Request, user: User, event_id: EventId) -> Response:
    """One event's face crop as JPEG (any key that logs in); 404 when none, expired or off."""
    state = ui_state(request)
    jpeg = None
    if state.settings.crops.enabled:
        jpeg = state.resources.crops().get(event_id, cutoff(state))
    if jpeg is None:
        return secure(Response("no crop for this event", 404, media_type="text/plain"))
    return secure(Response(jpeg, media_type="image/jpeg"))
