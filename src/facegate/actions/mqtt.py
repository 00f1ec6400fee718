"""MQTT output: each decision as JSON to <prefix>/<door>/decision, the last kept in .../state.

Topics (Home Assistant style):
- `<prefix>/<door>/decision`: the event JSON (the webhook's body), QoS 1, not retained, so an
  automation triggered by it never fires again when Home Assistant or the broker restarts.
- `<prefix>/<door>/state`: the last decision as a plain word (`unlock`, `deny` or `retry`),
  QoS 1, retained, so a sensor shows it at once after a restart; no name is kept on the broker.

Each send opens its own connection and closes it, like the webhook: a broker that is down costs
one timeout per try and raises (the Dispatcher retries and logs), nothing is queued to be
delivered late (a stale "unlock" would be worse than none), and a broker that comes back
serves the next event.
"""

from __future__ import annotations

import time
import urllib.parse
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import paho.mqtt.client as mqtt
from paho.mqtt.reasoncodes import ReasonCode

from facegate.actions.outputs import DEFAULTS, event_json
from facegate.errors import OutputConfigError, OutputError

DEFAULT_PORT = 1883
QOS = 1
KEEPALIVE_S = 60
NETWORK_POLL_S = 0.05
TOPIC_WILDCARDS = ("+", "#")


@dataclass(frozen=True)
class MqttTarget:
    """Where an MQTT output publishes: broker address, credentials and topic prefix."""

    host: str
    port: int
    prefix: str
    username: str | None = None
    password: str | None = None


def parse_mqtt_url(url: str, default_prefix: str = DEFAULTS.mqtt_prefix) -> MqttTarget:
    """Return the target of mqtt://[user:pass@]host[:port][/prefix]; raise OutputConfigError."""
    parts = urllib.parse.urlsplit(url)
    shown = f"mqtt://{parts.hostname or ''}..." if parts.password else repr(url)
    if parts.scheme != "mqtt" or not parts.hostname:
        raise OutputConfigError(
            f"an MQTT output needs mqtt://[user:pass@]host[:port][/prefix], not {shown}"
        )
    if parts.query or parts.fragment:
        raise OutputConfigError(f"an MQTT URL takes no query or fragment: {shown}")
    try:
        port = parts.port or DEFAULT_PORT
    except ValueError as exc:
        raise OutputConfigError(f"bad port in MQTT URL {shown}: {exc}") from exc
    prefix = parts.path.strip("/") or default_prefix.strip("/")
    _check_topic_part(prefix, "topic prefix", levels=True)
    unquote = urllib.parse.unquote
    return MqttTarget(
        host=parts.hostname,
        port=port,
        prefix=prefix,
        username=None if parts.username is None else unquote(parts.username),
        password=None if parts.password is None else unquote(parts.password),
    )


def _check_topic_part(text: str, what: str, levels: bool) -> None:
    """Raise OutputConfigError unless text fits in an MQTT topic name (levels: may hold '/')."""
    refused = TOPIC_WILDCARDS if levels else (*TOPIC_WILDCARDS, "/")
    if not text or "//" in text or any(char in text for char in refused):
        raise OutputConfigError(f"{what} {text!r} cannot be used in an MQTT topic")


class MqttOutput:
    """Publishes each decision to an MQTT broker (see the module docstring for the topics)."""

    def __init__(
        self,
        url: str,
        default_prefix: str = DEFAULTS.mqtt_prefix,
        timeout_s: float = DEFAULTS.timeout_s,
    ) -> None:
        self.target = parse_mqtt_url(url, default_prefix)
        self.timeout_s = timeout_s
        # The name never holds credentials: it goes into logs.
        self.name = f"mqtt:{self.target.host}:{self.target.port}"

    def topics(self, door: str) -> tuple[str, str]:
        """Return the decision and state topics of a door."""
        _check_topic_part(door, "door", levels=False)
        base = f"{self.target.prefix}/{door}"
        return f"{base}/decision", f"{base}/state"

    def messages(self, event: Mapping[str, Any]) -> list[tuple[str, bytes | str, bool]]:
        """Return (topic, payload, retain) of what one event publishes: decision and state."""
        decision_topic, state_topic = self.topics(str(event.get("door", "")))
        return [
            (decision_topic, event_json(event), False),
            (state_topic, str(event.get("decision")), True),
        ]

    def send(self, event: Mapping[str, Any]) -> None:
        """Connect, publish the event's messages, wait for every ack, disconnect."""
        messages = self.messages(event)
        deadline = time.monotonic() + self.timeout_s
        client = self._client()
        refused: list[str] = []

        def on_connect(_c: Any, _u: Any, _f: Any, reason: ReasonCode, _p: Any) -> None:
            if reason.is_failure:
                refused.append(str(reason))

        client.on_connect = on_connect
        try:
            try:
                client.connect(self.target.host, self.target.port, KEEPALIVE_S)
            except OSError as exc:
                raise OutputError(f"{self.name} unreachable: {exc}") from exc
            self._wait(client, lambda: client.is_connected() or bool(refused), deadline, "connect")
            if refused:
                raise OutputError(f"{self.name} refused the connection: {refused[0]}")
            sent = [
                client.publish(topic, payload, qos=QOS, retain=retain)
                for topic, payload, retain in messages
            ]
            if failed := [m.rc for m in sent if m.rc != mqtt.MQTT_ERR_SUCCESS]:
                raise OutputError(f"{self.name}: publish failed ({mqtt.error_string(failed[0])})")
            self._wait(client, lambda: all(m.is_published() for m in sent), deadline, "publish")
        finally:
            client.disconnect()  # also closes the socket; harmless when never connected

    def _client(self) -> mqtt.Client:
        """Return a new MQTT 3.1.1 client with this output's credentials and connect timeout."""
        client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, protocol=mqtt.MQTTv311)
        client.connect_timeout = self.timeout_s
        if self.target.username is not None:
            client.username_pw_set(self.target.username, self.target.password)
        return client

    def _wait(
        self, client: mqtt.Client, done: Callable[[], bool], deadline: float, step: str
    ) -> None:
        """Run the client's network loop until done() or the deadline; raise OutputError."""
        while not done():
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise OutputError(f"{self.name}: no answer to {step} within {self.timeout_s} s")
            code = client.loop(min(remaining, NETWORK_POLL_S))
            if code != mqtt.MQTT_ERR_SUCCESS and not done():
                raise OutputError(f"{self.name}: connection lost ({mqtt.error_string(code)})")


class MqttAlarmOutput(MqttOutput):
    """Publishes alarms: JSON to <prefix>/alarm/<scope>/<alarm>, ON / OFF retained in .../state.

    The scope is the door, or `all` for all doors together.
    """

    def messages(self, event: Mapping[str, Any]) -> list[tuple[str, bytes | str, bool]]:
        """Return the alarm's JSON message and its retained ON / OFF state."""
        scope = str(event.get("door") or "all")
        alarm = str(event.get("alarm", ""))
        _check_topic_part(scope, "door", levels=False)
        _check_topic_part(alarm, "alarm", levels=False)
        topic = f"{self.target.prefix}/alarm/{scope}/{alarm}"
        state = "ON" if event.get("type") == "alarm" else "OFF"
        return [(topic, event_json(event), False), (f"{topic}/state", state, True)]
