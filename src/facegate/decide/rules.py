"""A door's rules and a person's access record: groups, weekly windows, validity, level.

Plain data with parsers for what an operator types (`staff=Mon-Fri 07:00-19:00`); the door
policy (policy.py) applies them, the access store (gallery/access.py) keeps them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Literal

Mode = Literal["identify", "verify"]
Liveness = Literal["required", "camera", "off"]
Level = Literal["low", "standard", "high", "custom"]

DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
MINUTES_PER_DAY = 24 * 60
DOOR_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")
GROUP_PATTERN = re.compile(r"^[a-z0-9][a-z0-9_.-]{0,63}$")
_WINDOW = re.compile(r"^(?P<days>[A-Za-z,\-]+)\s+(?P<start>\d{1,2}:\d{2})-(?P<end>\d{1,2}:\d{2})$")


def group_name(value: str) -> str:
    """Return a valid group name (lower-case letters, digits, `_.-`, at most 64), else raise."""
    name = value.strip().lower()
    if not GROUP_PATTERN.match(name):
        raise ValueError(
            f"group {value!r}: use 1-64 lower-case letters, digits, '_', '.' or '-' "
            "(starting with a letter or digit)"
        )
    return name


def _minutes(text: str) -> int:
    """Return minutes after midnight of HH:MM (24:00 allowed as the end of a day)."""
    hours, minutes = (int(part) for part in text.split(":"))
    if minutes > 59 or hours > 24 or (hours == 24 and minutes):
        raise ValueError(f"{text!r} is not a time of day (HH:MM, 00:00-24:00)")
    return hours * 60 + minutes


def _clock(minutes: int) -> str:
    """Return HH:MM of minutes after midnight."""
    return f"{minutes // 60:02d}:{minutes % 60:02d}"


def _days(text: str) -> frozenset[int]:
    """Return weekday numbers (Mon = 0) of 'Mon-Fri', 'Sat,Sun', 'Mon' or 'daily'."""
    if text.lower() in ("daily", "all"):
        return frozenset(range(7))
    out: set[int] = set()
    for part in text.lower().split(","):
        first, _, last = part.partition("-")
        if first not in DAYS or (last and last not in DAYS):
            raise ValueError(f"{part!r} is not a day or day range (Mon..Sun, e.g. Mon-Fri)")
        start, end = DAYS.index(first), DAYS.index(last or first)
        out.update(range(start, end + 1) if start <= end else [*range(start, 7), *range(end + 1)])
    return frozenset(out)


@dataclass(frozen=True)
class Window:
    """A weekly window: these weekdays, start to end in minutes (end <= start: overnight)."""

    days: frozenset[int]
    start: int
    end: int

    @classmethod
    def parse(cls, text: str) -> Window:
        """Return the window of 'Mon-Fri 07:00-19:00' (an end before the start: overnight)."""
        match = _WINDOW.match(text.strip())
        if not match:
            raise ValueError(f"schedule window {text!r}: expected e.g. 'Mon-Fri 07:00-19:00'")
        start, end = _minutes(match["start"]), _minutes(match["end"])
        if start == end:
            raise ValueError(f"schedule window {text!r} is empty (start equals end)")
        return cls(_days(match["days"]), start, end)

    def contains(self, local: datetime) -> bool:
        """Return whether a local (site time zone) moment falls inside the window."""
        minute = local.hour * 60 + local.minute
        today = local.weekday()
        if self.start < self.end:
            return today in self.days and self.start <= minute < self.end
        yesterday = (today - 1) % 7
        return (today in self.days and minute >= self.start) or (
            yesterday in self.days and minute < self.end
        )

    def __str__(self) -> str:
        names = ",".join(DAYS[d].capitalize() for d in sorted(self.days))
        return f"{names} {_clock(self.start)}-{_clock(self.end)}"


def parse_schedule(spec: str) -> tuple[str, Window]:
    """Return (group, window) of 'staff=Mon-Fri 07:00-19:00'."""
    group, sep, window = spec.partition("=")
    if not sep:
        raise ValueError(f"schedule {spec!r}: expected GROUP=DAYS HH:MM-HH:MM")
    return group_name(group), Window.parse(window)


@dataclass(frozen=True)
class DoorRules:
    """One door's policy: mode, target false-accept rate, allowed groups and their windows.

    `allow` empty admits everyone enrolled; a group with windows is admitted only inside
    one of them, a group without windows at any time. `version` grows with every change.
    """

    name: str
    mode: Mode = "identify"
    level: Level = "standard"
    far: float = 0.001
    allow: tuple[str, ...] = ()
    schedules: dict[str, tuple[Window, ...]] = field(default_factory=dict)
    liveness: Liveness = "required"
    version: int = 0
    configured: bool = True
    closed: bool = False  # an unconfigured name where doors are configured: refuses everyone

    def __post_init__(self) -> None:
        if not DOOR_PATTERN.match(self.name):
            raise ValueError(
                f"door name {self.name!r}: 1-64 letters, digits, '_', '.' or '-' "
                "(starting with a letter or digit)"
            )
        if not 0.0 < self.far < 1.0:
            raise ValueError(f"door {self.name!r}: a target false-accept rate is in (0, 1)")
        stray = sorted(set(self.schedules) - set(self.allow))
        if stray:
            raise ValueError(
                f"door {self.name!r}: schedule for group(s) {', '.join(stray)} "
                "that the door does not allow (add them with --allow)"
            )

    def as_dict(self) -> dict[str, object]:
        """Return the rules as JSON-ready data."""
        return {
            "name": self.name,
            "mode": self.mode,
            "level": self.level,
            "far": self.far,
            "allow": list(self.allow),
            "schedules": {g: [str(w) for w in ws] for g, ws in sorted(self.schedules.items())},
            "liveness": self.liveness,
            "version": self.version,
            "configured": self.configured,
        }


@dataclass(frozen=True)
class PersonAccess:
    """What a person may use: their groups and the dates their enrollment is valid (inclusive)."""

    groups: frozenset[str] = frozenset()
    valid_from: date | None = None
    valid_until: date | None = None


def level_far(level: Level, far: float | None, levels: dict[str, float]) -> tuple[Level, float]:
    """Return (level, target rate): a named level's rate from `levels`, or 'custom' for --fpir."""
    if far is not None:
        return "custom", far
    if level not in levels:
        raise ValueError(f"level must be one of {', '.join(levels)}, not {level!r}")
    return level, levels[level]
