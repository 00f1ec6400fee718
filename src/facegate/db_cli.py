"""`facegate db`: upgrade a database's schema, or copy a SQLite site into PostgreSQL."""

from __future__ import annotations

from typing import Annotated

import typer

from facegate import cli

db_app = typer.Typer(
    help="Schema upgrades and moving a site between databases.", no_args_is_help=True
)


@db_app.command("upgrade")
def db_upgrade(
    target: Annotated[
        str | None,
        typer.Argument(help="A SQLite file or postgresql:// URL (default: --db / FACEGATE_DB)."),
    ] = None,
    as_json: cli.JsonOpt = False,
    db: cli.DbOpt = None,
    config: cli.ConfigOpt = None,
) -> None:
    """Apply every pending schema migration (each table set on its own), all or nothing."""
    from facegate import api
    from facegate.db_admin import upgrade

    def body() -> int:
        settings = cli._settings(config)
        where = target or db or settings.db or str(api.default_db_path())
        for step in upgrade(where, settings):
            if as_json:
                cli._emit(step.as_dict())
            else:
                cli.console.print(f"{step.table_set}: version {step.before} -> {step.after}")
        return cli.EXIT_OK

    cli._run(as_json, body)


@db_app.command("copy")
def db_copy(
    source: Annotated[str, typer.Argument(help="The SQLite file (or sqlite:///PATH) to copy.")],
    dest: Annotated[str, typer.Argument(help="An empty PostgreSQL database: postgresql://...")],
    as_json: cli.JsonOpt = False,
    config: cli.ConfigOpt = None,
) -> None:
    """Copy people, embeddings, consent, events, event crops and API keys into PostgreSQL, ids kept.

    One transaction: all of it is copied or nothing; a destination with rows is refused.
    """
    from facegate.db_admin import copy_site

    def body() -> int:
        counts = copy_site(source, dest, cli._settings(config))
        if as_json:
            cli._emit({"copied": counts})
        else:
            cli.console.print(", ".join(f"{n} {table}" for table, n in counts.items()) + " copied")
        return cli.EXIT_OK

    cli._run(as_json, body)


@db_app.command("purge-crops")
def db_purge_crops(
    as_json: cli.JsonOpt = False,
    events: cli.EventsOpt = None,
    db: cli.DbOpt = None,
    config: cli.ConfigOpt = None,
) -> None:
    """Delete every event crop past crops.retention_days (e.g. from cron: no camera purges)."""
    from facegate.monitor.crops import CropKeeper, open_crop_store

    def body() -> int:
        settings = cli._settings(config)
        if settings.crops.retention_days is None:
            raise ValueError("crops.retention_days is not set: no crop is ever expired")
        path = cli._events_path(events, db, settings)
        removed = 0
        with open_crop_store(path, settings.postgres) as store:
            keeper = CropKeeper(store, settings.crops)
            while (batch := keeper.purge()) > 0:
                removed += batch
            left = store.count()
        days = settings.crops.retention_days
        if as_json:
            cli._emit({"purged": removed, "left": left, "retention_days": days})
        else:
            cli.console.print(f"purged {removed} crops older than {days:g} days; {left} left")
        return cli.EXIT_OK

    cli._run(as_json, body)
