"""`hallctl mqtt-broker write-config`: a real Mosquitto started from the files it writes.

The example hall's `[keypads.mqtt]` (hall `qingshan`, keypads kp-07..kp-12 at windows 7..12):
a keypad's printed credentials work, the ACL keeps it to its own window, strangers are refused.
"""

from __future__ import annotations

import json
import os
import pwd
import shutil
import stat
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from controller.settings.config_loader import load_config
from devices.keypad.keypad import KeypadKey
from devices.keypad.keypad_mqtt import MqttKeypadPort
from devices.keypad.sim_keypad_mqtt import SimulatedMqttKeypad
from devices.mqtt_broker.mosquitto import free_port
from firmware_protocols.keypad.keypad_mqtt import KeypadEvent
from tests.conftest import EXAMPLE_CONFIG
from tests.mqtt_helpers import (
    DedupeHandler,
    connect_reason,
    mosquitto_on_written_config,
    publish_as,
    require_mosquitto,
    wait_until,
)

ROOT = EXAMPLE_CONFIG.parent.parent
HALL = "qingshan"


def hallctl(*args: str) -> subprocess.CompletedProcess[str]:
    """Run `hallctl ARGS` from the project root."""
    return subprocess.run(
        [sys.executable, "-m", "controller.cli.main", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


@dataclass
class WrittenBroker:
    """Mosquitto running from the written files, and what `write-config --json` printed."""

    host: str
    port: int
    directory: Path
    printed: dict[str, Any]

    def password(self, device_id: str) -> str:
        """The password printed for a keypad."""
        return next(
            str(row["password"]) for row in self.printed["keypads"] if row["device_id"] == device_id
        )


@pytest.fixture
def written_broker() -> Iterator[WrittenBroker]:
    """`write-config` into a fresh DIR/mqtt, then `mosquitto -c DIR/mqtt/mosquitto.conf`.

    As root (CI), write-config hands the files to the `mosquitto` user and the broker drops to
    it, as on a hall's server: DIR is world-traversable (pytest's own tmp folders are not).
    """
    require_mosquitto()
    base = Path(tempfile.mkdtemp(prefix="hall-mqtt-"))
    base.chmod(0o755)
    port, tls_port, directory = free_port(), free_port(), base / "mqtt"
    done = hallctl(
        *("mqtt-broker", "write-config", str(directory), "--config", str(EXAMPLE_CONFIG)),
        *("--port", str(port), "--json", "--tls-port", str(tls_port), "--tls-bind", "127.0.0.1"),
    )
    assert done.returncode == 0, done.stderr
    try:
        with mosquitto_on_written_config(directory, port):
            yield WrittenBroker("127.0.0.1", port, directory, json.loads(done.stdout))
    finally:
        shutil.rmtree(base, ignore_errors=True)


def test_write_config_writes_private_files_and_prints_every_keypad_once(
    written_broker: WrittenBroker,
) -> None:
    directory, printed = written_broker.directory, written_broker.printed
    for name in ("mosquitto.conf", "passwd", "acl", "controller-password"):
        assert stat.S_IMODE((directory / name).stat().st_mode) == 0o600, name
    if os.geteuid() == 0:  # never a broker running as root: the package's own user
        assert "\nuser mosquitto\n" in (directory / "mosquitto.conf").read_text(encoding="utf-8")
        for name in ("mosquitto.conf", "passwd", "acl"):
            assert pwd.getpwuid((directory / name).stat().st_uid).pw_name == "mosquitto", name
    keypads = load_config(EXAMPLE_CONFIG).keypads.mqtt
    assert keypads is not None
    assert [(r["device_id"], r["window"], r["username"]) for r in printed["keypads"]] == [
        (device, window, f"kp-{device}") for device, window in sorted(keypads.keypads.items())
    ]
    passwd = (directory / "passwd").read_text(encoding="utf-8")
    for row in printed["keypads"]:  # only hashes are kept
        assert f"{row['username']}:$7$" in passwd and row["password"] not in passwd
    acl = (directory / "acl").read_text(encoding="utf-8")
    assert "user kp-kp-07\ntopic write hall/qingshan/window/7/keypad/kp-07/event\n" in acl
    assert printed["controller"]["password_expected_at"] == "/etc/hall-controller/mqtt-password"
    # The plain listener is the controller's, on this host (operations.md); keypads get TLS.
    conf = (directory / "mosquitto.conf").read_text(encoding="utf-8")
    assert f"listener {written_broker.port} 127.0.0.1\n" in conf
    assert printed["listener"] == {"bind": "127.0.0.1", "port": written_broker.port}
    assert "use_username_as_clientid true" in conf
    assert stat.S_IMODE((directory / "tls" / "server.key").stat().st_mode) == 0o600


def test_a_keypad_connects_over_tls_with_the_printed_hall_ca(written_broker: WrittenBroker) -> None:
    printed = written_broker.printed
    tls = printed["tls_listener"]
    assert tls["names"][1:] == ["localhost", "127.0.0.1"]
    sim = SimulatedMqttKeypad(
        HALL,
        "kp-07",
        7,
        written_broker.password("kp-07"),
        host="127.0.0.1",
        port=tls["port"],
        tls_ca=Path(printed["ca_certificate"]),
    ).start()
    try:
        assert sim.connected
    finally:
        sim.stop()


def test_a_keypads_printed_credentials_work_and_the_acl_holds(
    written_broker: WrittenBroker,
) -> None:
    broker = written_broker
    example = load_config(EXAMPLE_CONFIG).keypads.mqtt
    assert example is not None and example.broker is not None
    # The controller as deployed: the config's broker section, its password from the file.
    settings = example.broker.model_copy(
        update={
            "host": broker.host,
            "port": broker.port,
            "password_file": broker.directory / "controller-password",
        }
    )
    handler = DedupeHandler()
    port = MqttKeypadPort(example.model_copy(update={"broker": settings}), handler).start()
    kp07 = SimulatedMqttKeypad(
        HALL, "kp-07", 7, broker.password("kp-07"), host=broker.host, port=broker.port
    )
    try:
        assert port.wait_ready(10), port.last_error
        kp07.start()
        ack = kp07.wait_acked(kp07.press("next"))
        assert (ack.accepted, ack.code) == (True, "ok")
        login = ("kp-kp-07", broker.password("kp-07"))
        rating = KeypadEvent("kp-08", "b1", 1, "rate", rating="very_satisfied").encode()
        publish_as(broker, *login, f"hall/{HALL}/window/8/keypad/kp-08/event", rating)
        with_08 = rating.replace(b"kp-08", b"kp-07")
        publish_as(broker, *login, f"hall/{HALL}/window/8/keypad/kp-07/event", with_08)
        assert wait_until(lambda: port.keypads()[0]["online"] is True)
        assert port.stats["events"] == 1  # neither window-8 publish reached the controller
    finally:
        kp07.stop()
        port.close()
    assert [(p.device_id, p.window, p.key) for p in handler.calls] == [("kp-07", 7, KeypadKey.NEXT)]
    assert connect_reason(broker, None, None) == "Not authorized"
    assert connect_reason(broker, "kp-kp-07", broker.password("kp-08")) == "Not authorized"
    assert connect_reason(broker, "kp-kp-08", broker.password("kp-08")) == "Success"


def test_write_config_will_not_lock_out_provisioned_keypads_without_force(
    written_broker: WrittenBroker,
) -> None:
    target = str(written_broker.directory)
    again = hallctl("mqtt-broker", "write-config", target, "--config", str(EXAMPLE_CONFIG))
    assert again.returncode == 1 and "--force" in again.stderr
    # Whoever owns the folder (the broker's user) plants a symlink: it is replaced, not followed.
    decoy = written_broker.directory.parent / "decoy"
    decoy.write_text("untouched\n", encoding="utf-8")
    acl = written_broker.directory / "acl"
    acl.unlink()
    acl.symlink_to(decoy)
    forced = hallctl(
        *("mqtt-broker", "write-config", target, "--config", str(EXAMPLE_CONFIG), "--force")
    )
    assert forced.returncode == 0, forced.stderr
    assert "kp-kp-12" in forced.stdout and "仅显示这一次" in forced.stdout
    old = written_broker.password("kp-12")
    assert old not in forced.stdout  # new passwords
    assert decoy.read_text(encoding="utf-8") == "untouched\n"
    assert not acl.is_symlink() and "user kp-kp-12" in acl.read_text(encoding="utf-8")


def test_write_config_needs_an_mqtt_section(tmp_path: Path) -> None:
    text = EXAMPLE_CONFIG.read_text(encoding="utf-8")
    cut = text.split("[keypads.mqtt]", 1)[0] + "[screen]" + text.split("\n[screen]", 1)[1]
    config = tmp_path / "hall.toml"
    config.write_text(cut, encoding="utf-8")
    done = hallctl("mqtt-broker", "write-config", str(tmp_path / "out"), "--config", str(config))
    assert done.returncode == 1 and "no [keypads.mqtt]" in done.stderr
    assert not (tmp_path / "out").exists()
