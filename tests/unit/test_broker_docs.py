"""operations.md and keypad-mqtt-driver.md agree with each other and with what write-config writes."""

from __future__ import annotations

import re
from pathlib import Path

from devices.mqtt_broker.mosquitto_files import TlsListener, config_text
from tests.conftest import EXAMPLE_CONFIG

DOCS = EXAMPLE_CONFIG.parent.parent / "docs"


def test_operations_md_names_the_listeners_write_config_writes_by_default(tmp_path: Path) -> None:
    written = config_text(tmp_path, port=1883, tls=TlsListener())  # write-config's defaults
    listeners = [line for line in written.splitlines() if line.startswith("listener ")]
    documented = re.findall(r"^listener .+$", (DOCS / "operations.md").read_text(), re.M)
    assert listeners == ["listener 1883 127.0.0.1", "listener 8883 0.0.0.0"]
    assert documented == listeners


def test_both_pages_run_the_same_mosquitto_service() -> None:
    driver = (DOCS / "keypad-mqtt-driver.md").read_text(encoding="utf-8")
    operations = (DOCS / "operations.md").read_text(encoding="utf-8")
    units = re.findall(r"# /etc/systemd/system/([\w-]+)\.service", driver)
    assert units == ["hall-mosquitto"]
    assert "After=network-online.target hall-mosquitto.service" in operations
    assert "systemctl enable --now hall-mosquitto" in operations
    assert "Debian `mosquitto`\nservice with" not in operations  # the old, contrary advice
    written_dir = re.findall(r"write-config (/\S+)", operations)
    started = re.findall(r"ExecStart=/usr/sbin/mosquitto -c (\S+)/mosquitto\.conf", driver)
    assert written_dir and set(written_dir) == set(started)
