"""One real Wi-Fi keypad beside simulated others on the hall's own broker (`[keypads.mqtt.simulate]`).

The way a technician does it (docs/commissioning.md, step 3): `hallctl mqtt-broker write-config`
for the hall config, which writes each simulated keypad's password to the file the config names;
Mosquitto run from those files; the hall started with no family simulated. The "real" keypad is a
simulated keypad the test starts itself with the password write-config printed: the hall cannot
tell it from hardware on the Wi-Fi.
"""

from __future__ import annotations

import json
import shutil
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from controller.app.simulated_families import Simulated, real_device_problems
from controller.domain import commands as cmd
from controller.domain.errors import ConfigError
from controller.settings.config_loader import load_config
from controller.settings.config_sections import SatisfactionPushConfig
from controller.settings.hall_config import HallConfig
from devices.keypad.keypad_mqtt_local import start_simulated_keypads
from devices.keypad.mqtt_config import KeypadLinkError, KeypadMqttConfig
from devices.keypad.serial_config import SerialKeypadsConfig
from devices.keypad.sim_keypad_mqtt import SimulatedMqttKeypad
from devices.mqtt_broker.mosquitto import device_username, free_port
from devices.voice.voice_config import VoiceConfig
from tests.conftest import EXAMPLE_CONFIG
from tests.integration.test_simulated_families import hall_with_devices
from tests.mqtt_helpers import mosquitto_on_written_config, require_mosquitto, wait_until
from tests.system.test_keypad_broker_setup import hallctl

REAL = "kp-07"
SIMULATED = ("kp-08", "kp-09", "kp-10", "kp-11", "kp-12")


@dataclass
class HallBroker:
    """The hall config written for the run, its broker's files and port, what write-config printed."""

    config: Path
    directory: Path
    port: int
    printed: dict[str, Any]

    def password(self, device: str) -> str:
        """The password write-config printed for `device` (what goes into a real keypad)."""
        return next(str(r["password"]) for r in self.printed["keypads"] if r["device_id"] == device)


@pytest.fixture
def hall_broker() -> Iterator[HallBroker]:
    """The example hall with kp-08..kp-12 simulated: write-config, then Mosquitto from its files."""
    require_mosquitto()
    base = Path(tempfile.mkdtemp(prefix="hall-mqtt-twins-"))
    base.chmod(0o755)
    port, directory = free_port(), base / "mqtt"
    (base / "keypad-passwords").mkdir()
    text = EXAMPLE_CONFIG.read_text(encoding="utf-8")
    text = text.replace("port = 1883", f"port = {port}").replace(
        'password_file = "/etc/hall-controller/mqtt-password"',
        f'password_file = "{directory / "controller-password"}"',
    )
    table = "".join(f'{d} = "{base / "keypad-passwords" / d}"\n' for d in SIMULATED)
    config = base / "hall.toml"
    config.write_text(text + "\n[keypads.mqtt.simulate]\n" + table, encoding="utf-8")
    done = hallctl(
        *("mqtt-broker", "write-config", str(directory), "--config", str(config)),
        *("--port", str(port), "--no-tls", "--json"),
    )
    assert done.returncode == 0, done.stderr
    try:
        with mosquitto_on_written_config(directory, port):
            yield HallBroker(config, directory, port, json.loads(done.stdout))
    finally:
        shutil.rmtree(base, ignore_errors=True)


def keypads_only(config: HallConfig) -> HallConfig:
    """`config` with its Wi-Fi keypads and nothing else that would open a device."""
    return config.model_copy(
        update={
            "keypads": config.keypads.model_copy(update={"serial": SerialKeypadsConfig()}),
            "led": config.led.model_copy(update={"buses": []}),
            "voice": VoiceConfig(enabled=False),
            "satisfaction": SatisfactionPushConfig(enabled=False),
        }
    )


def test_write_config_writes_each_simulated_keypads_password_where_the_config_says(
    hall_broker: HallBroker,
) -> None:
    mqtt = load_config(hall_broker.config).keypads.mqtt
    assert mqtt is not None and set(mqtt.simulate) == set(SIMULATED)
    for device, path in mqtt.simulate.items():
        assert path.read_text(encoding="utf-8") == hall_broker.password(device) + "\n"
        assert path.stat().st_mode & 0o777 == 0o600
    rows = {r["device_id"]: r["password_written_to"] for r in hall_broker.printed["keypads"]}
    assert rows[REAL] is None and rows["kp-08"] == str(mqtt.simulate["kp-08"])


def test_one_real_keypad_beside_simulated_twins_on_the_halls_broker(
    hall_broker: HallBroker, tmp_path: Path
) -> None:
    config = keypads_only(load_config(hall_broker.config))
    real = SimulatedMqttKeypad(
        "qingshan", REAL, 7, hall_broker.password(REAL), port=hall_broker.port, resend_seconds=0.5
    ).start()
    try:
        with hall_with_devices(config, tmp_path, Simulated()) as (runtime, devices):
            assert devices.local_keypads is None  # no broker of its own: the hall's
            assert wait_until(lambda: all(r["online"] for r in devices.keypads()), 15), (
                devices.keypads()
            )
            assert devices.simulated_keypad(7) is None
            twin = devices.simulated_keypad(8)
            assert isinstance(twin, SimulatedMqttKeypad)
            assert twin.username == device_username("kp-08") and twin.port == hall_broker.port
            runtime.execute(cmd.SignIn(8, "S0801", "A"))
            issued = runtime.execute(cmd.IssueTicket("CRJ")).result
            called = twin.wait_acked(twin.press("next"), timeout=10)
            refused = real.wait_acked(real.press("next"), timeout=10)  # nobody at window 7
            rows = {r["device_id"]: r["online"] for r in devices.keypads()}
            notes = devices.notes
    finally:
        real.stop()
    assert (called.accepted, called.ticket) == (True, issued["number"]), called
    assert (refused.accepted, refused.code) == (False, "not_signed_in"), refused
    assert rows == dict.fromkeys((REAL, *SIMULATED), True)
    assert any("simulated MQTT keypads kp-08, kp-09, kp-10, kp-11, kp-12" in n for n in notes)


def test_rotate_keypad_writes_a_simulated_keypads_new_password(hall_broker: HallBroker) -> None:
    path = load_config(hall_broker.config).keypads.mqtt.simulate["kp-09"]  # type: ignore[union-attr]
    done = hallctl(
        *("mqtt-broker", "rotate-keypad", str(hall_broker.directory), "kp-09"),
        *("--config", str(hall_broker.config), "--json"),
    )
    assert done.returncode == 0, done.stderr
    rotated = json.loads(done.stdout)
    assert rotated["password_written_to"] == str(path)
    assert path.read_text(encoding="utf-8") == rotated["password"] + "\n"
    assert rotated["password"] != hall_broker.password("kp-09")


def test_a_simulated_keypad_without_its_password_file_is_named(tmp_path: Path) -> None:
    base = load_config(EXAMPLE_CONFIG).keypads.mqtt
    assert base is not None
    missing, empty = tmp_path / "kp-08", tmp_path / "kp-09"
    empty.write_text("\n", encoding="utf-8")
    mqtt = KeypadMqttConfig(
        hall_id=base.hall_id,
        broker=base.broker,
        keypads=base.keypads,
        simulate={"kp-08": missing, "kp-09": empty},
    )
    config = load_config(EXAMPLE_CONFIG)
    config = config.model_copy(update={"keypads": config.keypads.model_copy(update={"mqtt": mqtt})})
    problems = dict(real_device_problems(config, Simulated()))
    assert problems[("keypads", "mqtt", "simulate", "kp-08")] == (
        f"the broker password file of simulated keypad kp-08 {missing} does not exist "
        "(`hallctl mqtt-broker write-config` or `rotate-keypad DIR kp-08` writes it)"
    )
    assert "is empty" in problems[("keypads", "mqtt", "simulate", "kp-09")]
    whole_family = dict(real_device_problems(config, Simulated(frozenset({"keypads"}))))
    assert ("keypads", "mqtt", "simulate", "kp-08") not in whole_family
    with pytest.raises(KeypadLinkError, match=r"simulated keypad kp-08.*kp-08"):
        start_simulated_keypads(mqtt)


def test_simulate_may_only_name_a_configured_keypad(tmp_path: Path) -> None:
    with pytest.raises(
        ValueError, match=r"simulate names kp-99, not in \[keypads\.mqtt\.keypads\]"
    ):
        KeypadMqttConfig(hall_id="qingshan", keypads={"kp-07": 7}, simulate={"kp-99": Path("x")})
    config = tmp_path / "hall.toml"
    text = EXAMPLE_CONFIG.read_text(encoding="utf-8") + '\n[keypads.mqtt.simulate]\nkp-99 = "x"\n'
    config.write_text(text, encoding="utf-8")
    with pytest.raises(ConfigError) as caught:
        load_config(config)
    (problem,) = caught.value.problems
    assert problem.key == "keypads.mqtt" and problem.line is not None
    assert "simulate names kp-99, not in [keypads.mqtt.keypads]" in problem.message
