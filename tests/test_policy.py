"""The door policy: the rule table as a property test, schedule parsing, door thresholds."""

from __future__ import annotations

from datetime import date, datetime, timedelta

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from facegate.decide.policy import Match, admits, decide_access, door_threshold
from facegate.decide.rules import DoorRules, PersonAccess, Window, parse_schedule
from facegate.decide.threshold import (
    fit_genuine_table,
    identify_threshold,
    shipped_genuine,
    shipped_tail,
)

GROUPS = ("staff", "visitors", "cleaning", "security")
WINDOWS = (Window.parse("Mon-Fri 07:00-19:00"), Window.parse("Sat-Sun 22:00-06:00"))
MONDAY = datetime(2026, 11, 30)  # a Monday


def expected(door: DoorRules, access: PersonAccess, local: datetime) -> str:
    """The rule table written out independently of policy.py."""
    if access.valid_until is not None and local.date() > access.valid_until:
        return "expired"
    if access.valid_from is not None and local.date() < access.valid_from:
        return "not_yet_valid"
    if not door.allow:
        return "granted"
    shared = access.groups & set(door.allow)
    if not shared:
        return "not_allowed"
    for group in shared:
        windows = door.schedules.get(group, ())
        if not windows:
            return "granted"
        for w in windows:
            minute = local.hour * 60 + local.minute
            if w.start < w.end and local.weekday() in w.days and w.start <= minute < w.end:
                return "granted"
            if w.start > w.end and (
                (local.weekday() in w.days and minute >= w.start)
                or ((local.weekday() - 1) % 7 in w.days and minute < w.end)
            ):
                return "granted"
    return "outside_schedule"


doors = st.builds(
    lambda allow, sched: DoorRules(
        "d",
        allow=tuple(sorted(allow)),
        schedules={g: (WINDOWS[i],) for g, i in sched if g in allow},
    ),
    st.sets(st.sampled_from(GROUPS)),
    st.lists(st.tuples(st.sampled_from(GROUPS), st.integers(0, 1)), max_size=4),
)
people = st.builds(
    lambda groups, start, end: PersonAccess(frozenset(groups), start, end),
    st.sets(st.sampled_from(GROUPS)),
    st.one_of(st.none(), st.dates(date(2026, 11, 25), date(2026, 12, 10))),
    st.one_of(st.none(), st.dates(date(2026, 11, 25), date(2026, 12, 10))),
)
moments = st.integers(0, 14 * 24 * 60 - 1).map(lambda m: MONDAY + timedelta(minutes=m))


@settings(max_examples=400, deadline=None)
@given(door=doors, access=people, local=moments, named=st.booleans(), live=st.booleans())
def test_rule_table(
    door: DoorRules, access: PersonAccess, local: datetime, named: bool, live: bool
) -> None:
    """Groups x schedules x validity x match x liveness: the decision is the table's."""
    match = Match("ann" if named else None, 0.2 if named else 0.9, 0.4)
    result = decide_access(match, door, access, local, live, retry_margin=0.05)
    if not live:
        assert (result.decision, result.reason) == ("deny", "not_live")
    elif not named:
        assert (result.decision, result.reason) == ("deny", "unknown")
    else:
        reason = expected(door, access, local)
        assert result.reason == reason
        assert result.decision == ("unlock" if reason == "granted" else "deny")
        assert result.person == "ann"  # recognised, whether let in or refused by the rules


def test_recognised_but_not_allowed_is_refused_not_unlocked() -> None:
    """A matched person outside the door's groups gets not_allowed, never someone else's door."""
    door = DoorRules("server", allow=("admins",))
    result = decide_access(
        Match("bob", 0.1, 0.3), door, PersonAccess(frozenset({"staff"})), MONDAY, True, 0.05
    )
    assert (result.decision, result.reason, result.person) == ("deny", "not_allowed", "bob")


@pytest.mark.parametrize(
    ("distance", "decision", "reason"),
    [(0.43, "retry", "retry"), (0.46, "deny", "unknown"), (float("inf"), "deny", "unknown")],
)
def test_near_miss_asks_to_retry(distance: float, decision: str, reason: str) -> None:
    """Nobody named but within the retry margin: retry; further off (or no one): unknown."""
    result = decide_access(Match(None, distance, 0.40), DoorRules("d"), None, MONDAY, True, 0.05)
    assert (result.decision, result.reason) == (decision, reason)


@pytest.mark.parametrize(
    ("liveness", "live", "reason"),
    [
        ("required", None, "not_live"),
        ("required", False, "not_live"),
        ("camera", None, "granted"),
        ("camera", False, "not_live"),
        ("off", False, "granted"),
    ],
)
def test_liveness_modes(liveness: str, live: bool | None, reason: str) -> None:
    """required refuses missing evidence; camera only a failed check; off ignores it."""
    door = DoorRules("d", liveness=liveness)  # type: ignore[arg-type]
    assert decide_access(Match("a", 0.1, 0.4), door, None, MONDAY, live, 0.05).reason == reason


def test_rate_limited_comes_first() -> None:
    """A rate-limited check is refused whatever the face."""
    result = decide_access(Match("a", 0.1, 0.4), DoorRules("d"), None, MONDAY, True, 0.05, True)
    assert (result.decision, result.reason) == ("deny", "rate_limited")


def test_overnight_window_belongs_to_its_start_day() -> None:
    """Sat 22:00-06:00 covers Saturday night and early Sunday, not Friday night."""
    window = Window.parse("Sat 22:00-06:00")
    saturday = MONDAY + timedelta(days=5)
    assert window.contains(saturday.replace(hour=23))
    assert window.contains((saturday + timedelta(days=1)).replace(hour=5, minute=59))
    assert not window.contains((saturday + timedelta(days=1)).replace(hour=6))
    assert not window.contains((saturday - timedelta(days=1)).replace(hour=23))


@pytest.mark.parametrize(
    "spec",
    [
        "staff",
        "staff=Mon-Fri",
        "staff=Mon-Fri 7-19",
        "staff=Mox 07:00-19:00",
        "=Mon 07:00-08:00",
        "staff=Mon 25:00-26:00",
        "staff=Mon 07:00-07:00",
        "Staff Room=Mon 07:00-08:00",
    ],
)
def test_bad_schedules_are_refused(spec: str) -> None:
    """Malformed schedule specs raise ValueError naming the problem."""
    with pytest.raises(ValueError):
        parse_schedule(spec)


def test_schedule_round_trips() -> None:
    """A window prints in the form it parses from."""
    group, window = parse_schedule("Staff=Fri-Mon 07:30-24:00")
    assert group == "staff"
    assert Window.parse(str(window)) == window
    assert window.days == frozenset({4, 5, 6, 0})


def test_schedule_for_a_group_the_door_does_not_allow_is_refused() -> None:
    """A window for a group outside --allow is a configuration error, not silently ignored."""
    with pytest.raises(ValueError, match="does not allow"):
        DoorRules("d", allow=("staff",), schedules={"visitors": WINDOWS[:1]})


def test_validity_dates_are_inclusive() -> None:
    """valid_until is the last day on which the person may enter."""
    access = PersonAccess(frozenset(), date(2026, 11, 30), date(2026, 11, 30))
    door = DoorRules("d")
    assert admits(door, access, MONDAY.replace(hour=23, minute=59)) == "granted"
    assert admits(door, access, MONDAY + timedelta(days=1)) == "expired"
    assert admits(door, access, MONDAY - timedelta(minutes=1)) == "not_yet_valid"


def test_door_thresholds_follow_the_level() -> None:
    """Stricter levels give smaller thresholds; identify depends on the gallery size."""
    tail = shipped_tail()
    low, high = DoorRules("a", far=0.01), DoorRules("b", far=0.0001)
    assert door_threshold(high, 300, tail, 0.42) < door_threshold(low, 300, tail, 0.42)
    assert door_threshold(low, 300, tail, 0.42) == identify_threshold(300, 0.01, tail, 0.42)
    verify = DoorRules("c", mode="verify", far=0.0001)
    assert door_threshold(verify, 300, tail, 0.42) == pytest.approx(tail.distance_at(0.0001))
    assert door_threshold(DoorRules("e", mode="verify", far=0.5), 1, tail, 0.42) == 0.42


def test_genuine_table_gives_the_false_reject_rate() -> None:
    """frr_at is the share of genuine distances above the threshold; the shipped one is sane."""
    distances = np.linspace(0.1, 0.5, 401)
    table = fit_genuine_table(distances, "linear")
    assert table.frr_at(0.3) == pytest.approx(0.5, abs=0.01)
    assert table.frr_at(0.05) == 1.0 and table.frr_at(0.6) == 0.0
    shipped = shipped_genuine()
    assert shipped is not None and shipped.embedder == "dlib-resnet-v1"
    assert shipped.frr_at(0.30) > shipped.frr_at(0.42) > 0.0
