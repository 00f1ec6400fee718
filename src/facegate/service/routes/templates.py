"""Edge doors (`facegate run --server`): a track's fused template in, the door's decision out."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request

from facegate.service.auth import require_scope
from facegate.service.keys import ApiKey
from facegate.service.resources import Resources
from facegate.service.schemas import error_responses
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
