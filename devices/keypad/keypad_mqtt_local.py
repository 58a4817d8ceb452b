"""Simulated Wi-Fi keypads for `hallctl up`: a local hall (its own Mosquitto, every keypad a twin)
for `--simulate keypads`, or twins of some keypads on the hall's real broker beside real ones."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType

from pydantic import SecretStr

from devices.keypad.mqtt_config import (
    KeypadLinkError,
    KeypadMqttConfig,
    MqttBrokerConfig,
    read_password_file,
)
from devices.keypad.sim_keypad_mqtt import SimulatedMqttKeypad
from devices.mqtt_broker.mosquitto import BrokerAccounts, MosquittoBroker


@dataclass
class LocalKeypadHall:
    """A broker on 127.0.0.1 with fresh passwords, the controller's config for it, and keypads."""

    broker: MosquittoBroker
    config: KeypadMqttConfig
    keypads: dict[str, SimulatedMqttKeypad] = field(default_factory=dict)

    def stop(self) -> None:
        """Stop every simulated keypad, then the broker."""
        for keypad in self.keypads.values():
            keypad.stop()
        self.broker.stop()

    def __enter__(self) -> LocalKeypadHall:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        value: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()


def start_local_keypad_hall(
    hall_id: str,
    keypads: Mapping[str, int],
    data_dir: str | Path,
    *,
    port: int = 0,
    simulate_keypads: bool = True,
    resend_seconds: float = 2.0,
    reconnect_max_seconds: int = 5,
    clock_rate: float = 1.0,
) -> LocalKeypadHall:
    """Start Mosquitto in `data_dir` (new random passwords each time) and, optionally, one
    simulated keypad per configured device; the controller connects with `hall.config`.

    `clock_rate`: hall seconds per real second (a demo's --speed), so the keypads' press stamps
    keep up with the hall clock their acks set."""
    accounts = BrokerAccounts.generate(hall_id, keypads)
    broker = MosquittoBroker(accounts, data_dir, port=port).start()
    config = KeypadMqttConfig(
        hall_id=hall_id,
        keypads=dict(keypads),
        broker=MqttBrokerConfig(
            host=broker.host,
            port=broker.port,
            username=accounts.controller_user,
            password=SecretStr(accounts.controller_password),
            reconnect_max_seconds=reconnect_max_seconds,
        ),
    )
    hall = LocalKeypadHall(broker, config)
    if simulate_keypads:
        try:
            for seed, (device, window) in enumerate(sorted(keypads.items())):
                hall.keypads[device] = SimulatedMqttKeypad(
                    hall_id,
                    device,
                    window,
                    accounts.device_passwords[device],
                    host=broker.host,
                    port=broker.port,
                    resend_seconds=resend_seconds,
                    seed=seed,
                    clock_rate=clock_rate,
                ).start()
        except BaseException:
            hall.stop()
            raise
    return hall


def start_simulated_keypads(
    config: KeypadMqttConfig, *, resend_seconds: float = 2.0, clock_rate: float = 1.0
) -> dict[str, SimulatedMqttKeypad]:
    """A started twin for every keypad in `config.simulate`, on `config`'s broker with its own
    account (its password from its file); KeypadLinkError naming the keypad and file, none left
    running, if a password cannot be read."""
    broker = config.broker
    if broker is None:
        raise KeypadLinkError("broker", "simulated keypads need [keypads.mqtt.broker]")
    passwords = {}
    for device, path in sorted(config.simulate.items()):
        try:
            passwords[device] = read_password_file(path)
        except KeypadLinkError as err:
            raise KeypadLinkError(f"password file of simulated keypad {device}", str(err)) from err
    started: dict[str, SimulatedMqttKeypad] = {}
    try:
        for seed, (device, password) in enumerate(passwords.items()):
            started[device] = SimulatedMqttKeypad(
                config.hall_id,
                device,
                config.keypads[device],
                password,
                host=broker.host,
                port=broker.port,
                resend_seconds=resend_seconds,
                seed=seed,
                clock_rate=clock_rate,
            ).start()
    except BaseException:
        for keypad in started.values():
            keypad.stop()
        raise
    return started
