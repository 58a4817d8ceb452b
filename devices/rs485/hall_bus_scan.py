"""Who answers on a hall bus line: IDENTIFY to each address in turn (hall-bus.md section 8).

`hallctl led scan` and `hallctl keypads scan` (controller/cli/scan.py): a strip set to a wrong
address is found instead of being merely "offline". The line must have no other owner while it
is scanned (stop the hall first): one process per serial port.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from devices.keypad.serial_config import KeypadBusConfig
from devices.rs485.master_line import LineSettings, MasterLine
from firmware_protocols.hall_bus.hall_bus import (
    FN_IDENTIFY,
    FN_NAK,
    MAX_ADDRESS,
    DeviceClass,
    Frame,
    Identity,
    Nak,
)
from firmware_protocols.hall_bus.hall_bus_fields import HallBusError
from firmware_protocols.keypad.keypad_serial_fields import MAX_REPLY_BYTES

CLASS_NAMES = {
    DeviceClass.LED_STRIP: "led_strip",
    DeviceClass.LED_BOARD: "led_board",
    DeviceClass.KEYPAD: "keypad",
}


class ScanPortError(OSError):
    """The line's port cannot be opened; names the port and why."""


@dataclass(frozen=True)
class Answer:
    """One address that answered IDENTIFY: its type, protocol version and firmware (or its NAK)."""

    address: int
    device_type: str  # led_strip, led_board, keypad, or class_0xNN
    protocol_version: int | None
    firmware: str
    nak: str | None = None  # the NAK reason when it refused IDENTIFY

    def row(self) -> dict[str, object]:
        """As a JSON object."""
        return {
            "address": self.address,
            "type": self.device_type,
            "protocol_version": self.protocol_version,
            "firmware": self.firmware,
            "nak": self.nak,
        }


def scan_line(
    url: str,
    *,
    baudrate: int,
    addresses: range = range(1, MAX_ADDRESS + 1),
    reply_timeout_seconds: float = 0.03,
    tries: int = 2,
    progress: Callable[[int], None] | None = None,
) -> list[Answer]:
    """IDENTIFY every address of `addresses` on the line at `url` (`tries` each); who answered."""
    # The keypad bus's byte pipe is a plain hall bus master; its keypad map is not used here.
    config = KeypadBusConfig(
        id="scan",
        url=url,
        baudrate=baudrate,
        reply_timeout_seconds=reply_timeout_seconds,
        keypads={1: 1},
    )
    # The keypad line's reply timing (a reply's own wire time added once it begins).
    line = MasterLine(LineSettings.of("scan", config, MAX_REPLY_BYTES, 0.005, up_front=False))
    found: list[Answer] = []
    try:
        for seq, address in enumerate(addresses):
            request = Frame(address, FN_IDENTIFY, seq & 0xFF).encode()
            reply = None
            for _ in range(tries):
                reply = line.exchange(request, address, seq & 0xFF)
                if line.port_error:
                    raise ScanPortError(f"{url}: {line.port_error}")
                if reply is not None:
                    break
            if reply is not None:
                found.append(_answer(address, reply))
            if progress is not None:
                progress(address)
    finally:
        line.close()
    return found


def _answer(address: int, reply: Frame) -> Answer:
    if reply.function == FN_NAK:
        try:
            nak = Nak.decode(reply.payload).reason.name
        except HallBusError:
            nak = f"unreadable NAK {reply.payload.hex()}"
        return Answer(address, "unknown", None, "", nak)
    try:
        identity = Identity.decode(reply.payload)
    except HallBusError as err:
        return Answer(address, "unknown", None, "", f"unreadable IDENTIFY reply: {err}")
    try:
        kind = CLASS_NAMES[DeviceClass(identity.device_class)]
    except ValueError:
        kind = f"class_0x{identity.device_class:02x}"
    return Answer(address, kind, identity.max_version, identity.firmware)
