"""Event crops in a real headless chromium: the polled events table shows a new event's face."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from service_server import TEST_CONFIG, Server, running_server
from test_event_crops import _event
from test_ui_browser import Visit, browser  # noqa: F401 (browser: the module's chromium fixture)

from facegate.monitor.crops import crop_jpeg, open_crop_store
from facegate.monitor.events import EventLog

CROPS_CONFIG = (
    TEST_CONFIG + "\n[ui]\npoll_seconds = 0.5\n[crops]\nenabled = true\nretention_days = 1\n"
)


@pytest.fixture
def visit(browser: object, tmp_path: Path) -> Iterator[Visit]:  # noqa: F811
    """Return a browser context on a fresh service with crops on."""
    with running_server(tmp_path, CROPS_CONFIG) as server:
        opened = Visit(browser, server, {"width": 1280, "height": 800})
        yield opened
        opened.context.close()


def _log_with_crop(server: Server) -> int:
    """Log one event with a crop, as a camera loop on the same database does; return its id."""
    with EventLog(server.db) as log, open_crop_store(server.db) as store:
        event_id = log.append(_event("Crop Person"))
        store.add(event_id, time.time(), crop_jpeg(np.full((150, 150, 3), 200, np.uint8), 150, 80))
    return event_id


def test_a_polled_event_shows_its_crop_loaded_with_the_session(visit: Visit) -> None:
    visit.login("read")
    visit.page.goto("/ui/events")
    visit.page.evaluate("window.notReloaded = true")
    event_id = _log_with_crop(visit.server)
    image = visit.page.locator(f'#events img.crop[src="/ui/events/{event_id}/crop"]')
    image.wait_for()
    visit.wait_until("document.querySelector('#events img.crop').naturalWidth === 150")
    assert visit.page.evaluate("window.notReloaded") is True
    assert any(url.endswith(f"/ui/events/{event_id}/crop") for url in visit.requests)
