"""Choosing the activity gate: the settings' mode -> a pixel, presence or cascade gate."""

from __future__ import annotations

from facegate.settings import GateSettings
from facegate.stream.gate import Gate, OpenGate, PixelChangeGate
from facegate.stream.presence import CascadeGate, PresenceGate


def build_gate(settings: GateSettings) -> Gate:
    """Return the gate that the settings' mode names."""
    if settings.mode == "off":
        return OpenGate()
    if settings.mode == "pixel":
        return PixelChangeGate(settings)
    return PresenceGate(settings) if settings.mode == "presence" else CascadeGate(settings)
