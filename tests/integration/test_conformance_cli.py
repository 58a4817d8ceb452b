"""`hallctl conformance`: a device on a real pty or broker, an operator who follows the prompts."""

from __future__ import annotations

import io
import json
import re
from collections.abc import Callable
from contextlib import redirect_stdout
from pathlib import Path

import pytest

from controller.cli.conformance import PASSWORD_ENV
from controller.cli.main import main
from devices.keypad.sim_keypad_mqtt import SimulatedMqttKeypad
from devices.keypad.sim_keypad_serial import SimulatedKeypadLine
from devices.led.sim_led_strip import SimulatedLedBus
from tests import conformance_twins as broken
from tests.mqtt_helpers import HALL, running_broker

BAUD = "38400"
FAST = ["--baud", BAUD, "--listen", "0.5", "--action-seconds", "3"]  # roomy: a loaded host stalls


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


def test_json_for_a_test_rig_names_each_clause_and_its_outcome() -> None:
    with SimulatedLedBus(baudrate=int(BAUD)) as bus:
        bus.attach(broken.WrongNakStrip(7))
        code, text = _hallctl(
            "led-strip", "--port", bus.url, "--address", "7", *FAST, "--unattended", "--json"
        )
    found = json.loads(text)
    assert code == 1
    assert found["passed"] is False
    failed = [c for c in found["clauses"] if c["outcome"] == "FAIL"]
    assert [(c["doc"], c["section"], c["key"]) for c in failed] == [
        ("hall-bus.md", "8", "nak-unknown")
    ]
    assert "BAD_PAYLOAD" in failed[0]["detail"]


def test_no_port_is_a_clear_error(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["conformance", "keypad-serial"]) == 1
    assert "--port /dev/ttyUSB0" in capsys.readouterr().err
    assert main(["conformance", "keypad-serial", "--port", "/dev/nonexistent-tty"]) == 1
    assert "cannot open /dev/nonexistent-tty" in capsys.readouterr().err


class _Operator(io.StringIO):
    """Reads the kit's prompts as a person at the bench would, and acts on the device."""

    def __init__(self, press: Callable[..., object], power_cycle: Callable[[], object]) -> None:
        super().__init__()
        self.press, self.power_cycle = press, power_cycle
        self.prompts: list[str] = []

    def write(self, text: str) -> int:
        if text.startswith("ACTION:"):
            self.prompts.append(text)
            if "switch the device off" in text:
                self.power_cycle()
            elif "非常满意" in text:
                self.press("rate", rating="very_satisfied")
            elif "NEXT" in text:
                self.press("next")
        return super().write(text)


def test_an_operator_following_the_prompts_certifies_an_led_strip() -> None:
    with SimulatedLedBus(baudrate=int(BAUD)) as bus:
        strip = bus.add_strip(2)
        operator = _Operator(lambda *a, **k: None, strip.power_cycle)
        with redirect_stdout(operator):
            code = main(["conformance", "led-strip", "--port", bus.url, "--address", "2", *FAST])
    text = operator.getvalue()
    assert code == 0, text
    assert [p.split()[1:3] for p in operator.prompts] == [["switch", "the"]]
    assert set(re.findall(r"^(PASS|FAIL|SKIP) ", text, re.M)) == {"PASS", "SKIP"}
    assert re.search(r"^SKIP  hall-bus\.md §8 +A frame refused BUSY", text, re.M)  # never BUSY


def test_an_operator_following_the_prompts_certifies_a_wifi_keypad(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with running_broker(tmp_path, {"K06": 6}) as broker:
        accounts = broker.accounts
        keypad = SimulatedMqttKeypad(
            HALL, "K06", 6, accounts.device_passwords["K06"], host=broker.host, port=broker.port
        ).start()
        operator = _Operator(keypad.press, keypad.reboot)
        where = ["--host", broker.host, "--port", str(broker.port), "--hall", HALL]
        device = ["--window", "6", "--device", "K06", "--action-seconds", "5"]
        timing = ["--resend-seconds", "2", "--will-seconds", "5"]
        monkeypatch.setenv(PASSWORD_ENV, accounts.controller_password)
        try:
            with redirect_stdout(operator):
                code = main(["conformance", "keypad-mqtt", *where, *device, *timing])
        finally:
            keypad.stop()
    text = operator.getvalue()
    assert code == 0, text
    assert "SKIP" not in text, text
    kinds = ["power" if "switch" in p else "next" for p in operator.prompts]
    assert kinds == ["next", "next", "next", "power", "next"], operator.prompts


def test_an_operator_following_the_prompts_certifies_a_wired_keypad() -> None:
    with SimulatedKeypadLine(baudrate=int(BAUD)) as line:
        keypad = line.add_keypad(4)
        operator = _Operator(keypad.press, keypad.reboot)
        with redirect_stdout(operator):
            code = main(
                ["conformance", "keypad-serial", "--port", line.url, "--address", "4", *FAST]
            )
    text = operator.getvalue()
    assert code == 0, text
    assert "SKIP" not in text, text
    # next, next, rating, power, next; then next for the press age (a version 2 keypad)
    assert len(operator.prompts) == 6, operator.prompts


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
