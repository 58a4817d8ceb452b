"""`hallctl mqtt-broker add-keypad` / `rotate-keypad` against a real Mosquitto started from
`write-config`'s files: one keypad's credentials change, the broker reloads (SIGHUP), and the
controller and every other keypad stay connected throughout.
"""

from __future__ import annotations

import json
import shutil
import tempfile
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion

from devices.mqtt_broker.mosquitto import free_port
from firmware_protocols.keypad.keypad_mqtt import KeypadTopic, TopicKind
from tests.conftest import EXAMPLE_CONFIG
from tests.mqtt_helpers import (
    connect_reason,
    mosquitto_on_written_config,
    publish_as,
    require_mosquitto,
    wait_until,
)
from tests.system.test_keypad_broker_setup import hallctl

HALL = "qingshan"


@dataclass
class Broker:
    """A Mosquitto run from written files: where it listens, its files, what write-config printed."""

    host: str
    port: int
    directory: Path
    pid: int
    printed: dict[str, Any]
    base: Path

    def password(self, device_id: str) -> str:
        """The password write-config printed for a keypad."""
        return next(
            str(row["password"]) for row in self.printed["keypads"] if row["device_id"] == device_id
        )


@dataclass
class Client:
    """A long-lived MQTT client that counts its disconnects and keeps what it receives."""

    user: str
    password: str
    disconnects: int = 0
    received: list[str] = field(default_factory=list)
    connected: threading.Event = field(default_factory=threading.Event)
    mqtt: mqtt.Client | None = None


@pytest.fixture
def broker() -> Iterator[Broker]:
    """write-config for the example hall without kp-12, then mosquitto from those files."""
    require_mosquitto()
    base = Path(tempfile.mkdtemp(prefix="hall-mqtt-accounts-"))
    base.chmod(0o755)
    without = base / "without-kp12.toml"
    text = EXAMPLE_CONFIG.read_text(encoding="utf-8")
    assert "kp-12 = 12\n" in text
    without.write_text(text.replace("kp-12 = 12\n", ""), encoding="utf-8")
    port, tls_port, directory = free_port(), free_port(), base / "mqtt"
    done = hallctl(
        *("mqtt-broker", "write-config", str(directory), "--config", str(without)),
        *("--port", str(port), "--json", "--tls-port", str(tls_port), "--tls-bind", "127.0.0.1"),
    )
    assert done.returncode == 0, done.stderr
    try:
        with mosquitto_on_written_config(directory, port) as process:
            yield Broker("127.0.0.1", port, directory, process.pid, json.loads(done.stdout), base)
    finally:
        shutil.rmtree(base, ignore_errors=True)


def connect(broker: Broker, user: str, password: str, subscribe: str | None = None) -> Client:
    """A connected client (client id = its user name at this broker) counting disconnects."""
    found = Client(user, password)
    client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=user)
    client.username_pw_set(user, password)

    def on_connect(c: mqtt.Client, _u: object, _f: object, reason: object, _p: object) -> None:
        if str(reason) == "Success":
            if subscribe:
                c.subscribe(subscribe, qos=1)
            found.connected.set()

    def on_disconnect(*_: object) -> None:
        found.disconnects += 1

    def on_message(_c: mqtt.Client, _u: object, message: mqtt.MQTTMessage) -> None:
        found.received.append(message.topic)

    client.on_connect = on_connect
    client.on_disconnect = on_disconnect
    client.on_message = on_message
    client.connect(broker.host, broker.port)
    client.loop_start()
    assert found.connected.wait(5), f"{user} did not connect"
    found.mqtt = client
    return found


def event_topic(device: str, window: int) -> str:
    """The keypad's own event topic."""
    return str(KeypadTopic(HALL, window, device, TopicKind.EVENT))


def test_add_and_rotate_one_keypad_while_the_others_stay_connected(broker: Broker) -> None:
    controller_password = (broker.directory / "controller-password").read_text().strip()
    controller = connect(broker, "hall-controller", controller_password, f"hall/{HALL}/#")
    others = [connect(broker, f"kp-{d}", broker.password(d)) for d in ("kp-07", "kp-09")]
    old_kp10 = broker.password("kp-10")
    kp10 = connect(broker, "kp-kp-10", old_kp10)
    assert connect_reason(broker, "kp-kp-12", "anything") == "Not authorized"
    try:
        added = hallctl(
            *("mqtt-broker", "add-keypad", str(broker.directory), "kp-12"),
            *("--config", str(EXAMPLE_CONFIG), "--json"),
        )
        assert added.returncode == 0, added.stderr
        new = json.loads(added.stdout)
        assert (new["window"], new["username"], new["reloaded_pids"]) == (
            12,
            "kp-kp-12",
            [broker.pid],
        )
        setup = new["provisioning"]
        tls_port = broker.printed["tls_listener"]["port"]
        assert (setup["hall_id"], setup["window"], setup["broker_port"], setup["tls"]) == (
            HALL,
            12,
            tls_port,
            True,
        )
        assert setup["ca_certificate"] == broker.printed["ca_certificate"]
        assert setup["topics"]["event"] == event_topic("kp-12", 12)
        assert wait_until(lambda: connect_reason(broker, "kp-kp-12", new["password"]) == "Success")
        publish_as(broker, "kp-kp-12", new["password"], event_topic("kp-12", 12), b"{}")
        assert wait_until(lambda: event_topic("kp-12", 12) in controller.received)

        rotated = hallctl(
            *("mqtt-broker", "rotate-keypad", str(broker.directory), "kp-10"),
            *("--config", str(EXAMPLE_CONFIG), "--json"),
        )
        assert rotated.returncode == 0, rotated.stderr
        fresh = json.loads(rotated.stdout)["password"]
        assert fresh != old_kp10
        # Mosquitto checks connected clients against the reloaded password file: the keypad
        # still on the old password is disconnected, and it cannot log in with it again.
        assert wait_until(lambda: kp10.disconnects >= 1)
        assert connect_reason(broker, "kp-kp-10", old_kp10) == "Not authorized"
        assert connect_reason(broker, "kp-kp-10", fresh) == "Success"
        for keypad, device, window in zip(others, ("kp-07", "kp-09"), (7, 9), strict=True):
            assert keypad.mqtt is not None
            topic = event_topic(device, window)
            keypad.mqtt.publish(topic, b"{}", qos=1).wait_for_publish(5)
            assert wait_until(lambda: topic in controller.received)  # noqa: B023
        assert [c.disconnects for c in (controller, *others)] == [0, 0, 0]
    finally:
        for client in (controller, *others, kp10):
            if client.mqtt is not None:
                client.mqtt.disconnect()
                client.mqtt.loop_stop()


def test_add_and_rotate_refuse_what_would_break_a_keypad(broker: Broker) -> None:
    cases = [
        ("add-keypad", "kp-08", "already has an account: rotate-keypad"),
        ("rotate-keypad", "kp-12", "has no account yet: add-keypad"),
        ("add-keypad", "kp-99", "kp-99 is not in [keypads.mqtt.keypads]"),
    ]
    before = (broker.directory / "passwd").read_text()
    for action, device, message in cases:
        done = hallctl(
            "mqtt-broker", action, str(broker.directory), device, "--config", str(EXAMPLE_CONFIG)
        )
        assert done.returncode == 1 and message in done.stderr, (action, done.stderr)
    assert (broker.directory / "passwd").read_text() == before
    assert connect_reason(broker, "kp-kp-08", broker.password("kp-08")) == "Success"
