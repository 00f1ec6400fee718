"""Door-bound keys: a door-scope key bound to doors may check only those (`keys create --door`)."""

from __future__ import annotations

import logging

from facegate.access_event import now_iso
from facegate.service.errors import ApiError
from facegate.service.keys import ApiKey
from facegate.service.resources import Resources

log = logging.getLogger(__name__)


def require_door(resources: Resources, key: ApiKey, door: str) -> None:
    """Return when the key may check the door; else warn, raise the alarm and answer 403."""
    if key.serves(door):
        return
    message = (
        f"ALARM wrong_door at door {door}: key {key.name!r} is bound to {', '.join(key.doors)}"
    )
    log.warning(message)
    resources.alarms.send(
        {
            "type": "alarm",
            "alarm": "wrong_door",
            "door": door,
            "key": key.name,
            "bound": list(key.doors),
            "time": now_iso(),
            "message": message,
        }
    )
    raise ApiError(403, "wrong_door", f"this key is not bound to door {door!r}")
