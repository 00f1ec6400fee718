"""`facegate run --server URL --key KEY`: the options and the edge door's start."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

if TYPE_CHECKING:
    from facegate.access_event import AccessEvent
    from facegate.settings import Settings
    from facegate.stream.loop import LoopStats

ServerOpt = Annotated[
    str | None,
    typer.Option(
        help="Decide at this central `facegate serve` (http(s)://host:port): only each track's "
        "fused template goes there, never an image; unreachable = deny (or, with settings "
        "edge.offline = cache, decide from the door's copy of its allowed people), events "
        "queued on disk (settings edge.*) and delivered when it answers again.",
    ),
]
KeyOpt = Annotated[
    str | None,
    typer.Option(
        help="The door-scope API key for --server (better: settings edge.key, e.g. the "
        "FACEGATE_EDGE__KEY variable, which `ps` does not show).",
    ),
]


def edge_door(
    settings: Settings,
    source: str | None,
    server: str,
    key: str | None,
    local: tuple[str | None, Path | None, str | None],
    outputs: tuple[Sequence[str], str | None, str | None],
    show: Callable[[AccessEvent], None],
    max_seconds: float | None,
    realtime: bool,
) -> LoopStats:
    """Run the door against the centre; refuse the options of a door deciding on its own."""
    from facegate.edge.door import run_edge_door

    named = [
        flag for flag, value in zip(("--db", "--events", "--wake-on"), local, strict=True) if value
    ]
    if named:
        raise ValueError(f"--server decides and logs at the centre: drop {', '.join(named)}")
    stored = settings.edge.key
    token = key or (stored.get_secret_value() if stored is not None else "")
    if not token:
        raise ValueError(
            "--server needs a door key: FACEGATE_EDGE__KEY (settings edge.key) or --key"
        )
    return run_edge_door(settings, source, (server, token), outputs, show, max_seconds, realtime)
