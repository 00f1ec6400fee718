"""Watching the access loop in production: the event log of every decision."""

from facegate.monitor.events import AccessEvent, EventLog, EventLogUnavailableError

__all__ = ["AccessEvent", "EventLog", "EventLogUnavailableError"]
