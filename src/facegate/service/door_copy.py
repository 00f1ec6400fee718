"""The centre's side of offline doors: build one door's copy of the people it may admit.

Only a door-scope key may fetch it, only for a door it serves (a bound key elsewhere: 403 and
the wrong_door alarm; an unbound key gets the door it names, and that is logged), and only
where the centre hands copies out at all (`edge.serve_copies`). The copy carries the people the
door's rules can admit now or later (allowed groups; nobody whose enrollment has expired; nobody
at a closed door) and the threshold for the FULL gallery at the door's level.
"""

from __future__ import annotations

import logging
from datetime import date, datetime
from zoneinfo import ZoneInfo

from facegate import api
from facegate.access import DoorPolicy
from facegate.access_event import now_iso
from facegate.decide.rules import DoorRules, PersonAccess
from facegate.door_copy import MAX_VECTORS, CopyPerson, CopyRules, DoorCopy
from facegate.service.door_binding import require_door
from facegate.service.errors import ApiError
from facegate.service.keys import ApiKey
from facegate.service.resources import Resources

log = logging.getLogger(__name__)


def may_admit(rules: DoorRules, access: PersonAccess, today: date) -> bool:
    """Return whether the door's rules can admit this person on some day from today on."""
    if rules.closed:
        return False
    if access.valid_until is not None and access.valid_until < today:
        return False
    return not rules.allow or bool(access.groups & set(rules.allow))


def _copy_rules(rules: DoorRules) -> CopyRules:
    """Return the door's rules as the copy carries them."""
    data = rules.as_dict()
    return CopyRules.model_validate({**data, "closed": rules.closed})


def door_copy(resources: Resources, key: ApiKey, door: str) -> DoorCopy:
    """Return the copy of the people this door may admit, for the door-scope key asking."""
    settings = resources.settings
    if not settings.edge.serve_copies:
        raise ApiError(
            403, "copies_off", "this centre hands out no door copies (edge.serve_copies)"
        )
    require_door(resources, key, door)
    if not key.doors:
        log.warning("door copy of %s sent to key %r, which is bound to no door", door, key.name)
    embedder = api.get_pipeline(settings.vision).embedder
    gallery = resources.cached_gallery()
    policy = DoorPolicy(resources.policy_store(), door, "identify", settings)
    total = gallery.count(embedder.name)
    threshold = policy.threshold(total, embedder.name, embedder.model_path)
    rules = policy.rules
    stored = resources.policy_store().accesses() if rules.configured else {}
    zone = settings.doors.timezone
    today = datetime.now(ZoneInfo(zone)).date()
    people, count = [], 0
    for summary in gallery.people():
        access = stored.get(summary.name, PersonAccess())
        if not may_admit(rules, access, today):
            continue
        own = gallery.embeddings(embedder.name, summary.name).vectors
        count += len(own)
        if count > MAX_VECTORS:
            raise ApiError(
                409, "copy_too_large", f"door {door!r} admits more than {MAX_VECTORS} vectors"
            )
        if len(own):
            people.append(
                CopyPerson(
                    id=summary.id,
                    name=summary.name,
                    groups=sorted(access.groups),
                    valid_from=access.valid_from,
                    valid_until=access.valid_until,
                    vectors=[[float(v) for v in row] for row in own],
                )
            )
    log.info("door copy of %s: %d people for key %r", door, len(people), key.name)
    return DoorCopy(
        door=door,
        issued_at=now_iso(),
        timezone=zone,
        model=embedder.name,
        dimension=embedder.dim,
        gallery_vectors=total,
        threshold=threshold,
        identify_k=settings.decide.identify_k,
        retry_margin=settings.loop.retry_margin,
        rules=_copy_rules(rules),
        people=people,
    )
