"""One door's policy at run time: its stored rules (or the defaults), threshold and decisions.

The loop, the CLI and the HTTP service each hold a DoorPolicy for the door they serve and ask
it for the threshold and for the decision (decide/policy.py); nothing else decides.
"""

from __future__ import annotations

import math
from dataclasses import replace
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from facegate.decide.policy import AccessDecision, Match, decide_access, door_threshold
from facegate.decide.rules import (
    DoorRules,
    PersonAccess,
    Window,
    group_name,
    level_far,
    parse_schedule,
)
from facegate.decide.threshold import (
    embedder_tail,
    shipped_genuine,
    tail_path,
    threshold_for_gallery,
)
from facegate.errors import SettingsError
from facegate.gallery.access import AccessStore
from facegate.settings import Settings


def default_rules(
    door: str, mode: str, settings: Settings, site_has_doors: bool = False
) -> DoorRules:
    """Return the rules of a door nobody configured: everyone enrolled, the global settings.

    The door is closed (refuses everyone, reason unknown_door) when `doors.unconfigured` is
    'closed', or 'auto' at a site that has configured doors: there, an unknown name is a typo
    or a forged door field, and must not open the site's open default to everyone enrolled.
    """
    policy = settings.doors.unconfigured
    return DoorRules(
        name=door,
        mode=mode,  # type: ignore[arg-type]
        level="custom",
        far=settings.decide.identify_fpir,
        liveness="camera" if settings.liveness.enabled else "off",
        version=0,
        configured=False,
        closed=policy == "closed" or (policy == "auto" and site_has_doors),
    )


def level_rates(settings: Settings) -> dict[str, float]:
    """Return the target false-accept rate of each named security level."""
    doors = settings.doors
    return {"low": doors.low_far, "standard": doors.standard_far, "high": doors.high_far}


def operating_point(
    rules: DoorRules, threshold: float, vectors: int, embedder: str, model: Path | None
) -> dict[str, float | None]:
    """Return the expected false-accept and false-reject rates of a door at its threshold.

    False accept: identify = FPIR for this many enrolled vectors, verify = FAR per claim, from
    the embedder's impostor table; false reject from the shipped genuine-distance table (the
    shipped encoder only). None where no table applies.
    """
    tail = embedder_tail(embedder, model)
    genuine = shipped_genuine() if model is None else None
    per_comparison = tail.far_at(threshold) if tail is not None else None
    if per_comparison is not None and rules.mode == "identify":
        false_accept: float | None = -math.expm1(vectors * math.log1p(-per_comparison))
    else:
        false_accept = per_comparison
    return {
        "threshold": threshold,
        "expected_false_accept": false_accept,
        "expected_false_reject": genuine.frr_at(threshold) if genuine is not None else None,
    }


class DoorPolicy:
    """A door's rules, read from the access store when configured, applied to matches."""

    def __init__(self, store: AccessStore | None, door: str, mode: str, settings: Settings) -> None:
        stored = store.door(door) if store is not None else None
        if stored is not None and stored.mode != mode:
            raise ValueError(f"door {door!r} is configured for {stored.mode}, not {mode}")
        self.store = store
        self.settings = settings
        self.rules = stored or default_rules(
            door, mode, settings, store is not None and bool(store.doors())
        )
        self.zone = ZoneInfo(settings.doors.timezone)

    def threshold(self, vectors: int, embedder: str, model: Path | None) -> float:
        """Return this door's distance threshold for a gallery of this many vectors."""
        decide = self.settings.decide
        if not self.rules.configured:
            if self.rules.mode == "verify":
                return decide.threshold
            return threshold_for_gallery(decide, vectors, embedder, model)
        tail = embedder_tail(embedder, model)
        if tail is None:
            where = "shipped" if model is None else str(tail_path(model))
            raise SettingsError(
                f"door {self.rules.name!r}: no impostor-distance table for embedder {embedder} "
                f"({where}), so its security level has no threshold"
            )
        return door_threshold(self.rules, vectors, tail, decide.threshold)

    def access(self, person: str | None) -> PersonAccess | None:
        """Return the named person's access record (None for nobody or without a store)."""
        if person is None or self.store is None or not self.rules.configured:
            return None
        return self.store.person_access(person)

    def decide(
        self,
        match: Match,
        live: bool | None,
        when: datetime | None = None,
        rate_limited: bool = False,
        ask: bool = False,
    ) -> AccessDecision:
        """Return the door's decision for one match, at `when` (default now) in site time.

        ask: the liveness evidence can still be completed by a motion the door asks for.
        """
        local = (when or datetime.now(self.zone)).astimezone(self.zone)
        return decide_access(
            match,
            self.rules,
            self.access(match.person),
            local,
            live,
            self.settings.loop.retry_margin,
            rate_limited,
            ask,
        )


def _choice(value: str | None, name: str, choices: tuple[str, ...]) -> str | None:
    """Return the value when it is one of the choices (or None), else raise ValueError."""
    if value is not None and value not in choices:
        raise ValueError(f"{name} must be one of {', '.join(choices)}, not {value!r}")
    return value


def _schedules(specs: list[str]) -> dict[str, tuple[Window, ...]]:
    """Return each group's windows from GROUP=WINDOW specs."""
    out: dict[str, tuple[Window, ...]] = {}
    for spec in specs:
        group, window = parse_schedule(spec)
        out[group] = (*out.get(group, ()), window)
    return out


def door_rules(
    base: DoorRules,
    settings: Settings,
    allow: list[str] | None,
    level: str | None,
    fpir: float | None,
    mode: str | None,
    schedule: list[str] | None,
    liveness: str | None,
) -> DoorRules:
    """Return base with the given options applied (options left out keep base's values).

    The CLI's `doors add/set` flags and the HTTP door bodies both come through here.
    """
    if level is not None and fpir is not None:
        raise ValueError("give --level or --fpir, not both")
    changes: dict[str, object] = {}
    if level is not None or fpir is not None:
        rates = level_rates(settings)
        changes["level"], changes["far"] = level_far(
            level or "standard",  # type: ignore[arg-type]
            fpir,
            rates,
        )
    if allow is not None:
        changes["allow"] = tuple(dict.fromkeys(group_name(g) for g in allow))
    if schedule is not None:
        changes["schedules"] = _schedules(schedule)
    if mode is not None:
        changes["mode"] = _choice(mode, "--mode", ("identify", "verify"))
    if liveness is not None:
        changes["liveness"] = _choice(liveness, "--liveness", ("required", "off"))
    return replace(base, **changes)  # type: ignore[arg-type]
