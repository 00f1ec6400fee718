"""Edge doors (`facegate run --server`): a track's fused template in, the door's decision out."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request, Response

from facegate.door_copy import DoorCopy
from facegate.service.auth import require_scope
from facegate.service.door_copy import door_copy
from facegate.service.keys import ApiKey
from facegate.service.resources import Resources
from facegate.service.schemas import DOOR_PATTERN, error_responses
from facegate.service.template_schemas import TemplateDecision, TemplateIn
from facegate.service.templates import decide_template

router = APIRouter(prefix="/v1/templates", tags=["doors"])


@router.post("/decide", responses=error_responses(401, 403, 409, 413, 422, 429))
def decide(
    request: Request,
    key: Annotated[ApiKey, Depends(require_scope("door"))],
    body: TemplateIn,
) -> TemplateDecision:
    """Door check from an edge door: identify its template, apply the door's rules, log once.

    `event_key` makes the call idempotent: sent again (a retry after a timeout, or a queued
    event delivered later), it answers the first result and logs nothing new. With `offline`
    set, the door already acted (it denied while the centre was unreachable): it is logged.
    """
    resources: Resources = request.app.state.resources
    answer = decide_template(resources, key, body)
    if not answer.replayed:
        request.app.state.metrics.decision(answer.door, answer.mode, answer.decision)
    return answer


@router.get("/copy", responses=error_responses(401, 403, 409, 422))
def copy(
    request: Request,
    response: Response,
    key: Annotated[ApiKey, Depends(require_scope("door"))],
    door: Annotated[str, Query(pattern=DOOR_PATTERN)],
) -> DoorCopy:
    """An edge door's copy of the people it may admit, to decide on while the centre is away.

    Names, groups, validity dates and face vectors of the people this door's rules can admit,
    the door's rules, the site's time zone, and the threshold for the full gallery. Only for
    a door the key serves, only where `edge.serve_copies` is on; never cached on the way.
    """
    resources: Resources = request.app.state.resources
    response.headers["Cache-Control"] = "no-store"
    return door_copy(resources, key, door)
