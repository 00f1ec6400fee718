"""People pages: list and search, enroll (photos or webcam), add photos, groups, remove."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from typing import Annotated

import numpy as np
from fastapi import APIRouter, File, Form, Query, Request, UploadFile
from fastapi.responses import Response

from facegate import api
from facegate.decide.rules import PersonAccess, group_name
from facegate.errors import FacegateError
from facegate.gallery.types import PersonSummary
from facegate.service.checks import read_image, relabelled
from facegate.service.errors import status_for
from facegate.service.resources import Resources
from facegate.service.ui.auth import User, Writer, ui_state
from facegate.service.ui.forms import day, paged, words
from facegate.service.ui.render import page, redirect

router = APIRouter(prefix="/ui/people", include_in_schema=False)

Text = Annotated[str, Form(max_length=2000)]
Photos = Annotated[list[UploadFile], File()]
DONE = {
    "enrolled": "enrolled",
    "photos": "photos added",
    "access": "groups and dates saved",
    "removed": "removed with every photo vector, group and event-log name",
}


def _resources(request: Request) -> Resources:
    """Return the service's resources."""
    return ui_state(request).resources


def _find(resources: Resources, person_id: int) -> PersonSummary | None:
    """Return the enrolled person with this id, or None."""
    return next((p for p in resources.gallery().people() if p.id == person_id), None)


def _arrays(resources: Resources, photos: list[UploadFile]) -> list[np.ndarray]:
    """Return the decoded photos that were sent (empty file fields are skipped)."""
    chosen = [p for p in photos if p.filename]
    limit = resources.settings.service.max_images
    if not chosen:
        raise ValueError("choose at least one photo (or take one with the webcam)")
    if len(chosen) > limit:
        raise ValueError(f"{len(chosen)} photos: at most {limit} at a time")
    arrays = []
    for upload in chosen:
        try:
            arrays.append(read_image(upload.file, resources))
        except FacegateError as exc:  # name the photo, not "<bytes>"
            exc.args = tuple(
                str(a).replace("<bytes>", f"photo {upload.filename!r}") for a in exc.args
            )
            raise
    return arrays


def _enroll(
    resources: Resources,
    name: str,
    photos: list[UploadFile],
    consent: str,
    add: bool,
    groups: Sequence[str] = (),
) -> PersonSummary:
    """Enroll (or add photos to) a person through api.enroll; all photos stored or none."""
    if not consent.strip():
        raise ValueError("a consent note is required (what the person agreed to, and when)")
    arrays = _arrays(resources, photos)
    with relabelled("the photo"), resources.vision_lock:
        return api.enroll(
            resources.gallery(),
            name,
            arrays,
            consent.strip(),
            add,
            resources.settings,
            groups=groups,
            store=resources.policy_store(),
        )


@router.get("")
def people(
    request: Request,
    user: User,
    q: Annotated[str, Query(max_length=200)] = "",
    page_number: Annotated[int, Query(alias="page", ge=1, le=10**9)] = 1,
) -> Response:
    """Everyone enrolled, searched by name, one page at a time, with the enroll form."""
    return _people_page(request, q, page_number)


def _people_page(
    request: Request,
    q: str = "",
    page_number: int = 1,
    status: int = 200,
    error: str | None = None,
    form: dict[str, str] | None = None,
    message: str | None = None,
) -> Response:
    """Return the people list (with an error and the form's values kept, after a failure)."""
    resources = _resources(request)
    everyone = resources.gallery().people()
    needle = q.strip().casefold()
    found = [p for p in everyone if needle in p.name.casefold()] if needle else everyone
    rows = paged(found, page_number, resources.settings.ui.page_size)
    accesses = resources.policy_store().accesses()
    return page(
        request,
        "people.html",
        status,
        rows=rows,
        q=q,
        accesses=accesses,
        error=error,
        form=form or {},
        total=len(everyone),
        message=message,
    )


@router.post("")
def enroll(
    request: Request,
    user: Writer,
    name: Annotated[str, Form(max_length=200)] = "",
    consent: Text = "",
    groups: Text = "",
    valid_from: Annotated[str, Form(max_length=40)] = "",
    valid_until: Annotated[str, Form(max_length=40)] = "",
    images: Photos = [],  # noqa: B006 (FastAPI copies defaults)
) -> Response:
    """Enroll a new person from photos, with consent note, groups and validity dates."""
    resources = _resources(request)
    form = {
        "name": name,
        "consent": consent,
        "groups": groups,
        "valid_from": valid_from,
        "valid_until": valid_until,
    }
    try:
        wanted = [group_name(g) for g in words(groups)]
        first, last = day(valid_from, "valid from"), day(valid_until, "valid until")
        person = _enroll(resources, name, images, consent, False, wanted)
        if first or last:
            store = resources.policy_store()
            current = store.person_access(person.name)
            store.set_person_access(
                person.name, replace(current, valid_from=first, valid_until=last)
            )
    except (FacegateError, ValueError) as exc:
        return _people_page(request, status=status_for(exc), error=str(exc), form=form)
    return redirect(f"/ui/people/{person.id}?done=enrolled")


@router.get("/{person_id}")
def person_page(
    request: Request,
    user: User,
    person_id: int,
    done: Annotated[str, Query(max_length=20)] = "",
) -> Response:
    """One person: photos stored, consent note, groups and dates, and the forms that change them."""
    return _person_page(request, person_id, message=DONE.get(done))


def _person_page(
    request: Request,
    person_id: int,
    status: int = 200,
    error: str | None = None,
    message: str | None = None,
) -> Response:
    """Return one person's page, or the people list saying nobody has that id."""
    resources = _resources(request)
    person = _find(resources, person_id)
    if person is None:
        return _people_page(request, status=404, error=f"no enrolled person has id {person_id}")
    access = resources.policy_store().person_access(person.name)
    return page(
        request, "person.html", status, person=person, access=access, error=error, message=message
    )


@router.post("/{person_id}/photos")
def add_photos(
    request: Request,
    user: Writer,
    person_id: int,
    consent: Text = "",
    images: Photos = [],  # noqa: B006 (FastAPI copies defaults)
) -> Response:
    """Add photos to an enrolled person (their consent note as given now is recorded)."""
    resources = _resources(request)
    person = _find(resources, person_id)
    if person is None:
        return _person_page(request, person_id)
    try:
        _enroll(resources, person.name, images, consent, True)
    except (FacegateError, ValueError) as exc:
        return _person_page(request, person_id, status_for(exc), str(exc))
    return redirect(f"/ui/people/{person_id}?done=photos")


@router.post("/{person_id}/access")
def set_access(
    request: Request,
    user: Writer,
    person_id: int,
    groups: Text = "",
    valid_from: Annotated[str, Form(max_length=40)] = "",
    valid_until: Annotated[str, Form(max_length=40)] = "",
) -> Response:
    """Replace a person's groups and validity dates (empty dates: no limit)."""
    resources = _resources(request)
    person = _find(resources, person_id)
    if person is None:
        return _person_page(request, person_id)
    try:
        access = PersonAccess(
            frozenset(group_name(g) for g in words(groups)),
            day(valid_from, "valid from"),
            day(valid_until, "valid until"),
        )
        resources.policy_store().set_person_access(person.name, access)
    except (FacegateError, ValueError) as exc:
        return _person_page(request, person_id, status_for(exc), str(exc))
    return redirect(f"/ui/people/{person_id}?done=access")


@router.post("/{person_id}/remove")
def remove(request: Request, user: Writer, person_id: int) -> Response:
    """Remove a person with every trace, as `facegate remove` does."""
    resources = _resources(request)
    person = _find(resources, person_id)
    if person is None:
        return _person_page(request, person_id)
    with resources.event_lock:
        removed = api.remove_person(resources.gallery(), person.name, resources.events())
    return _people_page(request, message=f"{removed.name} {DONE['removed']}")
