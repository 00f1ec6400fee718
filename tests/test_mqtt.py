"""MQTT output against a real mosquitto broker on a free loopback port (skipped without one)."""

from __future__ import annotations

import json
import os
import pwd
import shutil
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import paho.mqtt.client as mqtt
import pytest

from facegate.actions import (
    Dispatcher,
    MqttAlarmOutput,
    MqttOutput,
    MqttTarget,
    OutputConfigError,
    OutputError,
    parse_mqtt_url,
)
from facegate.json_out import rounded
from facegate.settings import load_settings

MOSQUITTO = shutil.which("mosquitto", path=f"{os.environ.get('PATH', '')}:/usr/sbin:/sbin")
PASSWD = shutil.which("mosquitto_passwd", path=f"{os.environ.get('PATH', '')}:/usr/bin")
pytestmark = pytest.mark.skipif(
    MOSQUITTO is None,
    reason="mosquitto not installed (scripts/system-deps.sh installs it; make test runs that)",
)
WAIT_S = 10.0

EVENT = {
    "time": "2024-05-01T08:00:00.000+00:00",
    "door": "front",
    "mode": "identify",
    "decision": "unlock",
    "person": "ada",
    "distance": 0.31,
}


def free_port() -> int:
    """Return a loopback port nothing listens on."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Broker:
    """A mosquitto process on a loopback port; stop() and start() again keep the port."""

    def __init__(self, folder: Path, password_file: Path | None = None) -> None:
        self.port = free_port()
        self.config = folder / "mosquitto.conf"
        # Run as whoever runs the tests (as root, mosquitto would switch to its own user, which
        # cannot read files in pytest's private temporary folders).
        lines = [f"listener {self.port} 127.0.0.1", f"user {pwd.getpwuid(os.getuid()).pw_name}"]
        if password_file is None:
            lines.append("allow_anonymous true")
        else:
            lines += ["allow_anonymous false", f"password_file {password_file}"]
        self.config.write_text("\n".join(lines) + "\n")
        self.log = folder / "mosquitto.log"
        self.url = f"mqtt://127.0.0.1:{self.port}"
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        """Start mosquitto and wait until it accepts connections."""
        assert MOSQUITTO is not None
        with self.log.open("ab") as log:
            self.process = subprocess.Popen(
                [MOSQUITTO, "-c", str(self.config)], stdout=log, stderr=subprocess.STDOUT
            )
        deadline = time.monotonic() + WAIT_S
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"mosquitto exited: {self.log.read_text()}")
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.2).close()
                return
            except OSError:
                time.sleep(0.05)
        raise RuntimeError(f"mosquitto did not listen on {self.port} within {WAIT_S} s")

    def stop(self) -> None:
        """Stop mosquitto and wait for it to exit."""
        if self.process is not None:
            self.process.terminate()
            self.process.wait(timeout=WAIT_S)
        self.process = None


class Subscriber:
    """A paho client that records every message under a topic filter."""

    def __init__(self, broker: Broker, topic: str = "#") -> None:
        self.messages: list[mqtt.MQTTMessage] = []
        self._arrived = threading.Condition()
        self._subscribed = threading.Event()
        self.client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2)
        self.client.on_connect = lambda c, *_: c.subscribe(topic, qos=1)
        self.client.on_subscribe = lambda *_: self._subscribed.set()
        self.client.on_message = self._on_message
        self.client.connect("127.0.0.1", broker.port)
        self.client.loop_start()
        assert self._subscribed.wait(WAIT_S), "subscription not acknowledged"

    def _on_message(self, _client: object, _userdata: object, message: mqtt.MQTTMessage) -> None:
        with self._arrived:
            self.messages.append(message)
            self._arrived.notify_all()

    def wait_for(self, count: int) -> list[mqtt.MQTTMessage]:
        """Return the messages once at least count arrived (or what came within WAIT_S)."""
        with self._arrived:
            self._arrived.wait_for(lambda: len(self.messages) >= count, timeout=WAIT_S)
            return list(self.messages)

    def close(self) -> None:
        """Disconnect and stop the network thread."""
        self.client.disconnect()
        self.client.loop_stop()


@pytest.fixture()
def broker(tmp_path: Path) -> Iterator[Broker]:
    """Return a running anonymous broker, stopped at the end of the test."""
    server = Broker(tmp_path)
    server.start()
    yield server
    server.stop()


@pytest.fixture()
def subscribe(broker: Broker) -> Iterator[type[Subscriber]]:
    """Return a Subscriber factory whose subscribers are closed at the end of the test."""
    made: list[Subscriber] = []

    def factory(topic: str = "#") -> Subscriber:
        made.append(Subscriber(broker, topic))
        return made[-1]

    yield factory  # type: ignore[misc]
    for subscriber in made:
        subscriber.close()


def test_decision_json_and_retained_state(broker: Broker, subscribe: type[Subscriber]) -> None:
    live = subscribe()
    MqttOutput(broker.url).send(EVENT)
    decision, state = sorted(live.wait_for(2), key=lambda m: m.topic)
    assert decision.topic == "facegate/front/decision"
    assert json.loads(decision.payload) == EVENT
    assert (decision.qos, decision.retain) == (1, False)
    assert (state.topic, state.payload) == ("facegate/front/state", b"unlock")
    # A client subscribing later (Home Assistant after a restart) gets the state, not the
    # decision: retained messages come right after the subscription, before the marker.
    late = subscribe("facegate/#")
    late.client.publish("facegate/marker", b"", qos=1)
    assert [(m.topic, m.payload, m.retain) for m in late.wait_for(2)] == [
        ("facegate/front/state", b"unlock", True),
        ("facegate/marker", b"", False),
    ]


def test_prefix_from_url_else_default(broker: Broker, subscribe: type[Subscriber]) -> None:
    live = subscribe()
    MqttOutput(f"{broker.url}/site/b2/", default_prefix="ignored").send(EVENT)
    MqttOutput(broker.url, default_prefix="hall").send({**EVENT, "decision": "deny"})
    topics = sorted(m.topic for m in live.wait_for(4))
    assert topics == [
        "hall/front/decision",
        "hall/front/state",
        "site/b2/front/decision",
        "site/b2/front/state",
    ]


def test_broker_down_is_retried_and_logged_then_back(
    broker: Broker, caplog: pytest.LogCaptureFixture
) -> None:
    output = MqttOutput(broker.url, timeout_s=1.0)
    dispatcher = Dispatcher([output], retries=2, backoff_s=0.01)
    broker.stop()
    with caplog.at_level("WARNING"):
        (result,) = dispatcher.dispatch(EVENT)
    assert not result.ok and result.attempts == 2
    assert "unreachable" in (result.error or "")
    assert "failed (try 1 of 2)" in caplog.text and "gave up after 2 tries" in caplog.text

    broker.start()
    live = Subscriber(broker, "facegate/front/decision")
    try:
        (result,) = dispatcher.dispatch({**EVENT, "person": "grace"})
        assert result.ok and result.attempts == 1
        (message,) = live.wait_for(1)
    finally:
        live.close()
    assert json.loads(message.payload)["person"] == "grace"


def test_silent_broker_times_out() -> None:
    with socket.socket() as silent:  # accepts TCP connections, never answers MQTT
        silent.bind(("127.0.0.1", 0))
        silent.listen()
        output = MqttOutput(f"mqtt://127.0.0.1:{silent.getsockname()[1]}", timeout_s=0.3)
        start = time.monotonic()
        with pytest.raises(OutputError, match=r"no answer to connect within 0\.3 s"):
            output.send(EVENT)
    assert time.monotonic() - start < 2.0


@pytest.mark.skipif(PASSWD is None, reason="mosquitto_passwd not installed")
def test_credentials_from_url(tmp_path: Path) -> None:
    passwords = tmp_path / "passwd"
    assert PASSWD is not None
    subprocess.run([PASSWD, "-b", "-c", str(passwords), "door@lab", "s3cr:t"], check=True)
    passwords.chmod(0o600)
    server = Broker(tmp_path, password_file=passwords)
    server.start()
    try:
        anonymous = MqttOutput(server.url, timeout_s=2.0)
        with pytest.raises(OutputError, match="refused the connection: Not authorized"):
            anonymous.send(EVENT)
        authorised = MqttOutput(f"mqtt://door%40lab:s3cr%3At@127.0.0.1:{server.port}")
        authorised.send(EVENT)
        assert "s3cr" not in authorised.name and "door" not in authorised.name
    finally:
        server.stop()


def test_url_parsing() -> None:
    assert parse_mqtt_url("mqtt://u%40x:p%3As@broker.lan:1884/home/facegate/") == MqttTarget(
        host="broker.lan", port=1884, prefix="home/facegate", username="u@x", password="p:s"
    )
    assert parse_mqtt_url("mqtt://broker") == MqttTarget("broker", 1883, "facegate")
    assert parse_mqtt_url("mqtt://broker", default_prefix="/x/") == MqttTarget("broker", 1883, "x")


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("http://broker/facegate", "needs mqtt://"),
        ("mqtt://", "needs mqtt://"),
        ("broker:1883", "needs mqtt://"),
        ("mqtt://broker:99999", "bad port"),
        ("mqtt://broker:x", "bad port"),
        ("mqtt://broker/a/+/b", "cannot be used in an MQTT topic"),
        ("mqtt://broker/a//b", "cannot be used in an MQTT topic"),
        ("mqtt://broker?qos=2", "no query"),
        ("mqtt://user:hunter2@broker:99999", "bad port"),
    ],
)
def test_bad_url_is_a_clear_error(url: str, message: str) -> None:
    with pytest.raises(OutputConfigError, match=message) as caught:
        MqttOutput(url)
    assert caught.value.code == "bad_output" and isinstance(caught.value, ValueError)
    assert "hunter2" not in str(caught.value)


def test_door_that_is_no_topic_level_is_refused() -> None:
    output = MqttOutput("mqtt://127.0.0.1:1")
    for door in ("a/b", "#", "lab+1", ""):
        with pytest.raises(OutputConfigError, match="cannot be used in an MQTT topic"):
            output.send({**EVENT, "door": door})


def test_run_publishes_decisions(
    broker: Broker, subscribe: type[Subscriber], tmp_path: Path
) -> None:
    from facegate import api
    from facegate.demo import enroll_scene_people
    from facegate.stream.scene import SceneSegment, demo_scene, write_video

    frames = demo_scene(
        segments=(SceneSegment("street", 1.0), SceneSegment("walk", 3.0, "Eileen Collins"))
    )
    video = tmp_path / "walk.mp4"
    write_video((f.image for f in frames), video)
    db = tmp_path / "g.db"
    settings = load_settings(environ={})
    with api.open_gallery(db, settings) as gallery:
        enroll_scene_people(gallery, tmp_path, settings)
    live = subscribe()
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("FACEGATE_")},
        "FACEGATE_ACTIONS__MQTT_PREFIX": "site",
    }
    args = ["--source", video, "--door", "lab", "--db", db, "--mqtt", broker.url]
    result = subprocess.run(
        [sys.executable, "-m", "facegate", "run", "--json", *map(str, args)],
        capture_output=True,
        text=True,
        env=env,
        timeout=600,
    )
    assert result.returncode == 0, result.stderr
    (event,) = [json.loads(line) for line in result.stdout.splitlines() if line.strip()]
    assert (event["decision"], event["person"]) == ("unlock", "Eileen Collins")
    messages = {m.topic: m.payload for m in live.wait_for(2)}
    # the same event, which `run --json` prints with its floats rounded (facegate.json_out)
    assert rounded(json.loads(messages["site/lab/decision"])) == event
    assert messages["site/lab/state"] == b"unlock"


def test_alarm_json_and_retained_on_off(broker: Broker, subscribe: type[Subscriber]) -> None:
    live = subscribe()
    output = MqttAlarmOutput(broker.url)
    alarm = {"type": "alarm", "alarm": "unknown_rate", "door": "front", "value": 0.5}
    output.send(alarm)
    output.send({"type": "alarm", "alarm": "faces_per_hour", "door": None})
    output.send({**alarm, "type": "recovery"})
    got = [(m.topic, m.payload, m.retain) for m in live.wait_for(6)]
    assert got[:2] == [
        ("facegate/alarm/front/unknown_rate", json.dumps(alarm, sort_keys=True).encode(), False),
        ("facegate/alarm/front/unknown_rate/state", b"ON", False),
    ]
    assert ("facegate/alarm/all/faces_per_hour/state", b"ON", False) in got
    assert got[-1] == ("facegate/alarm/front/unknown_rate/state", b"OFF", False)
    late = subscribe("facegate/alarm/#")
    late.client.publish("facegate/alarm/marker", b"", qos=1)
    retained = {(m.topic, m.payload) for m in late.wait_for(3) if m.retain}
    assert retained == {
        ("facegate/alarm/front/unknown_rate/state", b"OFF"),
        ("facegate/alarm/all/faces_per_hour/state", b"ON"),
    }
