"""`hallctl conformance`: a device on a real pty or broker, an operator who follows the prompts."""

from __future__ import annotations

import io
import re
from contextlib import redirect_stdout
from pathlib import Path

import pytest

from controller.cli import main
from devices.sim_keypad_model import SimKeypad
from devices.sim_keypad_mqtt import SimulatedMqttKeypad
from devices.sim_keypad_serial import SimulatedKeypadLine
from devices.sim_led_strip import SimulatedLedBus
from tests import conformance_twins as broken
from tests.mqtt_helpers import HALL, running_broker

BAUD = "38400"
FAST = ["--baud", BAUD, "--listen", "0.3", "--action-seconds", "3"]


def _hallctl(*args: str) -> tuple[int, str]:
    out = io.StringIO()
    with redirect_stdout(out):
        code = main(["conformance", *args])
    return code, out.getvalue()


def test_an_led_strip_on_a_port_passes_unattended_with_the_power_clauses_skipped() -> None:
    with SimulatedLedBus(baudrate=int(BAUD)) as bus:
        bus.add_strip(7)
        code, text = _hallctl(
            "led-strip", "--port", bus.url, "--address", "7", *FAST, "--unattended"
        )
    assert code == 0, text
    assert re.search(r"^SKIP  hall-bus\.md §7 +Power-up forgets", text, re.M), text
    assert re.search(r"^PASS  hall-bus\.md §3 ", text, re.M)
    assert text.rstrip().endswith("RESULT: PASS")


def test_a_strip_with_swapped_crc_bytes_exits_1_naming_section_3() -> None:
    with SimulatedLedBus(baudrate=int(BAUD)) as bus:
        bus.attach(broken.CrcSwappedStrip(7))
        code, text = _hallctl(
            "led-strip", "--port", bus.url, "--address", "7", *FAST, "--unattended"
        )
    assert code == 1
    assert re.search(r"^FAIL  hall-bus\.md §3 .*\n.*CRC sent high byte first", text, re.M), text


def test_no_port_is_a_clear_error(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["conformance", "keypad-serial"]) == 1
    assert "--port /dev/ttyUSB0" in capsys.readouterr().err
    assert main(["conformance", "keypad-serial", "--port", "/dev/nonexistent-tty"]) == 1
    assert "cannot open /dev/nonexistent-tty" in capsys.readouterr().err


class _Operator(io.StringIO):
    """Reads the kit's prompts as a person at the bench would, and acts on the keypad."""

    def __init__(self, keypad: SimKeypad) -> None:
        super().__init__()
        self.keypad = keypad
        self.prompts: list[str] = []

    def write(self, text: str) -> int:
        if text.startswith("ACTION:"):
            self.prompts.append(text)
            if "switch the device off" in text:
                self.keypad.reboot()
            elif "非常满意" in text:
                self.keypad.press("rate", rating="very_satisfied")
            elif "NEXT" in text:
                self.keypad.press("next")
        return super().write(text)


def test_an_operator_following_the_prompts_certifies_a_wired_keypad() -> None:
    with SimulatedKeypadLine(baudrate=int(BAUD)) as line:
        operator = _Operator(line.add_keypad(4))
        with redirect_stdout(operator):
            code = main(
                ["conformance", "keypad-serial", "--port", line.url, "--address", "4", *FAST]
            )
    text = operator.getvalue()
    assert code == 0, text
    assert "SKIP" not in text, text
    assert len(operator.prompts) == 5, operator.prompts  # next, next, rating, power, next


def test_a_wifi_keypad_on_a_broker_with_a_password_file(tmp_path: Path) -> None:
    with running_broker(tmp_path, {"K05": 5}) as broker:
        accounts = broker.accounts
        secret = tmp_path / "controller-password"
        secret.write_text(accounts.controller_password + "\n", encoding="utf-8")
        keypad = SimulatedMqttKeypad(
            HALL, "K05", 5, accounts.device_passwords["K05"], host=broker.host, port=broker.port
        ).start()
        try:
            where = ["--host", broker.host, "--port", str(broker.port), "--hall", HALL]
            device = ["--window", "5", "--device", "K05", "--action-seconds", "3"]
            code, text = _hallctl(
                "keypad-mqtt", *where, *device, "--password-file", str(secret), "--unattended"
            )
            secret.write_text("wrong", encoding="utf-8")
            refused = main(
                ["conformance", "keypad-mqtt", *where, *device, "--password-file", str(secret)]
            )
        finally:
            keypad.stop()
    assert code == 0, text
    assert re.search(r"^PASS  keypad-mqtt\.md §Connecting +After connecting", text, re.M), text
    assert refused == 1
