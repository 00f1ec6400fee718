"""The access event log, filtered and paged."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Query, Request

from facegate.access_event import to_utc
from facegate.service.auth import require_scope
from facegate.service.errors import ApiError
from facegate.service.resources import Resources
from facegate.service.schemas import Event, EventPage, error_responses

router = APIRouter(prefix="/v1", tags=["events"])


def _moment(value: datetime | None, name: str) -> datetime | None:
    """Return the time in UTC (naive means UTC), refusing times out of range."""
    if value is None:
        return None
    try:
        moment = to_utc(value)
        moment.timestamp()
    except (OverflowError, ValueError) as exc:
        raise ApiError(422, "invalid_request", f"{name}: time out of range") from exc
    return moment


@router.get(
    "/events", dependencies=[Depends(require_scope("read"))], responses=error_responses(401, 403)
)
def list_events(
    request: Request,
    door: Annotated[str | None, Query(max_length=200)] = None,
    person: Annotated[str | None, Query(max_length=200, description="Matched person.")] = None,
    decision: Literal["unlock", "deny", "retry"] | None = None,
    since: Annotated[datetime | None, Query(description="Events at or after (ISO 8601).")] = None,
    until: Annotated[datetime | None, Query(description="Events before (ISO 8601).")] = None,
    limit: Annotated[int, Query(ge=1, description="Page size (at most service.max_page).")] = 100,
    offset: Annotated[int, Query(ge=0, le=2**62)] = 0,
) -> EventPage:
    """Events newest first, one page; filter by door, person, decision and time."""
    resources: Resources = request.app.state.resources
    most = resources.settings.service.max_page
    if limit > most:
        raise ApiError(422, "invalid_request", f"limit: at most {most}")
    filters = {
        "door": door,
        "person": person,
        "decision": decision,
        "since": _moment(since, "since"),
        "until": _moment(until, "until"),
    }
    log = resources.events()
    total = log.count(**filters)
    events = log.query(**filters, limit=limit, offset=offset)
    following = offset + len(events)
    return EventPage(
        events=[Event(**e.as_dict()) for e in events],
        total=total,
        limit=limit,
        offset=offset,
        next_offset=following if following < total else None,
    )
