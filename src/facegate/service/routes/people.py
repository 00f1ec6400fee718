"""Enrolling, listing and removing people."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, File, Form, Path, Request, UploadFile

from facegate import api
from facegate.consent import ConsentRequiredError, consent_note
from facegate.service.auth import require_scope
from facegate.service.checks import read_image, relabelled
from facegate.service.errors import ApiError
from facegate.service.resources import Resources
from facegate.service.schemas import Enrolled, People, Person, Removed, error_responses

router = APIRouter(prefix="/v1/people", tags=["people"])


@router.post(
    "",
    status_code=201,
    dependencies=[Depends(require_scope("enroll"))],
    responses=error_responses(401, 403, 409, 413, 415, 422, 503),
)
def enroll_person(
    request: Request,
    name: Annotated[str, Form(min_length=1, max_length=200, description="Unique name.")],
    images: Annotated[
        list[UploadFile], File(min_length=1, description="One or more photos, one face each.")
    ],
    consent: Annotated[
        str,
        Form(
            max_length=2000,
            description="Consent note stored (who agreed, to what); required for a new person "
            "unless no_consent_note.",
        ),
    ] = "",
    no_consent_note: Annotated[
        bool, Form(description="Record that the site keeps consent elsewhere (no note).")
    ] = False,
    add: Annotated[bool, Form(description="Add the images to an enrolled person.")] = False,
    group: Annotated[
        list[str] | None,
        Form(max_length=64, description="Door groups the person joins (repeatable)."),
    ] = None,
) -> Enrolled:
    """Enroll a person from photos (all stored or none); 409 if the name is taken."""
    resources: Resources = request.app.state.resources
    try:
        note = consent_note(consent, no_consent_note, add, ("consent", "no_consent_note"))
    except ConsentRequiredError as exc:
        raise ApiError(422, exc.code, str(exc)) from None
    limit = resources.settings.service.max_images
    if len(images) > limit:
        raise ApiError(413, "too_many_images", f"{len(images)} images, at most {limit} per request")
    with relabelled("one of the images"):
        arrays = [read_image(upload.file, resources) for upload in images]
        with resources.vision_lock:
            person = api.enroll(
                resources.gallery(),
                name,
                arrays,
                note,
                add,
                resources.settings,
                groups=group or (),
                store=resources.policy_store(),
            )
    return Enrolled(person=Person(**person.as_dict()), images=len(arrays))


@router.get(
    "",
    dependencies=[Depends(require_scope("enroll", "read"))],
    responses=error_responses(401, 403),
)
def list_people(request: Request) -> People:
    """List every enrolled person (scope enroll or read)."""
    resources: Resources = request.app.state.resources
    return People(people=[Person(**p.as_dict()) for p in resources.gallery().people()])


@router.delete(
    "/{person_id}",
    dependencies=[Depends(require_scope("enroll"))],
    responses=error_responses(401, 403, 404),
)
def remove_person(request: Request, person_id: Annotated[int, Path(ge=1, le=2**63 - 1)]) -> Removed:
    """Remove a person by id: embeddings, consent, their name in events, their events' crops."""
    resources: Resources = request.app.state.resources
    gallery = resources.gallery()
    match = next((p for p in gallery.people() if p.id == person_id), None)
    if match is None:
        raise ApiError(404, "unknown_person", f"no enrolled person has id {person_id}")
    with resources.event_lock:
        removed = api.remove_person(gallery, match.name, resources.events())
    return Removed(removed=Person(**removed.as_dict()))
