"""`hallctl led scan` and `hallctl keypads scan`: the addresses that answer on one RS-485 line.

Each address gets IDENTIFY (hall-bus.md section 8); the answers are listed with their type,
protocol version and firmware. With `--config`, the line's configured addresses are compared:
a display set to a wrong address shows as "configured, no answer" beside "answers, not
configured". Stop the hall first: a serial port has one owner.
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from controller.domain.errors import HallError
from controller.settings.config_loader import load_config
from devices.rs485.hall_bus_scan import Answer, ScanPortError, scan_line
from firmware_protocols.hall_bus.hall_bus import MAX_ADDRESS

TYPE_NAMES = {
    "led_strip": "LED条屏 / LED strip",
    "led_board": "综合屏 / LED board",
    "keypad": "评价器 / keypad",
}
EXPECTED = {"led": {"led_strip", "led_board"}, "keypads": {"keypad"}}
DEFAULT_BAUD = {"led": 9600, "keypads": 38_400}


def add_led_commands(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Register `hallctl led scan`."""
    led = sub.add_parser("led", help="look after the LED strips and boards (条屏/综合屏)")
    actions = led.add_subparsers(required=True, metavar="ACTION")
    add_scan_command(actions, "led")


def add_scan_command(
    actions: argparse._SubParsersAction[argparse.ArgumentParser], family: str
) -> None:
    """Register `scan` for `family` ("led" or "keypads") under `actions`."""
    scan = actions.add_parser(
        "scan",
        help="list the addresses that answer on a line (type, protocol version, firmware)",
        description="IDENTIFY every address on one RS-485 line and list who answers. Stop the "
        "hall first: the port has one owner.",
    )
    scan.add_argument("--port", required=True, help="serial device or pyserial URL of the line")
    scan.add_argument(
        "--baud",
        type=int,
        default=DEFAULT_BAUD[family],
        help=f"line speed (default {DEFAULT_BAUD[family]})",
    )
    scan.add_argument("--first", type=int, default=1, help="first address (default 1)")
    scan.add_argument(
        "--last", type=int, default=MAX_ADDRESS, help=f"last address (default {MAX_ADDRESS})"
    )
    scan.add_argument(
        "--timeout",
        type=float,
        default=0.03,
        help="seconds to wait for each reply (default 0.03; devices answer within 0.02)",
    )
    scan.add_argument(
        "--config", default=None, help="hall config: compare with the line that has this port"
    )
    scan.add_argument("--json", action="store_true", help="print the result as JSON")
    scan.set_defaults(run=run_scan, family=family)


def run_scan(args: argparse.Namespace) -> int:
    """Scan; 0 when something answered (and, with --config, everything configured did), else 3."""
    if not 1 <= args.first <= args.last <= MAX_ADDRESS:
        raise HallError(f"addresses {args.first}-{args.last}: give 1 <= --first <= --last <= 247")
    if not 0 < args.timeout <= 5:
        raise HallError(f"--timeout {args.timeout}: give a value in (0, 5] seconds")
    configured = _configured(args) if args.config else None
    try:
        answers = scan_line(
            args.port,
            baudrate=args.baud,
            addresses=range(args.first, args.last + 1),
            reply_timeout_seconds=args.timeout,
        )
    except ScanPortError as err:
        raise HallError(f"cannot open the line: {err}") from err
    result = _result(args.family, answers, configured)
    if args.json:
        print(json.dumps(result, ensure_ascii=False, indent=2))
    else:
        _print(args, result)
    missing = result["configured_missing"]
    return 0 if answers and not missing else 3


def _configured(args: argparse.Namespace) -> set[int]:
    config = load_config(args.config)
    if args.family == "led":
        lines = {bus.url: {strip.address for strip in bus.strips} for bus in config.led.buses}
    else:
        lines = {bus.url: set(bus.keypads) for bus in config.keypads.serial.buses}
    if args.port not in lines:
        raise HallError(f"{args.config}: no {args.family} line with url = {args.port!r}")
    return lines[args.port]


def _result(family: str, answers: list[Answer], configured: set[int] | None) -> dict[str, Any]:
    rows = []
    for answer in answers:
        row = answer.row()
        row["expected_type"] = answer.device_type in EXPECTED[family]
        if configured is not None:
            row["configured"] = answer.address in configured
        rows.append(row)
    answered = {a.address for a in answers}
    missing = sorted(configured - answered) if configured is not None else []
    return {"family": family, "answers": rows, "configured_missing": missing}


def _print(args: argparse.Namespace, result: dict[str, Any]) -> None:
    print(f"{args.port} @ {args.baud} baud, addresses {args.first}-{args.last}:")
    if not result["answers"]:
        print("  无应答 / nothing answered (check wiring, baud rate, A/B polarity, termination)")
    for row in result["answers"]:
        kind = TYPE_NAMES.get(row["type"], row["type"])
        text = f"  {row['address']:>3}  {kind}"
        if row["nak"]:
            text += f"  NAK {row['nak']}"
        else:
            text += f"  v{row['protocol_version']}  {row['firmware']!r}"
        if not row["expected_type"]:
            text += "  ← 不是此类设备 / not a device of this family"
        if row.get("configured") is False:
            text += "  ← 配置中没有此地址 / not configured"
        print(text)
    for address in result["configured_missing"]:
        print(f"  {address:>3}  配置了但无应答 / configured, no answer", file=sys.stdout)
