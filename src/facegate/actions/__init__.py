"""What a decision does outside: webhook, MQTT, command; sent by a retrying dispatcher."""

from facegate.actions.build import build_dispatcher
from facegate.actions.mqtt import MqttOutput, MqttTarget, parse_mqtt_url
from facegate.actions.outputs import (
    CommandOutput,
    Dispatcher,
    Output,
    OutputResult,
    WebhookOutput,
)
from facegate.errors import OutputConfigError, OutputError

__all__ = [
    "CommandOutput",
    "Dispatcher",
    "MqttOutput",
    "MqttTarget",
    "Output",
    "OutputConfigError",
    "OutputError",
    "OutputResult",
    "WebhookOutput",
    "build_dispatcher",
    "parse_mqtt_url",
]
