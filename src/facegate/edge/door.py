"""Running an edge door: the access loop at the door, every decision made by the centre."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

from facegate.access_event import AccessEvent
from facegate.actions import build_dispatcher
from facegate.actions.outbox import Outbox
from facegate.door import run_loop
from facegate.edge.client import CentreClient
from facegate.edge.outbox import EdgeOutbox, default_outbox_path
from facegate.edge.ruler import CentreRuler
from facegate.errors import SettingsError
from facegate.settings import Settings
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

    with (
        CentreClient(url, token, settings.edge.timeout_seconds) as client,
        EdgeOutbox(outbox_path) as outbox,
    ):
        ruler = CentreRuler(client, outbox, settings.edge.retry_seconds)
        try:
            frames = open_source(source, settings.source, realtime=realtime)
            loop = AccessLoop(settings, None, act, remote=ruler)
            return run_loop(frames, loop, max_seconds)
        finally:
            ruler.close()
            sender.close()
