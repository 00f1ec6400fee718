"""What a decision does outside: webhook, MQTT, command; sent by a retrying dispatcher."""

from facegate.actions.build import build_alarm_dispatcher, build_dispatcher
from facegate.actions.mqtt import MqttAlarmOutput, MqttOutput, MqttTarget, parse_mqtt_url
from facegate.actions.outputs import (
    CommandOutput,
    Dispatcher,
    LogOutput,
    Output,
    OutputResult,
    WebhookOutput,
)
from facegate.errors import OutputConfigError, OutputError

__all__ = [
    "CommandOutput",
    "Dispatcher",
    "LogOutput",
    "MqttAlarmOutput",
    "MqttOutput",
    "MqttTarget",
    "Output",
    "OutputConfigError",
    "OutputError",
    "OutputResult",
    "WebhookOutput",
    "build_alarm_dispatcher",
    "build_dispatcher",
    "parse_mqtt_url",
]
