"""Watching the access loop in production: the event log of every decision."""

from facegate.access_event import AccessEvent
from facegate.monitor.events import EventLog, EventLogUnavailableError

__all__ = ["AccessEvent", "EventLog", "EventLogUnavailableError"]
