"""Outputs and the dispatcher, against a real loopback HTTP server and real commands."""

from __future__ import annotations

import json
import socket
import sys
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from facegate import errors
from facegate.actions import (
    CommandOutput,
    Dispatcher,
    MqttOutput,
    Output,
    OutputConfigError,
    OutputError,
    OutputResult,
    WebhookOutput,
    build_dispatcher,
)
from facegate.actions import outputs as outputs_module
from facegate.errors import SettingsError
from facegate.settings import ActionsSettings, load_settings

EVENT = {
    "time": "2024-05-01T08:00:00.000+00:00",
    "door": "front",
    "mode": "identify",
    "decision": "unlock",
    "person": "ada",
    "distance": 0.31,
}


class Recorder:
    """A loopback webhook server that records bodies and fails its first n requests."""

    def __init__(self, fail_first: int = 0) -> None:
        self.fail_first = fail_first
        self.bodies: list[dict] = []
        self.statuses: list[int] = []
        recorder = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                status = 500 if len(recorder.statuses) < recorder.fail_first else 204
                recorder.statuses.append(status)
                if status == 204:
                    recorder.bodies.append(json.loads(body))
                self.send_response(status)
                self.end_headers()

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook?token=secret"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> Recorder:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=5)


@pytest.fixture()
def no_sleep() -> Iterator[list[float]]:
    """Return a list the dispatcher's pauses are recorded in, instead of sleeping."""
    yield []


def closed_port() -> int:
    """Return a loopback port nothing listens on."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_outputs_satisfy_the_protocol() -> None:
    assert isinstance(WebhookOutput("http://127.0.0.1:1/"), Output)
    assert isinstance(CommandOutput([sys.executable, "-c", "pass"]), Output)


def test_webhook_success() -> None:
    with Recorder() as server:
        output = WebhookOutput(server.url, headers={"X-Door": "front"})
        results = Dispatcher([output]).dispatch(EVENT)
    assert results == [OutputResult(name=output.name, ok=True, attempts=1)]
    assert server.bodies == [EVENT]
    assert "secret" not in output.name and "/hook" not in output.name


def test_webhook_floats_are_rounded_as_the_cli_prints_them() -> None:
    """A decision's float noise (0.30999999..., 123.456789 ms) does not reach a door's hub."""
    noisy = EVENT | {"distance": 0.309999994, "latency_ms": 123.456789, "video_s": 1.23456}
    with Recorder() as server:
        Dispatcher([WebhookOutput(server.url)]).dispatch(noisy)
    assert server.bodies == [EVENT | {"distance": 0.31, "latency_ms": 123.5, "video_s": 1.235}]


def test_webhook_retried_after_two_server_errors(no_sleep: list[float]) -> None:
    with Recorder(fail_first=2) as server:
        dispatcher = Dispatcher([WebhookOutput(server.url)], backoff_s=0.1, sleep=no_sleep.append)
        (result,) = dispatcher.dispatch(EVENT)
    assert result.ok and result.attempts == 3 and result.error is None
    assert server.statuses == [500, 500, 204]
    assert server.bodies == [EVENT]
    assert no_sleep == [0.1, 0.2]


def test_webhook_down_reports_error_without_raising(caplog: pytest.LogCaptureFixture) -> None:
    output = WebhookOutput(f"http://127.0.0.1:{closed_port()}/hook", timeout_s=1.0)
    with caplog.at_level("WARNING"):
        (result,) = Dispatcher([output], retries=3, backoff_s=0.01).dispatch(EVENT)
    assert not result.ok
    assert result.attempts == 3
    assert "unreachable" in (result.error or "")
    assert "gave up after 3 tries" in caplog.text


def test_webhook_refuses_non_http_urls() -> None:
    with pytest.raises(ValueError):
        WebhookOutput("file:///etc/passwd")


def test_command_gets_event_on_stdin_and_env(tmp_path: Path) -> None:
    target = tmp_path / "event.json"
    script = (
        "import os, sys, json, pathlib; data = json.load(sys.stdin);"
        "data['env'] = [os.environ[k] for k in"
        " ('FACEGATE_DECISION', 'FACEGATE_PERSON', 'FACEGATE_DOOR')];"
        "pathlib.Path(sys.argv[1]).write_text(json.dumps(data))"
    )
    output = CommandOutput([sys.executable, "-c", script, str(target)], timeout_s=30)
    (result,) = Dispatcher([output]).dispatch(EVENT)
    assert result.ok, result.error
    written = json.loads(target.read_text())
    assert written.pop("env") == ["unlock", "ada", "front"]
    assert written == EVENT


def test_command_person_none_is_empty_variable(tmp_path: Path) -> None:
    target = tmp_path / "person.txt"
    script = "import os, sys; open(sys.argv[1], 'w').write(repr(os.environ['FACEGATE_PERSON']))"
    output = CommandOutput([sys.executable, "-c", script, str(target)], timeout_s=30)
    output.send({**EVENT, "person": None, "decision": "deny"})
    assert target.read_text() == "''"


def test_failing_command_is_retried_and_reported(tmp_path: Path, no_sleep: list[float]) -> None:
    counter = tmp_path / "runs.txt"
    script = (
        "import sys; f = open(sys.argv[1], 'a'); f.write('x'); f.close();"
        "sys.stderr.write('relay offline'); sys.exit(3)"
    )
    output = CommandOutput([sys.executable, "-c", script, str(counter)], timeout_s=30)
    (result,) = Dispatcher([output], retries=3, sleep=no_sleep.append).dispatch(EVENT)
    assert not result.ok and result.attempts == 3
    assert "exited 3" in (result.error or "") and "relay offline" in (result.error or "")
    assert counter.read_text() == "xxx"
    assert len(no_sleep) == 2


def test_missing_command_and_timeout_are_reported(no_sleep: list[float]) -> None:
    missing = CommandOutput(["/nonexistent/facegate-relay"])
    slow = CommandOutput([sys.executable, "-c", "import time; time.sleep(10)"], timeout_s=0.5)
    results = Dispatcher([missing, slow], retries=1, sleep=no_sleep.append).dispatch(EVENT)
    assert [r.ok for r in results] == [False, False]
    assert "could not start" in (results[0].error or "")
    assert "timed out" in (results[1].error or "")


def test_one_failing_output_does_not_stop_the_others(no_sleep: list[float]) -> None:
    class Broken:
        name = "broken"

        def send(self, event: object) -> None:
            raise RuntimeError("boom")

    with Recorder() as server:
        dispatcher = Dispatcher([Broken(), WebhookOutput(server.url)], sleep=no_sleep.append)
        results = dispatcher.dispatch(EVENT)
    assert results[0] == OutputResult(name="broken", ok=False, attempts=3, error="boom")
    assert results[1].ok
    assert server.bodies == [EVENT]


def test_command_argv_must_be_a_list() -> None:
    with pytest.raises(ValueError):
        CommandOutput("echo hi")  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        CommandOutput([])


def test_output_error_is_typed() -> None:
    assert OutputError("x").code == "output_failed"
    assert OutputError is errors.OutputError is outputs_module.OutputError
    with pytest.raises(OutputConfigError) as caught:
        WebhookOutput("ftp://example.org/")
    assert caught.value.code == "bad_output" and isinstance(caught.value, ValueError)


def test_actions_settings_from_toml_and_env(tmp_path: Path) -> None:
    config = tmp_path / "facegate.toml"
    config.write_text(
        '[actions]\nwebhooks = ["http://a.lan/hook"]\nmqtt = "mqtt://broker.lan"\nretries = 5\n'
    )
    env = {"FACEGATE_ACTIONS__WEBHOOKS": "http://b.lan/1 http://c.lan/2"}
    actions = load_settings(config, environ=env).actions
    assert actions.webhooks == ("http://b.lan/1", "http://c.lan/2")
    assert (actions.mqtt, actions.mqtt_prefix, actions.retries) == (
        "mqtt://broker.lan",
        "facegate",
        5,
    )
    assert load_settings(environ={}).actions == ActionsSettings()
    with pytest.raises(SettingsError, match="retries"):
        load_settings(environ={"FACEGATE_ACTIONS__RETRIES": "0"})
    with pytest.raises(SettingsError, match="mqtt_url"):
        load_settings(environ={"FACEGATE_ACTIONS__MQTT_URL": "mqtt://x"})


def test_build_dispatcher_adds_webhooks_and_overrides_mqtt_and_command() -> None:
    settings = ActionsSettings(
        webhooks=("http://a.lan/hook",),
        mqtt="mqtt://settings.lan",
        mqtt_prefix="site",
        command="relay --pulse",
        timeout_s=0.5,
        retries=4,
        backoff_s=0.0,
    )
    dispatcher = build_dispatcher(
        settings, ["http://a.lan/hook", "http://b.lan/hook"], "mqtt://flag.lan:1884", "beep 'a b'"
    )
    assert [o.name for o in dispatcher.outputs] == [
        "webhook:a.lan:http",
        "webhook:b.lan:http",
        "mqtt:flag.lan:1884",
        "command:beep",
    ]
    assert all(o.timeout_s == 0.5 for o in dispatcher.outputs)  # type: ignore[attr-defined]
    mqtt, command = dispatcher.outputs[2:]
    assert isinstance(mqtt, MqttOutput) and mqtt.topics("front")[0] == "site/front/decision"
    assert isinstance(command, CommandOutput) and command.argv == ["beep", "a b"]
    assert (dispatcher.retries, dispatcher.backoff_s) == (4, 0.0)
    kept = build_dispatcher(settings)
    assert [o.name for o in kept.outputs] == [
        "webhook:a.lan:http",
        "mqtt:settings.lan:1883",
        "command:relay",
    ]
    assert build_dispatcher(ActionsSettings()).outputs == []


def test_build_dispatcher_refuses_bad_urls() -> None:
    with pytest.raises(OutputConfigError, match="needs mqtt://"):
        build_dispatcher(ActionsSettings(mqtt="tcp://broker"))
    with pytest.raises(OutputConfigError, match="webhook"):
        build_dispatcher(ActionsSettings(), webhooks=["broker.lan/hook"])
