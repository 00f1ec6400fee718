"""`facegate run --site site.toml`: what the command does with a site file (several cameras)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from rich.console import Console

from facegate.access_event import AccessEvent
from facegate.cli_common import EXIT_OK, EXIT_REJECTED
from facegate.settings import Settings
from facegate.site import load_site, run_site
from facegate.stream.source_text import shown_source

SINGLE_DOOR_OPTIONS = (
    "--source",
    "--door",
    "--events",
    "--webhook",
    "--mqtt",
    "--command",
    "--max-seconds",
    "--realtime",
    "--wake-on",
    "--server",  # a site's doors decide locally; edge doors run one per process
    "--key",
)


def refuse_single_door_options(given: dict[str, object]) -> None:
    """Raise ValueError when a single-door option is given beside --site."""
    named = [option for option, value in given.items() if value not in (None, False, [], ())]
    if named:
        raise ValueError(
            f"--site takes each camera's options from the site file, not {', '.join(named)}"
        )


def run_site_file(
    path: Path, settings: Settings, db: str | None, show: Callable[[AccessEvent], None]
) -> int:
    """Run every camera of the site file; print each door's end; 1 if any camera failed."""
    site = load_site(path)
    results = run_site(site, settings, show, db)
    err = Console(stderr=True, soft_wrap=True)
    for result in results:
        if result.error is not None:
            source = shown_source(result.source)
            err.print(f"facegate: door {result.door} ({source}) failed: {result.error}")
        elif result.stats is not None:
            stats = result.stats
            err.print(
                f"facegate: door {result.door}: {stats.frames} frames, {stats.gated} past the "
                f"gate, {stats.embedded} faces embedded, {stats.decisions} decisions"
            )
    return EXIT_REJECTED if any(r.error is not None for r in results) else EXIT_OK
