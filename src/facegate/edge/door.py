"""Running an edge door: the access loop at the door, every decision made by the centre."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

from facegate.access_event import AccessEvent
from facegate.actions import build_dispatcher
from facegate.actions.outbox import Outbox
from facegate.door import run_loop
from facegate.edge.client import CentreClient
from facegate.edge.copy_keeper import CopyKeeper
from facegate.edge.outbox import EdgeOutbox, default_outbox_path
from facegate.edge.ruler import CentreRuler
from facegate.errors import SettingsError
from facegate.settings import Settings
from facegate.stream.lockout import Lockout
from facegate.stream.loop import AccessLoop, LoopStats
from facegate.stream.sources import open_source


def run_edge_door(
    settings: Settings,
    source: str | None,
    centre: tuple[str, str],
    outputs: tuple[Sequence[str], str | None, str | None],
    show: Callable[[AccessEvent], None],
    max_seconds: float | None = None,
    realtime: bool = False,
) -> LoopStats:
    """Run one door whose centre (URL, door key) decides each track; return the loop's stats.

    Gate, detection, tracking, best frames and liveness run here; the fused template goes to
    the centre, which logs the event. Outputs (webhook, MQTT, command) act on its answer here.
    With edge.offline = "cache" the door keeps a copy of its allowed people (fetched now and
    every edge.copy_refresh_seconds) and decides from it while the centre is unreachable.
    """
    if settings.select.fusion != "mean_embedding":
        raise SettingsError(
            "run --server sends one fused template: select.fusion must be mean_embedding, "
            f"not {settings.select.fusion}"
        )
    url, token = centre
    webhooks, mqtt, command = outputs
    sender = Outbox(build_dispatcher(settings.actions, webhooks, mqtt, command))
    outbox_path = Path(settings.edge.outbox) if settings.edge.outbox else default_outbox_path()

    def act(event: AccessEvent) -> None:
        show(event)
        sender.send(event.as_dict())

    edge = settings.edge
    with (
        CentreClient(url, token, edge.timeout_seconds) as client,
        EdgeOutbox(outbox_path) as outbox,
    ):
        keeper: CopyKeeper | None = None
        try:
            frames = open_source(source, settings.source, realtime=realtime)
            loop = AccessLoop(settings, None, act, remote=None)
            if edge.offline == "cache":
                path = Path(edge.copy_path) if edge.copy_path else None
                door, model = settings.loop.door, loop.pipeline.embedder.name
                keeper = CopyKeeper(client, door, model, edge, path)
                keeper.start()
                loop.door_level = keeper.level  # a high door's copy: the challenge at the door
            offline = keeper.decider if keeper is not None else None
            doors = settings.doors
            limit = Lockout(doors.rate_limit_failures, doors.rate_limit_window_seconds)
            loop.remote = ruler = CentreRuler(client, outbox, edge.retry_seconds, offline, limit)
            try:
                return run_loop(frames, loop, max_seconds)
            finally:
                ruler.close()
        finally:
            if keeper is not None:
                keeper.close()
            sender.close()
