"""Our simulated twins as devices under test: hands that press their keys and cycle their power.

`hallctl conformance ... --simulated` runs a kit against these, which is also how the tests
show that the twins keep the spec (and that broken twins in tests/ do not).
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from devices.conformance.hands import Hands
from devices.keypad.sim_keypad_model import SimKeypad
from devices.keypad.sim_keypad_mqtt import SimulatedMqttKeypad
from devices.keypad.sim_keypad_serial import SimulatedKeypadLine
from devices.led.sim_led_model import SimLedStrip
from devices.led.sim_led_strip import SimulatedLedBus
from devices.mqtt_broker.mosquitto import BrokerAccounts, MosquittoBroker


class SimLedHands:
    """Power-cycles a simulated LED display (it has no keys)."""

    def __init__(self, strip: SimLedStrip) -> None:
        self.strip = strip

    def press(self, key: str, *, rating: str | None = None) -> None:
        """An LED display has no keys."""
        raise NotImplementedError("an LED display has no keys")

    def power_cycle(self) -> None:
        """Off and on at once."""
        self.strip.power_cycle()


class SimSerialKeypadHands:
    """Presses the keys of a simulated RS-485 keypad and cycles its power (its queue kept)."""

    def __init__(self, keypad: SimKeypad) -> None:
        self.keypad = keypad

    def press(self, key: str, *, rating: str | None = None) -> None:
        """One press, queued until answered."""
        self.keypad.press(key, rating=rating)

    def power_cycle(self) -> None:
        """A new boot; presses in flash survive."""
        self.keypad.reboot()


class SimMqttKeypadHands:
    """Presses the keys of a simulated Wi-Fi keypad and cycles its power (unacked events kept)."""

    def __init__(self, keypad: SimulatedMqttKeypad) -> None:
        self.keypad = keypad

    def press(self, key: str, *, rating: str | None = None) -> None:
        """One press, published at once and kept until acked."""
        self.keypad.press(key, rating=rating)

    def power_cycle(self) -> None:
        """The link drops without DISCONNECT (the will fires), then a new boot connects."""
        self.keypad.reboot()


@dataclass(frozen=True)
class SerialTwin:
    """A started simulated line: the port to open and the hands on its device."""

    url: str
    hands: Hands


@contextmanager
def led_twin(address: int, baudrate: int) -> Iterator[SerialTwin]:
    """Our LED strip at `address` on a pty line, BUSY once (so the BUSY clause is exercised)."""
    with SimulatedLedBus(baudrate=baudrate) as bus:
        strip = bus.add_strip(address)
        strip.faults.busy_for = 1
        yield SerialTwin(bus.url, SimLedHands(strip))


@contextmanager
def keypad_line_twin(address: int, baudrate: int) -> Iterator[SerialTwin]:
    """Our wired keypad at `address` on a pty line."""
    with SimulatedKeypadLine(baudrate=baudrate) as line:
        keypad = line.add_keypad(address)
        yield SerialTwin(line.url, SimSerialKeypadHands(keypad))


@dataclass(frozen=True)
class MqttTwin:
    """A throwaway broker with our Wi-Fi keypad on it, and the controller's credentials."""

    host: str
    port: int
    username: str
    password: str
    hands: Hands


@contextmanager
def mqtt_twin(
    hall_id: str, device_id: str, window: int, resend_seconds: float
) -> Iterator[MqttTwin]:
    """A Mosquitto of its own in a temporary directory, with our keypad connected."""
    with tempfile.TemporaryDirectory(prefix="conformance-") as scratch:
        accounts = BrokerAccounts.generate(hall_id, {device_id: window})
        with MosquittoBroker(accounts, Path(scratch) / "broker") as broker:
            keypad = SimulatedMqttKeypad(
                hall_id,
                device_id,
                window,
                accounts.device_passwords[device_id],
                host=broker.host,
                port=broker.port,
                resend_seconds=resend_seconds,
            ).start()
            try:
                yield MqttTwin(
                    broker.host,
                    broker.port,
                    accounts.controller_user,
                    accounts.controller_password,
                    SimMqttKeypadHands(keypad),
                )
            finally:
                keypad.stop()
