"""`hallctl led scan` / `hallctl keypads scan` against simulated twins on real pseudo-terminals."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import pytest

from controller.cli.main import main
from controller.settings.hall_config import HallConfig
from devices.keypad.sim_keypad_serial import SimulatedKeypadLine
from devices.led.sim_led_strip import SimulatedLedBus
from tests.conftest import EXAMPLE_CONFIG


def scan(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, dict[str, Any]]:
    """Run `hallctl ARGS --json` in this process; its exit code and printed JSON."""
    code = main([*args, "--json"])
    return code, json.loads(capsys.readouterr().out)


def test_led_scan_lists_each_display_with_type_version_and_firmware(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with SimulatedLedBus(baudrate=38_400, link=tmp_path / "led") as line:
        line.add_strip(2)
        line.add_strip(9)  # set to a wrong address at installation
        line.add_strip(40, board=True, lines=4, columns=32)
        code, found = scan(
            capsys, "led", "scan", "--port", line.url, "--baud", "38400", "--last", "48"
        )
    assert code == 0
    rows = [
        (r["address"], r["type"], r["protocol_version"], r["expected_type"])
        for r in found["answers"]
    ]
    assert rows == [
        (2, "led_strip", 1, True),
        (9, "led_strip", 1, True),
        (40, "led_board", 1, True),
    ]
    firmware = {r["firmware"] for r in found["answers"]}
    assert len(firmware) == 1 and "" not in firmware


def test_led_scan_with_the_config_names_the_display_at_a_wrong_address(
    hall_config: HallConfig, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with SimulatedLedBus(baudrate=9600, link=tmp_path / "led") as line:
        line.add_strip(1)
        line.add_strip(30)  # set to 30 at installation: the config says 2
        text = EXAMPLE_CONFIG.read_text(encoding="utf-8")
        config = tmp_path / "hall.toml"
        config.write_text(text.replace('url = "/dev/ttyUSB2"', f'url = "{line.url}"'), "utf-8")
        code, found = scan(
            capsys, "led", "scan", "--port", line.url, "--last", "32", "--config", str(config)
        )
        main(["led", "scan", "--port", line.url, "--last", "32", "--config", str(config)])
        printed = capsys.readouterr().out
    assert code == 3
    configured = {r["address"]: r["configured"] for r in found["answers"]}
    assert configured == {1: True, 30: False}
    example = {strip.address for strip in hall_config.led.buses[0].strips}
    assert found["configured_missing"] == sorted(example - {1})
    assert "配置中没有此地址 / not configured" in printed and "configured, no answer" in printed


def test_keypads_scan_over_the_whole_address_range(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with SimulatedKeypadLine(baudrate=38_400, link=tmp_path / "kp") as line:
        line.add_keypad(3, window=3, firmware="acme-kp 2.1", version=1)
        line.add_keypad(247, window=5)
        started = time.monotonic()
        code, found = scan(capsys, "keypads", "scan", "--port", line.url)
        seconds = time.monotonic() - started
        main(["keypads", "scan", "--port", line.url, "--last", "5"])
        printed = capsys.readouterr().out
    print(f"full keypad scan, 247 addresses at 38400 baud: {seconds:.1f} s")
    assert code == 0
    rows = [(r["address"], r["type"], r["firmware"]) for r in found["answers"]]
    assert rows == [(3, "keypad", "acme-kp 2.1"), (247, "keypad", "sim-kp 1.0")]
    assert "评价器 / keypad  v1  'acme-kp 2.1'" in printed


def test_a_keypad_scan_of_an_led_line_flags_the_wrong_family(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with SimulatedLedBus(baudrate=38_400, link=tmp_path / "led") as line:
        line.add_strip(4)
        code, found = scan(capsys, "keypads", "scan", "--port", line.url, "--last", "6")
    assert code == 0
    assert [(r["address"], r["expected_type"]) for r in found["answers"]] == [(4, False)]


def test_scan_of_a_silent_line_or_a_missing_port(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with SimulatedKeypadLine(baudrate=38_400, link=tmp_path / "kp") as line:
        code, found = scan(capsys, "keypads", "scan", "--port", line.url, "--last", "4")
    assert (code, found["answers"]) == (3, [])
    assert main(["led", "scan", "--port", str(tmp_path / "no-such-tty")]) == 1
    assert "cannot open the line" in capsys.readouterr().err
    assert main(["led", "scan", "--port", "x", "--first", "9", "--last", "3"]) == 1
