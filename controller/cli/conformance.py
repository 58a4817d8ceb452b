"""`hallctl conformance led-strip | keypad-serial | keypad-mqtt`: certify a vendor's device.

Runs the documented behaviour (docs/protocols/) against one device, real or our simulated twin
(`--simulated`), and prints PASS, FAIL or SKIP per clause with the spec page and section. The
exit code is 0 when no clause failed, 1 otherwise. How to wire and read it:
docs/protocols/certify-a-device.md.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from controller.domain.errors import HallError
from firmware_protocols.keypad.keypad_mqtt import KeypadTopic, TopicKind

if TYPE_CHECKING:  # the kits load pyserial, paho and jsonschema: only when a kit runs
    from devices.conformance.hands import Hands
    from devices.conformance.report import Report
    from devices.conformance.serial_probe import SerialProbe
    from devices.conformance.twins import SerialTwin

PASSWORD_ENV = "HALLCTL_MQTT_PASSWORD"


def add_conformance_commands(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Register `hallctl conformance led-strip|keypad-serial|keypad-mqtt ...`."""
    parser = sub.add_parser(
        "conformance",
        help="check a vendor's LED strip or keypad against docs/protocols, clause by clause",
        description="Run the documented protocol against one device and print PASS/FAIL per "
        "clause of the spec. Exit code 0: every clause passed or was skipped; 1: one failed; "
        "2: the run stopped early (the device fell silent).",
    )
    kinds = parser.add_subparsers(required=True, metavar="DEVICE")
    led = kinds.add_parser("led-strip", help="an LED window strip or board on RS-485")
    _serial_args(led, baud=9600)
    led.set_defaults(run=_led_strip)
    keypad = kinds.add_parser("keypad-serial", help="a wired window keypad on RS-485")
    _serial_args(keypad, baud=38_400)
    keypad.set_defaults(run=_keypad_serial)
    mqtt = kinds.add_parser("keypad-mqtt", help="a Wi-Fi window keypad on the hall's broker")
    _common_args(mqtt)
    mqtt.add_argument("--host", default="127.0.0.1", help="the broker (default 127.0.0.1)")
    mqtt.add_argument("--port", type=int, default=1883, help="the broker's port (default 1883)")
    mqtt.add_argument("--tls-ca", type=Path, help="the hall CA certificate: connect over TLS")
    mqtt.add_argument("--hall", default="bench", help="hall id of the topics (default bench)")
    mqtt.add_argument("--window", type=int, default=3, help="the keypad's window (default 3)")
    mqtt.add_argument("--device", default="K03", help="the keypad's device id (default K03)")
    mqtt.add_argument("--username", default="hall-controller", help="the controller's broker user")
    mqtt.add_argument(
        "--password-file",
        type=Path,
        help=f"file holding that user's password (default ${PASSWORD_ENV})",
    )
    mqtt.add_argument(
        "--resend-seconds", type=float, default=5.0, help="the keypad's resend period (spec: 5)"
    )
    mqtt.add_argument(
        "--will-seconds",
        type=float,
        default=150.0,
        help="how long to wait for the last will after a power-off (default 150)",
    )
    mqtt.set_defaults(run=_keypad_mqtt)


def _common_args(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--simulated",
        action="store_true",
        help="run against our own simulated twin instead of a device (a demonstration)",
    )
    parser.add_argument(
        "--unattended",
        action="store_true",
        help="nobody at the bench: skip the clauses that need a key press or a power cycle",
    )
    parser.add_argument(
        "--json", action="store_true", help="print the report as JSON (for a test rig)"
    )
    parser.add_argument(
        "--action-seconds",
        type=float,
        default=60.0,
        help="how long to wait after asking for a key press or power cycle (default 60)",
    )


def _serial_args(parser: argparse.ArgumentParser, *, baud: int) -> None:
    _common_args(parser)
    parser.add_argument("--port", help="serial port, e.g. /dev/ttyUSB0 (any pyserial URL)")
    parser.add_argument("--baud", type=int, default=baud, help=f"baud rate (default {baud})")
    parser.add_argument("--address", type=int, default=1, help="the device's address (default 1)")
    parser.add_argument(
        "--listen",
        type=float,
        default=0.5,
        help="seconds to listen for a reply or for silence (default 0.5)",
    )
    parser.add_argument(
        "--adapter-ms",
        type=float,
        default=20.0,
        help="reply time a USB-RS485 adapter adds, allowed on top of 20 ms (default 20)",
    )


def _led_strip(args: argparse.Namespace) -> int:
    from devices.conformance.led_strip import LedStripKit
    from devices.conformance.twins import led_twin

    with _serial_device(args, led_twin) as (url, hands):
        probe = _probe(url, args)
        try:
            kit = LedStripKit(
                probe,
                args.address,
                hands=hands,
                action_seconds=args.action_seconds,
                allowance=args.adapter_ms / 1000,
            )
            return _print(kit.run(), f"{url} at {args.baud} baud", args.json)
        finally:
            probe.close()


def _keypad_serial(args: argparse.Namespace) -> int:
    from devices.conformance.keypad_serial import KeypadSerialKit
    from devices.conformance.twins import keypad_line_twin

    with _serial_device(args, keypad_line_twin) as (url, hands):
        probe = _probe(url, args)
        try:
            kit = KeypadSerialKit(
                probe,
                args.address,
                hands=hands,
                action_seconds=args.action_seconds,
                allowance=args.adapter_ms / 1000,
            )
            return _print(kit.run(), f"{url} at {args.baud} baud", args.json)
        finally:
            probe.close()


def _keypad_mqtt(args: argparse.Namespace) -> int:
    from devices.conformance.hands import OperatorHands
    from devices.conformance.twins import mqtt_twin

    if args.simulated:
        with mqtt_twin(args.hall, args.device, args.window, args.resend_seconds) as twin:
            login = BrokerLogin(twin.host, twin.port, twin.username, twin.password)
            return _run_mqtt(args, login, None if args.unattended else twin.hands)
    password = _password(args.password_file)
    login = BrokerLogin(args.host, args.port, args.username, password)
    return _run_mqtt(args, login, None if args.unattended else OperatorHands())


@dataclass(frozen=True)
class BrokerLogin:
    """Where the broker is and who the kit logs in as (the controller's user)."""

    host: str
    port: int
    username: str
    password: str


def _run_mqtt(args: argparse.Namespace, login: BrokerLogin, hands: Hands | None) -> int:
    from devices.conformance.keypad_mqtt import KeypadMqttKit
    from devices.conformance.mqtt_watch import MqttWatch

    def topic(kind: TopicKind) -> KeypadTopic:
        return KeypadTopic(args.hall, args.window, args.device, kind)

    watch = MqttWatch(
        topic,
        host=login.host,
        port=login.port,
        username=login.username,
        password=login.password,
        tls_ca=args.tls_ca,
    ).start()
    try:
        kit = KeypadMqttKit(
            watch,
            args.device,
            hands=hands,
            action_seconds=args.action_seconds,
            resend_seconds=args.resend_seconds,
            will_seconds=args.will_seconds,
        )
        where = f"broker {login.host}:{login.port}, topics {topic(TopicKind.EVENT)}"
        return _print(kit.run(), where, args.json)
    finally:
        watch.close()


@contextmanager
def _serial_device(
    args: argparse.Namespace, twin: Callable[[int, int], AbstractContextManager[SerialTwin]]
) -> Iterator[tuple[str, Hands | None]]:
    if args.simulated:
        with twin(args.address, args.baud) as started:
            yield started.url, None if args.unattended else started.hands
        return
    if not args.port:
        raise HallError("say which serial port the device is on: --port /dev/ttyUSB0")
    from devices.conformance.hands import OperatorHands

    yield args.port, None if args.unattended else OperatorHands()


def _probe(url: str, args: argparse.Namespace) -> SerialProbe:
    from devices.conformance.serial_probe import SerialProbe

    return SerialProbe(url, args.baud, listen=args.listen)


def _password(path: Path | None) -> str:
    if path is not None:
        try:
            return path.read_text(encoding="utf-8").strip()
        except OSError as err:
            raise HallError(f"cannot read the password file {path}: {err}") from err
    password = os.environ.get(PASSWORD_ENV, "")
    if not password:
        raise HallError(f"the broker password: --password-file FILE or ${PASSWORD_ENV}")
    return password


def _print(report: Report, where: str, as_json: bool) -> int:
    from devices.conformance.report import print_report, report_json

    report.notes.insert(0, where)
    if as_json:
        print(report_json(report))
    else:
        print_report(report, sys.stdout)
    return {"PASS": 0, "FAIL": 1}.get(report.verdict, 2)
