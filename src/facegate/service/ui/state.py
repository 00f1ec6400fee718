"""What the UI's handlers share: the service's resources, session stores per thread, limits."""

from __future__ import annotations

import threading

from facegate.service.rate_limit import FailureLimiter
from facegate.service.resources import Resources
from facegate.service.ui.sessions import SessionStore, open_session_store


class UiState:
    """The service's resources plus the UI's session store (one connection per thread)."""

    def __init__(self, resources: Resources) -> None:
        self.resources = resources
        self.settings = resources.settings
        ui = resources.settings.ui
        self.logins = FailureLimiter(  # counted in the database: shared by every worker
            resources.failures,
            ui.login_failures,
            ui.login_window_seconds,
            resources.settings.doors.rate_limit_stale_seconds,
            resources.settings.doors.rate_limit_poll_seconds,
        )
        self._local = threading.local()
        self.sessions()  # create the table now, so a bad database fails at start-up

    def sessions(self) -> SessionStore:
        """Return this thread's connection to the session store (beside the API keys)."""
        if not hasattr(self._local, "sessions"):
            self._local.sessions = open_session_store(self.resources.paths.keys, self.settings)
        return self._local.sessions
