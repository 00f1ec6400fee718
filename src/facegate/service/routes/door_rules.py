"""Doors as stored objects over HTTP (admin scope): list, show, add, change, remove."""

from __future__ import annotations

import logging
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Path, Request
from pydantic import BaseModel, ConfigDict, Field

from facegate import api
from facegate.access import door_rules
from facegate.actions.ha_discovery import forget_door
from facegate.decide.rules import DoorRules
from facegate.errors import UnknownDoorError
from facegate.service.auth import require_scope
from facegate.service.resources import Resources
from facegate.service.schemas import DOOR_PATTERN, error_responses

router = APIRouter(
    prefix="/v1/doors", tags=["door rules"], dependencies=[Depends(require_scope("admin"))]
)
DoorName = Annotated[str, Path(pattern=DOOR_PATTERN, description="The door's name.")]
log = logging.getLogger(__name__)


class DoorBody(BaseModel):
    """A door's rules as sent: fields left out keep their value (or the default when new)."""

    model_config = ConfigDict(extra="forbid")

    allow: list[Annotated[str, Field(max_length=64)]] | None = Field(
        None, max_length=64, description="Groups admitted (empty: everyone enrolled)."
    )
    level: Literal["low", "standard", "high"] | None = None
    fpir: float | None = Field(
        None, gt=0.0, lt=1.0, description="Custom target false-accept rate instead of a level."
    )
    mode: Literal["identify", "verify"] | None = None
    schedule: list[Annotated[str, Field(max_length=200)]] | None = Field(
        None,
        max_length=64,
        description="GROUP=DAYS HH:MM-HH:MM windows, e.g. staff=Mon-Fri 07:00-19:00.",
    )
    liveness: Literal["required", "off"] | None = None


def _apply(base: DoorRules, body: DoorBody, resources: Resources) -> DoorRules:
    """Return base with the body's fields applied."""
    return door_rules(
        base,
        resources.settings,
        body.allow,
        body.level,
        body.fpir,
        body.mode,
        body.schedule,
        body.liveness,
    )


def _describe(resources: Resources, rules: DoorRules) -> dict[str, object]:
    """Return a door's rules with its threshold and expected rates today."""
    return api.describe_door(
        resources.gallery(), resources.policy_store(), rules, resources.settings
    )


@router.get("", responses=error_responses(401, 403))
def list_doors(request: Request) -> dict[str, list[dict[str, object]]]:
    """Every configured door's rules."""
    resources: Resources = request.app.state.resources
    return {"doors": [r.as_dict() for r in resources.policy_store().doors()]}


@router.get("/{name}", responses=error_responses(401, 403, 404))
def show_door(request: Request, name: DoorName) -> dict[str, object]:
    """One door's rules, its threshold at today's gallery size and expected error rates."""
    resources: Resources = request.app.state.resources
    rules = resources.policy_store().door(name)
    if rules is None:
        raise UnknownDoorError(f"door {name!r} is not configured")
    return _describe(resources, rules)


@router.put("/{name}", responses=error_responses(401, 403, 409, 422))
def put_door(request: Request, name: DoorName, body: DoorBody) -> dict[str, object]:
    """Add a door, or change one (fields left out keep their values; the version goes up)."""
    resources: Resources = request.app.state.resources
    store = resources.policy_store()
    current = store.door(name)
    if current is None:
        rules = _apply(DoorRules(name, far=resources.settings.doors.standard_far), body, resources)
        return _describe(resources, store.add_door(rules))
    return _describe(resources, store.update_door(_apply(current, body, resources)))


@router.delete("/{name}", responses=error_responses(401, 403, 404))
def remove_door(request: Request, name: DoorName) -> dict[str, object]:
    """Remove a door's configuration (the name is then unconfigured: doors.unconfigured)."""
    resources: Resources = request.app.state.resources
    removed = resources.policy_store().remove_door(name)
    if (warning := forget_door(resources.settings, removed.name)) is not None:
        log.warning("%s", warning)
    return {"removed": removed.as_dict()}
