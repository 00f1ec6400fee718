"""`facegate doors ...` and `facegate people set` (registered by cli.py): doors and access."""

from __future__ import annotations

import sys
from datetime import date
from typing import Annotated

import typer
from rich.table import Table

from facegate import api
from facegate.access import default_rules, door_rules
from facegate.actions.ha_discovery import forget_door
from facegate.cli_common import (
    EXIT_OK,
    ConfigOpt,
    DbOpt,
    JsonOpt,
    _emit,
    _existing,
    _run,
    _settings,
    console,
)
from facegate.decide.rules import (
    DoorRules,
    PersonAccess,
    group_name,
)
from facegate.errors import UnknownDoorError
from facegate.gallery.access import AccessStore
from facegate.gallery.types import Gallery
from facegate.settings import Settings
from facegate.stores import access_store_of

doors_app = typer.Typer(
    help="Doors: who may enter (groups, weekly windows), security level, mode, liveness.",
    no_args_is_help=True,
)

AllowOpt = Annotated[
    list[str] | None,
    typer.Option(
        "--allow", help="A group this door admits (repeatable; none = everyone enrolled)."
    ),
]
LevelOpt = Annotated[
    str | None,
    typer.Option(
        "--level",
        help="Security level low|standard|high: its target false-accept rate "
        "(settings doors.*_far); high also asks every matched face at the door's camera to turn "
        "its head to a random side (liveness level high).",
    ),
]
FpirOpt = Annotated[
    float | None,
    typer.Option(
        "--fpir",
        help="A custom target false-accept rate instead of a level (FPIR, or FAR for verify).",
    ),
]
ModeOpt = Annotated[
    str | None, typer.Option("--mode", help="identify (1:N door) or verify (key card + face).")
]
ScheduleOpt = Annotated[
    list[str] | None,
    typer.Option(
        "--schedule",
        help="GROUP=DAYS HH:MM-HH:MM, e.g. 'staff=Mon-Fri 07:00-19:00' (repeatable; site time "
        "zone doors.timezone; a group without one is admitted at any time).",
    ),
]
LivenessOpt = Annotated[
    str | None,
    typer.Option(
        "--liveness",
        help="required (an image without the camera's liveness evidence is refused) or off.",
    ),
]


def _print_door(info: dict[str, object]) -> None:
    """Print one door's rules and operating point."""
    allow = ", ".join(info["allow"]) or "everyone enrolled"  # type: ignore[arg-type]
    console.print(
        f"door [bold]{info['name']}[/] (version {info['version']}): {info['mode']}, "
        f"level {info['level']} (target false-accept {info['far']:g}), liveness {info['liveness']}"
    )
    console.print(f"  admits: {allow}")
    for group, windows in info["schedules"].items():  # type: ignore[union-attr]
        console.print(f"  {group}: {'; '.join(windows)}")
    fa, fr = info["expected_false_accept"], info["expected_false_reject"]
    console.print(
        f"  threshold {info['threshold']:.4f} at {info['gallery_vectors']} enrolled vector(s): "
        f"expected false accepts {'n/a' if fa is None else f'{100 * fa:.3f} %'}, "
        f"false rejects {'n/a' if fr is None else f'{100 * fr:.2f} %'}"
    )


def _stores(
    db: str | None, settings: Settings, create: bool = False
) -> tuple[Gallery, AccessStore]:
    """Return the gallery and the access store beside it (a missing one refused unless create)."""
    gallery = api.open_gallery(db if create else _existing(db, settings), settings)
    return gallery, access_store_of(gallery, settings)


@doors_app.command("add")
def doors_add(
    name: Annotated[str, typer.Argument(help="The door's name (as `run --door` and HTTP use it).")],
    allow: AllowOpt = None,
    level: LevelOpt = None,
    fpir: FpirOpt = None,
    mode: ModeOpt = None,
    schedule: ScheduleOpt = None,
    liveness: LivenessOpt = None,
    as_json: JsonOpt = False,
    db: DbOpt = None,
    config: ConfigOpt = None,
) -> None:
    """Configure a new door; print its threshold and expected error rates."""

    def body() -> int:
        settings = _settings(config)
        rules = door_rules(
            DoorRules(name, far=settings.doors.standard_far),
            settings,
            allow,
            level,
            fpir,
            mode,
            schedule,
            liveness,
        )
        gallery, store = _stores(db, settings, create=True)
        with gallery, store:
            info = api.describe_door(gallery, store, store.add_door(rules), settings)
        _emit(info) if as_json else _print_door(info)
        return EXIT_OK

    _run(as_json, body)


@doors_app.command("set")
def doors_set(
    name: Annotated[str, typer.Argument(help="The configured door to change.")],
    allow: AllowOpt = None,
    level: LevelOpt = None,
    fpir: FpirOpt = None,
    mode: ModeOpt = None,
    schedule: ScheduleOpt = None,
    liveness: LivenessOpt = None,
    as_json: JsonOpt = False,
    db: DbOpt = None,
    config: ConfigOpt = None,
) -> None:
    """Change a door's rules (options given replace those values); its version goes up."""

    def body() -> int:
        settings = _settings(config)
        gallery, store = _stores(db, settings)
        with gallery, store:
            current = store.door(name)
            if current is None:
                raise UnknownDoorError(f"door {name!r} is not configured (use `doors add`)")
            rules = door_rules(current, settings, allow, level, fpir, mode, schedule, liveness)
            info = api.describe_door(gallery, store, store.update_door(rules), settings)
        _emit(info) if as_json else _print_door(info)
        return EXIT_OK

    _run(as_json, body)


@doors_app.command("show")
def doors_show(
    name: Annotated[str, typer.Argument(help="The door.")],
    as_json: JsonOpt = False,
    db: DbOpt = None,
    config: ConfigOpt = None,
) -> None:
    """Show a door's rules, its threshold at today's gallery size and expected error rates."""

    def body() -> int:
        settings = _settings(config)
        gallery, store = _stores(db, settings)
        with gallery, store:
            rules = store.door(name)
            if rules is None:
                unconfigured = default_rules(name, "identify", settings, bool(store.doors()))
                admits = (
                    "refuses everyone (doors.unconfigured)"
                    if unconfigured.closed
                    else "admits everyone enrolled under the global decide settings"
                )
                raise UnknownDoorError(f"door {name!r} is not configured: it {admits}")
            info = api.describe_door(gallery, store, rules, settings)
        _emit(info) if as_json else _print_door(info)
        return EXIT_OK

    _run(as_json, body)


@doors_app.command("list")
def doors_list(as_json: JsonOpt = False, db: DbOpt = None, config: ConfigOpt = None) -> None:
    """List the configured doors."""

    def body() -> int:
        settings = _settings(config)
        gallery, store = _stores(db, settings)
        with gallery, store:
            doors = store.doors()
        if as_json:
            for rules in doors:
                _emit(rules.as_dict())
            return EXIT_OK
        table = Table(
            "door", "mode", "level", "target false-accept", "admits", "liveness", "version"
        )
        for r in doors:
            admits = ", ".join(r.allow) or "everyone enrolled"
            table.add_row(r.name, r.mode, r.level, f"{r.far:g}", admits, r.liveness, str(r.version))
        console.print(table if doors else "no door is configured (every door admits everyone)")
        return EXIT_OK

    _run(as_json, body)


@doors_app.command("remove")
def doors_remove(
    name: Annotated[str, typer.Argument(help="The door.")],
    as_json: JsonOpt = False,
    db: DbOpt = None,
    config: ConfigOpt = None,
) -> None:
    """Remove a door's configuration (the name is then unconfigured: doors.unconfigured)."""

    def body() -> int:
        settings = _settings(config)
        gallery, store = _stores(db, settings)
        with gallery, store:
            rules = store.remove_door(name)
        if as_json:
            _emit({"removed": rules.as_dict()})
        else:
            console.print(f"removed door [bold]{rules.name}[/]")
        if (warning := forget_door(settings, rules.name)) is not None:
            sys.stderr.write(f"facegate: warning: {warning}\n")
        return EXIT_OK

    _run(as_json, body)


def _date(value: str | None, option: str) -> date | None:
    """Return an ISO date, None for 'none', or raise ValueError naming the option."""
    if value is None or value.lower() == "none":
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise ValueError(f"{option} {value!r}: expected a date YYYY-MM-DD or 'none'") from None


def people_set(
    name: Annotated[str, typer.Argument(help="The enrolled person.")],
    group: Annotated[
        list[str] | None,
        typer.Option("--group", help="A group the person belongs to (repeatable; replaces)."),
    ] = None,
    valid_from: Annotated[
        str | None, typer.Option(help="First day of access, YYYY-MM-DD ('none' clears).")
    ] = None,
    valid_until: Annotated[
        str | None,
        typer.Option(help="Last day of access, YYYY-MM-DD, e.g. a visitor's ('none' clears)."),
    ] = None,
    as_json: JsonOpt = False,
    db: DbOpt = None,
    config: ConfigOpt = None,
) -> None:
    """Set a person's groups and validity dates (options left out keep their values)."""

    def body() -> int:
        settings = _settings(config)
        gallery, store = _stores(db, settings)
        with gallery, store:
            person = gallery.get_person(name).name
            current = store.person_access(person)
            access = PersonAccess(
                frozenset(group_name(g) for g in group) if group is not None else current.groups,
                _date(valid_from, "--valid-from") if valid_from is not None else current.valid_from,
                _date(valid_until, "--valid-until")
                if valid_until is not None
                else current.valid_until,
            )
            stored = store.set_person_access(person, access)
        info = {
            "name": person,
            "groups": sorted(stored.groups),
            "valid_from": stored.valid_from,
            "valid_until": stored.valid_until,
        }
        if as_json:
            _emit(info)
        else:
            console.print(
                f"[bold]{person}[/]: groups {', '.join(info['groups']) or '(none)'}; valid "
                f"{stored.valid_from or 'always'} .. {stored.valid_until or 'open-ended'}"
            )
        return EXIT_OK

    _run(as_json, body)
