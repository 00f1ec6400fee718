"""The edge door's copy of its allowed people: fetched on start and periodically, kept on disk.

The file (edge.copy_path, mode 0600, replaced atomically) holds the copy and the door's time it
was fetched; a copy older than edge.copy_max_age_seconds (or from the door's future) is not
used. What it exposes when the door box is stolen: the allowed people's names, groups, dates and
face vectors.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import threading
import time
from collections.abc import Callable
from pathlib import Path

import platformdirs
from pydantic import ValidationError

from facegate.door_copy import DoorCopy, copy_problem
from facegate.edge.client import CentreClient, CentreRefused, CentreUnreachable
from facegate.edge.offline import CopyDecider
from facegate.settings import EdgeSettings
from facegate.vision.model_files import write_atomic

log = logging.getLogger(__name__)


def default_copy_path(door: str) -> Path:
    """Return the default copy file of a door in the user's data directory."""
    return Path(platformdirs.user_data_dir("facegate")) / f"door-copy-{door}.json"


def save_copy(path: Path, copy: DoorCopy, fetched_at: float) -> None:
    """Write the copy and its fetch time to path atomically, readable by its owner only."""
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    data = json.dumps({"fetched_at": fetched_at, "copy": copy.model_dump(mode="json")})
    write_atomic(path, data.encode("utf-8"), mode=0o600)
    folder = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(folder)
    finally:
        os.close(folder)


def load_copy(path: Path) -> tuple[DoorCopy, float] | None:
    """Return the stored copy and its fetch time (None: no file, or one that does not parse)."""
    try:
        data = json.loads(path.read_text())
        return DoorCopy.model_validate(data["copy"]), float(data["fetched_at"])
    except FileNotFoundError:
        return None
    except (OSError, ValueError, KeyError, TypeError, ValidationError) as exc:
        log.warning("door copy %s is unusable (%s): ignored", path, exc)
        return None


class CopyKeeper:
    """Keeps a door's copy fresh from the centre and hands out its decider while it is fresh."""

    def __init__(
        self,
        client: CentreClient,
        door: str,
        model: str,
        settings: EdgeSettings,
        path: Path | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.client = client
        self.door = door
        self.model = model
        self.settings = settings
        self.path = path or default_copy_path(door)
        self.clock = clock
        self._held: tuple[CopyDecider, float] | None = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        stored = load_copy(self.path)
        if stored is not None:
            self._take(*stored)

    def _take(self, copy: DoorCopy, fetched_at: float) -> bool:
        """Hold a copy when the door can decide with it; return whether it was taken."""
        problem = copy_problem(copy, self.door, self.model, self.settings.unit_tolerance)
        decider = None
        try:
            decider = CopyDecider.of(copy) if problem is None else None
        except (ValueError, KeyError) as exc:  # rules or time zone this door cannot read
            problem = f"{type(exc).__name__}: {exc}"
        if decider is None:
            log.error("door copy refused: %s", problem)
            return False
        self._held = (decider, fetched_at)
        return True

    def refresh(self) -> bool:
        """Fetch the copy from the centre, store and hold it; return whether that worked."""
        try:
            answer = self.client.fetch_copy(self.door)
            copy = DoorCopy.model_validate(answer)
        except CentreUnreachable as exc:
            log.warning("door copy of %s not refreshed: centre unreachable (%s)", self.door, exc)
            return False
        except CentreRefused as exc:  # revoked key, copies turned off: stop deciding offline
            log.error("door copy of %s refused, the old one dropped: %s", self.door, exc)
            self._held = None
            with contextlib.suppress(FileNotFoundError):
                self.path.unlink()
            return False
        except ValidationError as exc:
            log.error("door copy of %s not refreshed: %s", self.door, exc)
            return False
        fetched_at = self.clock()
        if not self._take(copy, fetched_at):
            return False
        save_copy(self.path, copy, fetched_at)
        return True

    def level(self) -> str | None:
        """Return the security level of the door's last copy held (fresh or not: the door's
        last known level), None while it holds none."""
        held = self._held
        return held[0].rules.level if held is not None else None

    def decider(self) -> CopyDecider | None:
        """Return the copy's decider while the copy is fresh (None: none, or too old)."""
        held = self._held
        if held is None:
            return None
        age = self.clock() - held[1]
        if not 0.0 <= age <= self.settings.copy_max_age_seconds:
            return None
        return held[0]

    def start(self) -> None:
        """Fetch the copy now, then keep refreshing it on a thread until close()."""
        ok = self.refresh()
        self._thread = threading.Thread(
            target=self._keep, args=(ok,), name="facegate-copy", daemon=True
        )
        self._thread.start()

    def _keep(self, ok: bool) -> None:
        """Refresh every copy_refresh_seconds (after a failure: every retry_seconds)."""
        settings = self.settings
        while not self._stop.wait(settings.copy_refresh_seconds if ok else settings.retry_seconds):
            ok = self.refresh()

    def close(self) -> None:
        """Stop refreshing (the copy stays on disk for the next start)."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
