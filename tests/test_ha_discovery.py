"""Home Assistant MQTT discovery against a real mosquitto: configs, state, availability, removal."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import paho.mqtt.client as mqtt
import pytest
from fastapi.testclient import TestClient
from test_mqtt import MOSQUITTO, WAIT_S, Broker, Subscriber, free_port

from facegate.access_event import AccessEvent
from facegate.actions.ha_discovery import DoorPresence, forget_door, object_id
from facegate.door import run_door
from facegate.service.app import create_app
from facegate.service.keys import KeyStore
from facegate.settings import Settings, load_settings

pytestmark = pytest.mark.skipif(
    MOSQUITTO is None, reason="mosquitto not installed (scripts/system-deps.sh installs it)"
)
ENTITIES = {"binary_sensor": ["access"], "sensor": ["decision", "person", "reason"]}


@pytest.fixture()
def broker(tmp_path: Path) -> Iterator[Broker]:
    """Return a running anonymous broker, stopped at the end of the test."""
    server = Broker(tmp_path)
    server.start()
    yield server
    server.stop()


def ha_settings(broker: Broker) -> Settings:
    """Return settings with MQTT to the broker and discovery on."""
    return load_settings(
        environ={},
        actions={"mqtt": broker.url, "timeout_s": 3.0},
        home_assistant={"discovery": True},
    )


def retained(broker: Broker, prefix: str = "") -> dict[str, bytes]:
    """Return what the broker keeps retained (topics starting with prefix), read as a late
    subscriber does: retained messages arrive before a marker published after subscribing."""
    late = Subscriber(broker, "#")
    try:
        late.client.publish("zz-marker", b"", qos=1)
        for _ in range(100):
            if any(m.topic == "zz-marker" for m in late.messages):
                break
            late.wait_for(len(late.messages) + 1)
        else:
            raise AssertionError("the marker never came back")
        return {
            m.topic: m.payload for m in late.messages if m.retain and m.topic.startswith(prefix)
        }
    finally:
        late.close()


def config_topics(door: str) -> list[str]:
    """Return the discovery config topics of a door."""
    node = object_id(door)
    return [
        f"homeassistant/{component}/{node}/{entity}/config"
        for component, entities in ENTITIES.items()
        for entity in entities
    ]


def test_node_ids_are_safe_and_distinct() -> None:
    assert object_id("front") == "facegate_front"
    spaced, underscored = object_id("front door"), object_id("front_door")
    assert spaced.startswith("facegate_front_door_") and spaced != underscored
    assert object_id("hall.2") != object_id("hall_2")


def test_a_running_door_announces_itself_and_its_state_follows_decisions(
    broker: Broker, tmp_path: Path
) -> None:
    settings = ha_settings(broker)
    live = Subscriber(broker, "#")
    printed: list[AccessEvent] = []
    # the demo scene: Eileen Collins walks up and is let in a few seconds in
    run_door(settings, None, None, None, ((), None, None), printed.append, max_seconds=6.0)
    live.close()
    assert [e.decision for e in printed] == ["unlock"]
    kept = retained(broker)
    assert sorted(t for t in kept if t.startswith("homeassistant/")) == sorted(
        config_topics("main")
    )
    configs = {t: json.loads(kept[t]) for t in config_topics("main")}
    for config in configs.values():
        assert config["availability_topic"] == "facegate/main/availability"
        assert config["device"]["identifiers"] == ["facegate_main"]
        assert config["unique_id"].startswith("facegate_main_")
    access = configs["homeassistant/binary_sensor/facegate_main/access/config"]
    assert access["state_topic"] == "facegate/main/state" and access["device_class"] == "lock"
    person = configs["homeassistant/sensor/facegate_main/person/config"]
    assert person["state_topic"] == "facegate/main/decision"
    assert "value_json.person" in person["value_template"]
    # the state topic the entities read was updated by the decision; the door is offline now
    assert kept["facegate/main/state"] == b"unlock"
    assert kept["facegate/main/availability"] == b"offline"
    order = [(m.topic, m.payload) for m in live.messages]
    online = order.index(("facegate/main/availability", b"online"))
    decision = next(i for i, (t, _) in enumerate(order) if t == "facegate/main/decision")
    assert online < decision < order.index(("facegate/main/availability", b"offline"))
    event = json.loads(order[decision][1])
    assert (event["person"], event["reason"]) == ("Eileen Collins", "granted")


def test_a_door_that_dies_is_marked_offline_by_its_last_will(broker: Broker) -> None:
    code = (
        "import os, sys; from facegate.actions.ha_discovery import DoorPresence;"
        "from facegate.settings import load_settings;"
        f"s = load_settings(environ={{}}, actions={{'mqtt': '{broker.url}'}},"
        " home_assistant={'discovery': True});"
        "p = DoorPresence(s.actions.mqtt, 'lab', s); p.announced.wait(10);"
        "print('up', flush=True); sys.stdin.read()"
    )
    child = subprocess.Popen(
        [sys.executable, "-c", code], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    )
    assert child.stdout is not None and child.stdout.readline() == "up\n"
    assert retained(broker, "facegate/")["facegate/lab/availability"] == b"online"
    child.send_signal(signal.SIGKILL)
    child.wait(WAIT_S)
    watcher = Subscriber(broker, "facegate/lab/availability")
    try:
        assert any(m.payload == b"offline" for m in watcher.wait_for(1))
    finally:
        watcher.close()


def announce(broker: Broker, door: str) -> None:
    """Announce a door and stop it, as a run that ended would leave it."""
    presence = DoorPresence(broker.url, door, ha_settings(broker))
    assert presence.announced.wait(WAIT_S)
    client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2)
    client.connect("127.0.0.1", broker.port)
    client.loop_start()
    client.publish(f"facegate/{door}/state", b"deny", qos=1, retain=True).wait_for_publish(WAIT_S)
    client.disconnect()
    client.loop_stop()
    presence.close()
    assert set(config_topics(door)) <= set(retained(broker))


def facegate(*args: str | Path, config: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("FACEGATE_")}
    command = [sys.executable, "-m", "facegate", *map(str, args), "--config", str(config)]
    return subprocess.run(command, capture_output=True, text=True, env=env, timeout=120)


def test_doors_remove_deletes_the_door_from_home_assistant(broker: Broker, tmp_path: Path) -> None:
    config = tmp_path / "facegate.toml"
    config.write_text(f'[actions]\nmqtt = "{broker.url}"\n[home_assistant]\ndiscovery = true\n')
    db = tmp_path / "g.db"
    assert facegate("doors", "add", "lab", "--db", db, config=config).returncode == 0
    announce(broker, "lab")
    announce(broker, "hall")
    removed = facegate("doors", "remove", "lab", "--db", db, config=config)
    assert removed.returncode == 0, removed.stderr
    kept = retained(broker)
    assert not [t for t in kept if "facegate_lab" in t or t.startswith("facegate/lab/")]
    assert set(config_topics("hall")) <= set(kept)  # the other door stays announced


def test_http_door_removal_deletes_it_too(broker: Broker, tmp_path: Path) -> None:
    db = tmp_path / "g.db"
    with KeyStore(db) as keys:
        _, token = keys.create("admin", ["admin"])
    app = create_app(ha_settings(broker), db)
    with TestClient(app, headers={"Authorization": f"Bearer {token}"}) as client:
        assert client.put("/v1/doors/lab", json={"level": "standard"}).status_code == 200
        announce(broker, "lab")
        assert client.delete("/v1/doors/lab").status_code == 200
    assert not [t for t in retained(broker) if "facegate_lab" in t or "facegate/lab/" in t]


def test_broker_down_at_removal_is_a_warning_not_a_failure(tmp_path: Path) -> None:
    down = f"mqtt://127.0.0.1:{free_port()}"
    settings = load_settings(
        environ={}, actions={"mqtt": down, "timeout_s": 1.0}, home_assistant={"timeout_s": 1.0}
    )
    assert forget_door(settings, "lab") is None  # discovery off: nothing to remove
    on = settings.model_copy(
        update={"home_assistant": settings.home_assistant.model_copy(update={"discovery": True})}
    )
    warning = forget_door(on, "lab")
    assert warning is not None and "door 'lab' not removed" in warning and "unreachable" in warning
    config = tmp_path / "facegate.toml"
    config.write_text(f'[actions]\nmqtt = "{down}"\n[home_assistant]\ndiscovery = true\n')
    db = tmp_path / "g.db"
    assert facegate("doors", "add", "lab", "--db", db, config=config).returncode == 0
    removed = facegate("doors", "remove", "lab", "--db", db, config=config)
    assert removed.returncode == 0 and "warning: Home Assistant config" in removed.stderr
    listed = facegate("doors", "list", "--json", "--db", db, config=config)
    assert "lab" not in listed.stdout  # the door itself is gone
