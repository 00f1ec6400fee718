"""The access event log, filtered and paged."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Query, Request

from facegate.access_event import to_utc
from facegate.service.auth import require_scope
from facegate.service.resources import Resources
from facegate.service.schemas import Event, EventPage, error_responses

router = APIRouter(prefix="/v1", tags=["events"])


def _moment(value: datetime | None) -> datetime | None:
    """Return the time in UTC (naive means UTC); times beyond datetime's range are clamped."""
    if value is None:
        return None
    try:
        return to_utc(value)
    except OverflowError:
        edge = datetime.max if value.year > 1970 else datetime.min
        return edge.replace(tzinfo=UTC)


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
    limit: Annotated[
        int, Query(ge=1, description="Page size (clamped to service.max_page).")
    ] = 100,
    offset: Annotated[int, Query(ge=0, le=2**62)] = 0,
) -> EventPage:
    """Events newest first, one page; filter by door, person, decision and time."""
    resources: Resources = request.app.state.resources
    limit = min(limit, resources.settings.service.max_page)
    filters = {
        "door": door,
        "person": person,
        "decision": decision,
        "since": _moment(since),
        "until": _moment(until),
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
