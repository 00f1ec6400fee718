"""Door pages: each door's rules with its operating point; create, change, remove."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import Response

from facegate import api
from facegate.access import door_rules
from facegate.decide.rules import DoorRules
from facegate.errors import FacegateError
from facegate.service.errors import status_for
from facegate.service.resources import Resources
from facegate.service.ui.auth import User, Writer, ui_state
from facegate.service.ui.forms import lines, number, words
from facegate.service.ui.render import page, redirect

router = APIRouter(prefix="/ui/doors", include_in_schema=False)

Short = Annotated[str, Form(max_length=200)]
Long = Annotated[str, Form(max_length=8000)]


def _resources(request: Request) -> Resources:
    """Return the service's resources."""
    return ui_state(request).resources


def _describe(resources: Resources, rules: DoorRules) -> dict[str, object]:
    """Return a door's rules with its threshold and expected rates today (as `doors show`)."""
    return api.describe_door(
        resources.gallery(), resources.policy_store(), rules, resources.settings
    )


def _doors_page(
    request: Request,
    status: int = 200,
    error: str | None = None,
    form: dict[str, str] | None = None,
    message: str | None = None,
) -> Response:
    """Return the doors list with the new-door form."""
    resources = _resources(request)
    doors = [_describe(resources, r) for r in resources.policy_store().doors()]
    return page(
        request, "doors.html", status, doors=doors, error=error, form=form or {}, message=message
    )


def _rules(
    resources: Resources,
    base: DoorRules,
    allow: str,
    level: str,
    fpir: str,
    mode: str,
    schedule: str,
    liveness: str,
) -> DoorRules:
    """Return base with the form's fields applied (through access.door_rules, as the CLI)."""
    custom = number(fpir, "target false-accept rate") if level == "custom" else None
    if level == "custom" and custom is None:
        raise ValueError("a custom level needs a target false-accept rate, e.g. 0.0005")
    return door_rules(
        base,
        resources.settings,
        words(allow),
        None if custom else level or None,
        custom,
        mode or None,
        lines(schedule),
        liveness or None,
    )


@router.get("")
def doors(request: Request, user: User) -> Response:
    """Every configured door: rules, threshold at today's gallery size, expected errors."""
    return _doors_page(request)


@router.post("")
def create(
    request: Request,
    user: Writer,
    name: Short = "",
    allow: Short = "",
    level: Short = "standard",
    fpir: Short = "",
    mode: Short = "identify",
    schedule: Long = "",
    liveness: Short = "required",
) -> Response:
    """Add a door with its rules."""
    resources = _resources(request)
    form = {
        "name": name,
        "allow": allow,
        "level": level,
        "fpir": fpir,
        "mode": mode,
        "schedule": schedule,
        "liveness": liveness,
    }
    try:
        base = DoorRules(name.strip(), far=resources.settings.doors.standard_far)
        rules = _rules(resources, base, allow, level, fpir, mode, schedule, liveness)
        resources.policy_store().add_door(rules)
    except (FacegateError, ValueError) as exc:
        return _doors_page(request, status_for(exc), str(exc), form)
    return redirect(f"/ui/doors/{rules.name}")


def _door_page(
    request: Request, name: str, status: int = 200, error: str | None = None
) -> Response:
    """Return one door's page with its edit form, or the list saying it is not configured."""
    resources = _resources(request)
    rules = resources.policy_store().door(name)
    if rules is None:
        return _doors_page(request, 404, f"door {name!r} is not configured")
    values = {
        "allow": ", ".join(rules.allow),
        "level": rules.level,
        "fpir": f"{rules.far:g}" if rules.level == "custom" else "",
        "mode": rules.mode,
        "liveness": rules.liveness,
        "schedule": "\n".join(f"{g}={w}" for g, ws in rules.schedules.items() for w in ws),
    }
    return page(
        request,
        "door.html",
        status,
        door=_describe(resources, rules),
        values=values,
        error=error,
    )


@router.get("/{name}")
def door(request: Request, user: User, name: str) -> Response:
    """One door: its rules, operating point and (admin) the form that changes them."""
    return _door_page(request, name)


@router.post("/{name}")
def change(
    request: Request,
    user: Writer,
    name: str,
    allow: Short = "",
    level: Short = "standard",
    fpir: Short = "",
    mode: Short = "identify",
    schedule: Long = "",
    liveness: Short = "required",
) -> Response:
    """Replace a door's rules with the form's (its version goes up)."""
    resources = _resources(request)
    store = resources.policy_store()
    current = store.door(name)
    if current is None:
        return _door_page(request, name)
    try:
        store.update_door(_rules(resources, current, allow, level, fpir, mode, schedule, liveness))
    except (FacegateError, ValueError) as exc:
        return _door_page(request, name, status_for(exc), str(exc))
    return redirect(f"/ui/doors/{name}")


@router.post("/{name}/remove")
def remove(request: Request, user: Writer, name: str) -> Response:
    """Remove a door's rules (the name is then unconfigured: doors.unconfigured)."""
    store = _resources(request).policy_store()
    if store.door(name) is None:
        return _door_page(request, name)
    store.remove_door(name)
    return _doors_page(request, message=f"door {name} removed")
