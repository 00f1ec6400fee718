"""The events page: the access log filtered and paged, newest first, and its JSON for polling."""

from __future__ import annotations

import math
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import JSONResponse, Response

from facegate.access_event import AccessEvent
from facegate.service.ui.auth import User, ui_state
from facegate.service.ui.forms import moment
from facegate.service.ui.pages_crops import crop_links
from facegate.service.ui.render import page, secure

router = APIRouter(prefix="/ui", include_in_schema=False)

Field = Annotated[str, Query(max_length=200)]
Page = Annotated[int, Query(alias="page", ge=1, le=10**9)]
DECISIONS = ("unlock", "retry", "deny")


def event_filters(
    door: Field = "",
    person: Field = "",
    decision: Field = "",
    reason: Field = "",
    since: Field = "",
    until: Field = "",
) -> dict[str, str]:
    """Return the events filters of the query string (the page's form and its JSON poll)."""
    return {
        "door": door,
        "person": person,
        "decision": decision,
        "reason": reason,
        "since": since,
        "until": until,
    }


Filters = Annotated[dict[str, str], Depends(event_filters)]


def _row(event: AccessEvent) -> dict[str, Any]:
    """Return what the events table shows of one event (its crop link is added when on)."""
    return {
        "time": event.time,
        "door": event.door,
        "mode": event.mode,
        "person": event.person or "",
        "claimed": event.claimed or "",
        "decision": event.decision,
        "reason": event.reason or "",
        "distance": None if event.distance is None else round(event.distance, 3),
        "attempt": event.attempt,
    }


def _query(request: Request, filters: dict[str, str], page_number: int) -> dict[str, Any]:
    """Return one page of events matching the form's filters (ValueError for a bad field)."""
    if filters["decision"] and filters["decision"] not in DECISIONS:
        raise ValueError(f"decision must be one of {', '.join(DECISIONS)}")
    chosen: dict[str, Any] = {
        k: filters[k].strip() or None for k in ("door", "person", "decision", "reason")
    }
    chosen["since"] = moment(filters["since"], "since")
    chosen["until"] = moment(filters["until"], "until")
    state = ui_state(request)
    size = state.settings.ui.page_size
    log = state.resources.events()
    total = log.count(**chosen)
    pages = max(1, math.ceil(total / size))
    page_number = min(page_number, pages)
    page = log.query_ids(**chosen, limit=size, offset=(page_number - 1) * size)
    rows = [_row(e) for _, e in page]
    if state.settings.crops.enabled:  # crops on: each row names its thumbnail (or none)
        links = crop_links(state, [event_id for event_id, _ in page])
        for row, (event_id, _) in zip(rows, page, strict=True):
            row["crop"] = links.get(event_id)
    return {
        "events": rows,
        "total": total,
        "page": page_number,
        "pages": pages,
    }


@router.get("/events")
def events(
    request: Request,
    user: User,
    filters: Filters,
    page_number: Page = 1,
) -> Response:
    """The event log: filters, one page, newest first; the first page refreshes itself."""
    try:
        found = _query(request, filters, page_number)
        error, status = None, 200
    except ValueError as exc:
        found = {"events": [], "total": 0, "page": 1, "pages": 1}
        error, status = str(exc), 422
    doors = ui_state(request).resources.events().doors()
    return page(
        request,
        "events.html",
        status,
        found=found,
        filters=filters,
        error=error,
        doors=doors,
        decisions=DECISIONS,
        poll_ms=int(ui_state(request).settings.ui.poll_seconds * 1000),
        crops=ui_state(request).settings.crops,
    )


@router.get("/events.json")
def events_json(
    request: Request,
    user: User,
    filters: Filters,
    page_number: Page = 1,
) -> Response:
    """One page of events as JSON (the events page polls it); 422 for a bad filter."""
    try:
        body = _query(request, filters, page_number)
        return secure(JSONResponse(body))
    except ValueError as exc:
        return secure(JSONResponse({"error": "bad_filter", "message": str(exc)}, 422))
