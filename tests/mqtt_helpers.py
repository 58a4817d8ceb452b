"""Helpers for MQTT keypad tests: a real Mosquitto on a free port, keypads, a de-duplicating handler."""

from __future__ import annotations

import socket
import subprocess
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Protocol

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion
from pydantic import SecretStr

from devices.keypad.keypad import KeypadAnswer, KeypadHandler, KeypadPress
from devices.keypad.keypad_mqtt import MqttKeypadPort
from devices.keypad.mqtt_config import KeypadMqttConfig, MqttBrokerConfig
from devices.keypad.sim_keypad_mqtt import SimulatedMqttKeypad
from devices.mqtt_broker.mosquitto import (
    BrokerAccounts,
    MosquittoBroker,
    mosquitto_binary,
    mosquitto_passwd_binary,
)
from tests.required_parts import require_part

HALL = "qs"
RESEND_SECONDS = 0.3  # short, so that lost-ack tests cost little time


def require_mosquitto() -> None:
    """Fail in CI, skip elsewhere, when the mosquitto broker or mosquitto_passwd is missing."""
    found = mosquitto_binary() is not None and mosquitto_passwd_binary() is not None
    require_part("Mosquitto", found, "scripts/install.sh installs the Debian package mosquitto")


@contextmanager
def running_broker(tmp_path: Path, keypads: Mapping[str, int]) -> Iterator[MosquittoBroker]:
    """A started Mosquitto for the hall `qs` with fresh accounts, in tmp_path/broker."""
    require_mosquitto()
    broker = MosquittoBroker(BrokerAccounts.generate(HALL, keypads), tmp_path / "broker")
    with broker:
        yield broker


def controller_config(
    broker: MosquittoBroker, keypads: Mapping[str, int] | None = None
) -> KeypadMqttConfig:
    """The controller's config for `broker` (its keypads unless others are given)."""
    accounts = broker.accounts
    return KeypadMqttConfig(
        hall_id=HALL,
        keypads=dict(accounts.keypads if keypads is None else keypads),
        broker=MqttBrokerConfig(
            host=broker.host,
            port=broker.port,
            username=accounts.controller_user,
            password=SecretStr(accounts.controller_password),
            reconnect_max_seconds=1,
        ),
    )


@contextmanager
def controller_port(
    broker: MosquittoBroker,
    handler: KeypadHandler,
    keypads: Mapping[str, int] | None = None,
) -> Iterator[MqttKeypadPort]:
    """A started, subscribed controller port, closed afterwards."""
    port = MqttKeypadPort(controller_config(broker, keypads), handler).start()
    try:
        assert port.wait_ready(10), port.last_error
        yield port
    finally:
        port.close()


@contextmanager
def keypad(
    broker: MosquittoBroker, device_id: str, window: int | None = None, password: str | None = None
) -> Iterator[SimulatedMqttKeypad]:
    """A connected simulated keypad with `device_id`'s credentials (window/password overridable)."""
    accounts = broker.accounts
    sim = SimulatedMqttKeypad(
        HALL,
        device_id,
        accounts.keypads[device_id] if window is None else window,
        accounts.device_passwords[device_id] if password is None else password,
        host=broker.host,
        port=broker.port,
        resend_seconds=RESEND_SECONDS,
    )
    try:
        yield sim.start()
    finally:
        sim.stop()


class DedupeHandler:
    """The controller's contract in miniature: apply each (device_id, boot_id, seq) once."""

    def __init__(self) -> None:
        self.calls: list[KeypadPress] = []  # every call, repeats included
        self.answers: dict[tuple[str, str, int], KeypadAnswer] = {}
        self.applied: list[KeypadPress] = []  # once per triple
        self.fail_next = 0
        self.lock = threading.Lock()

    def __call__(self, press: KeypadPress) -> KeypadAnswer:
        with self.lock:
            self.calls.append(press)
            if self.fail_next > 0:
                self.fail_next -= 1
                raise RuntimeError("journal unavailable")
            triple = (press.device_id, press.boot_id, press.seq)
            if triple not in self.answers:
                self.applied.append(press)
                ticket = f"A{len(self.applied):03d}"
                self.answers[triple] = KeypadAnswer(True, "ok", f"请{ticket}号办理", ticket)
            return self.answers[triple]


def wait_until(predicate: Callable[[], bool], timeout: float = 5.0) -> bool:
    """Poll `predicate` every 10 ms until true; False on timeout."""
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.01)
    return True


class BrokerAddress(Protocol):
    """Where a broker listens: a `MosquittoBroker`, or one started from written files."""

    @property
    def host(self) -> str: ...

    @property
    def port(self) -> int: ...


def connect_reason(broker: BrokerAddress, username: str | None, password: str | None) -> str:
    """Try one plain MQTT connect and return the broker's CONNACK reason (e.g. "Not authorized")."""
    reasons: list[str] = []
    done = threading.Event()

    def on_connect(
        client: mqtt.Client, userdata: object, flags: object, reason: object, props: object
    ) -> None:
        reasons.append(str(reason))
        done.set()

    client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id="probe", reconnect_on_failure=False)
    if username is not None:
        client.username_pw_set(username, password)
    client.on_connect = on_connect
    client.connect(broker.host, broker.port)
    client.loop_start()
    try:
        assert done.wait(5), "no CONNACK"
    finally:
        client.disconnect()
        client.loop_stop()
    return reasons[0]


def publish_as(
    broker: BrokerAddress, username: str, password: str, topic: str, payload: bytes
) -> None:
    """Log in as `username`, publish once at QoS 1, wait for the broker's PUBACK, leave."""
    client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=f"probe-{username}")
    client.username_pw_set(username, password)
    client.connect(broker.host, broker.port)
    client.loop_start()
    try:
        client.publish(topic, payload, qos=1).wait_for_publish(5)
    finally:
        client.disconnect()
        client.loop_stop()


@contextmanager
def mosquitto_on_written_config(directory: Path, port: int) -> Iterator[subprocess.Popen[bytes]]:
    """Mosquitto on the `mosquitto.conf` that `write-config` wrote in `directory`, listening on
    127.0.0.1:`port`; stopped on the way out."""
    binary = mosquitto_binary()
    assert binary is not None
    process = subprocess.Popen(
        [binary, "-c", str(directory / "mosquitto.conf")],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        deadline = time.monotonic() + 10
        while True:
            assert process.poll() is None, process.stderr.read() if process.stderr else ""
            try:
                socket.create_connection(("127.0.0.1", port), 0.2).close()
                break
            except OSError:
                assert time.monotonic() < deadline, "mosquitto is not listening"
                time.sleep(0.05)
        yield process
    finally:
        process.terminate()
        process.wait(10)
        if process.stderr is not None:
            process.stderr.close()
