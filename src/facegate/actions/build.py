"""Building a door's outputs and their dispatcher from the actions settings (and CLI flags)."""

from __future__ import annotations

import shlex
from collections.abc import Sequence

from facegate.actions.mqtt import MqttAlarmOutput, MqttOutput
from facegate.actions.outputs import CommandOutput, Dispatcher, LogOutput, Output, WebhookOutput
from facegate.settings import ActionsSettings, AlarmsSettings


def build_dispatcher(
    settings: ActionsSettings,
    webhooks: Sequence[str] = (),
    mqtt: str | None = None,
    command: str | None = None,
) -> Dispatcher:
    """Return a dispatcher over the settings' outputs plus webhooks; mqtt and command override."""
    timeout_s = settings.timeout_s
    outputs: list[Output] = [
        WebhookOutput(url, timeout_s) for url in dict.fromkeys((*settings.webhooks, *webhooks))
    ]
    mqtt_url = mqtt or settings.mqtt
    if mqtt_url:
        outputs.append(MqttOutput(mqtt_url, settings.mqtt_prefix, timeout_s))
    argv = shlex.split(command or settings.command or "")
    if argv:
        outputs.append(CommandOutput(argv, timeout_s))
    return Dispatcher(outputs, retries=settings.retries, backoff_s=settings.backoff_s)


def build_alarm_dispatcher(alarms: AlarmsSettings, actions: ActionsSettings) -> Dispatcher:
    """Return a dispatcher over the alarm outputs (timeouts and retries as in actions)."""
    outputs: list[Output] = [WebhookOutput(url, actions.timeout_s) for url in alarms.webhooks]
    if alarms.mqtt:
        outputs.append(MqttAlarmOutput(alarms.mqtt, actions.mqtt_prefix, actions.timeout_s))
    argv = shlex.split(alarms.command or "")
    if argv:
        outputs.append(CommandOutput(argv, actions.timeout_s))
    if alarms.log:
        outputs.append(LogOutput())
    return Dispatcher(outputs, retries=actions.retries, backoff_s=actions.backoff_s)
