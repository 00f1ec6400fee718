"""Home Assistant MQTT discovery: each door announced as one device with four entities.

Config topics (retained, QoS 1), all under `home_assistant.discovery_prefix`:
- `binary_sensor/facegate_<door>/access/config`: on (device class lock: unlocked) when the
  door's last decision was unlock, off after deny or retry;
- `sensor/facegate_<door>/decision/config`: the last decision (unlock, deny, retry);
- `sensor/facegate_<door>/person/config` and `.../reason/config`: who and why, from the
  decision JSON (not retained, so no name stays on the broker: unknown after a restart).
They read the MQTT output's own topics (`<prefix>/<door>/state` and `.../decision`), updated on
every decision, and `<prefix>/<door>/availability`, which a running door holds `online` over its
own connection, with `offline` as the connection's last will. Removing a door publishes empty
retained payloads on its config, availability and state topics, which deletes them.
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
import threading
from collections.abc import Mapping
from typing import Any

import paho.mqtt.client as mqtt
from paho.mqtt.reasoncodes import ReasonCode

from facegate import __version__
from facegate.actions.mqtt import KEEPALIVE_S, QOS, MqttOutput, MqttTarget
from facegate.errors import OutputError
from facegate.settings import HomeAssistantSettings, Settings

log = logging.getLogger(__name__)

ONLINE, OFFLINE = "online", "offline"
# (component, entity, name, topic kind, extra config): what each door shows in Home Assistant.
ENTITIES: tuple[tuple[str, str, str, str, dict[str, str]], ...] = (
    (
        "binary_sensor",
        "access",
        "Access granted",
        "state",
        {"device_class": "lock", "value_template": "{{ 'ON' if value == 'unlock' else 'OFF' }}"},
    ),
    ("sensor", "decision", "Last decision", "state", {"icon": "mdi:door"}),
    (
        "sensor",
        "person",
        "Person",
        "decision",
        {"icon": "mdi:account", "value_template": "{{ value_json.person or 'unknown' }}"},
    ),
    (
        "sensor",
        "reason",
        "Reason",
        "decision",
        {"icon": "mdi:information", "value_template": "{{ value_json.reason }}"},
    ),
)


def object_id(door: str) -> str:
    """Return the door's discovery node id: facegate_<door>, made safe for topic and entity ids.

    Characters other than letters, digits, _ and - become _, and a short hash of the name is
    added then, so "front door" and "front_door" stay two devices.
    """
    safe = re.sub(r"[^A-Za-z0-9_-]", "_", door)
    if safe != door:
        safe += "_" + hashlib.sha256(door.encode("utf-8")).hexdigest()[:8]
    return f"facegate_{safe}"


def availability_topic(output: MqttOutput, door: str) -> str:
    """Return the topic that says whether the door's loop is running."""
    decision, _ = output.topics(door)
    return decision.rsplit("/", 1)[0] + "/availability"


def config_topics(door: str, ha: HomeAssistantSettings) -> list[str]:
    """Return the door's discovery config topics, one per entity."""
    node = object_id(door)
    return [f"{ha.discovery_prefix}/{comp}/{node}/{entity}/config" for comp, entity, *_ in ENTITIES]


def discovery_messages(
    output: MqttOutput, door: str, ha: HomeAssistantSettings
) -> list[tuple[str, bytes]]:
    """Return (config topic, JSON) of each entity of the door."""
    decision, state = output.topics(door)
    source = {"state": state, "decision": decision}
    node = object_id(door)
    device = {
        "identifiers": [node],
        "name": f"facegate {door}",
        "manufacturer": "facegate",
        "model": "face-recognition door",
        "sw_version": __version__,
    }
    messages = []
    for topic, (_comp, entity, name, kind, extra) in zip(
        config_topics(door, ha), ENTITIES, strict=True
    ):
        config = {
            "name": name,
            "unique_id": f"{node}_{entity}",
            "state_topic": source[kind],
            "availability_topic": availability_topic(output, door),
            "payload_available": ONLINE,
            "payload_not_available": OFFLINE,
            "qos": QOS,
            "device": device,
            "origin": {"name": "facegate", "sw_version": __version__},
            **extra,
        }
        messages.append((topic, json.dumps(config, sort_keys=True).encode("utf-8")))
    return messages


class DiscoveryRemoval(MqttOutput):
    """Deletes a door's retained topics (configs, availability, state) with empty payloads."""

    def __init__(self, url: str, settings: Settings) -> None:
        ha = settings.home_assistant
        super().__init__(url, settings.actions.mqtt_prefix, ha.timeout_s)
        self.ha = ha

    def messages(self, event: Mapping[str, Any]) -> list[tuple[str, bytes | str, bool]]:
        """Return an empty retained message for each retained topic of event['door']."""
        door = str(event.get("door", ""))
        _, state = self.topics(door)
        topics = [*config_topics(door, self.ha), availability_topic(self, door), state]
        return [(topic, b"", True) for topic in topics]


class DoorPresence:
    """A running door's own MQTT connection: configs and `online` on each connect, will offline.

    It connects in the background and reconnects by itself, so a broker that is down when the
    door starts, or restarts later, never holds up the loop; `close` publishes `offline`.
    """

    def __init__(self, url: str, door: str, settings: Settings) -> None:
        self.ha = settings.home_assistant
        self.output = MqttOutput(url, settings.actions.mqtt_prefix, self.ha.timeout_s)
        self.door = door
        self.topic = availability_topic(self.output, door)
        self.configs = discovery_messages(self.output, door, self.ha)
        self.announced = threading.Event()
        target: MqttTarget = self.output.target
        self.client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, protocol=mqtt.MQTTv311)
        if target.username is not None:
            self.client.username_pw_set(target.username, target.password)
        self.client.will_set(self.topic, OFFLINE, qos=QOS, retain=True)
        self.client.on_connect = self._on_connect
        self.client.connect_async(target.host, target.port, KEEPALIVE_S)
        self.client.loop_start()

    def _on_connect(
        self, client: mqtt.Client, _u: Any, _f: Any, reason: ReasonCode, _p: Any
    ) -> None:
        """Publish the door's configs, then `online` (retained), after every (re)connect."""
        if reason.is_failure:
            log.warning("%s refused the Home Assistant connection: %s", self.output.name, reason)
            return
        for topic, payload in self.configs:
            client.publish(topic, payload, qos=QOS, retain=True)
        client.publish(self.topic, ONLINE, qos=QOS, retain=True)
        self.announced.set()

    def close(self) -> None:
        """Publish `offline` (retained) when connected, then disconnect and stop the thread."""
        try:
            if self.client.is_connected():
                sent = self.client.publish(self.topic, OFFLINE, qos=QOS, retain=True)
                sent.wait_for_publish(self.ha.timeout_s)
        except (RuntimeError, ValueError) as exc:  # lost meanwhile: the will says offline
            log.warning("%s: door %s not marked offline: %s", self.output.name, self.door, exc)
        finally:
            self.client.disconnect()
            self.client.loop_stop()


def announce_door(settings: Settings, mqtt_url: str | None, door: str) -> DoorPresence | None:
    """Return the door's Home Assistant presence when discovery is on and MQTT is set."""
    url = mqtt_url or settings.actions.mqtt
    if not (settings.home_assistant.discovery and url):
        return None
    return DoorPresence(url, door, settings)


def forget_door(settings: Settings, door: str) -> str | None:
    """Delete the door's discovery topics when discovery is on; return a warning if it failed."""
    url = settings.actions.mqtt
    if not (settings.home_assistant.discovery and url):
        return None
    try:
        DiscoveryRemoval(url, settings).send({"door": door})
    except OutputError as exc:
        return f"Home Assistant config of door {door!r} not removed: {exc}"
    return None
