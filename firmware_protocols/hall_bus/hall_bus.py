"""Hall bus framing, version 1: RS-485 multi-drop frames shared by LED displays and keypads.

Modbus RTU conventions (addresses 1-247, 0 = broadcast without reply, CRC-16/MODBUS sent low
byte first) plus a start marker, a length, a protocol version and a per-device sequence number.
Wire format, timing and worked examples: docs/protocols/hall-bus.md.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import ClassVar, Final

from firmware_protocols.hall_bus.hall_bus_fields import HallBusError, PayloadReader, u8_field

PROTOCOL_VERSION: Final = 1
MAX_VERSION: Final = 0x0F  # the high nibble of the version byte is reserved (0)
START: Final = b"\xff\xa5"  # 0xFF never occurs in GB18030 or ASCII text; see the doc
HEADER_BYTES: Final = 9  # start (2), version, address, control, seq, function, length (2)
CRC_BYTES: Final = 2
OVERHEAD_BYTES: Final = HEADER_BYTES + CRC_BYTES
MAX_FRAME_BYTES: Final = 512  # one receive buffer on a small MCU; 533 ms of bus at 9600 baud
MAX_PAYLOAD_BYTES: Final = MAX_FRAME_BYTES - OVERHEAD_BYTES
BROADCAST: Final = 0
MAX_ADDRESS: Final = 247
CONTROL_REPLY: Final = 0x80  # set in every frame a device sends; bits 0-6 are reserved (0)
BITS_PER_BYTE: Final = 10  # 8N1: start bit, 8 data bits, stop bit

# Function codes: 0x00 and 0xFF are never valid; each device family owns a range.
FN_ACK: Final = 0x01
FN_NAK: Final = 0x02
FN_IDENTIFY: Final = 0x03
GENERIC_FUNCTIONS: Final = range(0x01, 0x20)
LED_FUNCTIONS: Final = range(0x40, 0x60)
KEYPAD_FUNCTIONS: Final = range(0x60, 0x80)
VENDOR_FUNCTIONS: Final = range(0xF0, 0xFF)  # private to one vendor; a master never sends them
MAX_FIRMWARE_CHARS: Final = 32


class NakReason(enum.IntEnum):
    """Why a device refused a well-formed frame (NAK payload byte 1)."""

    UNKNOWN_FUNCTION = 0x01
    BAD_PAYLOAD = 0x02
    UNSUPPORTED_VERSION = 0x03  # NAK detail byte = the device's highest version
    NOT_SUPPORTED = 0x04  # a known function this device cannot do (board text on a strip)
    BUSY = 0x05  # try again after the reply timeout


class DeviceClass(enum.IntEnum):
    """What a device is, from its IDENTIFY reply."""

    LED_STRIP = 0x01
    LED_BOARD = 0x02
    KEYPAD = 0x03


@dataclass(frozen=True)
class Frame:
    """One frame; `reply` is set on every frame a device sends (the control byte's bit 7)."""

    address: int
    function: int
    seq: int
    payload: bytes = b""
    reply: bool = False
    version: int = PROTOCOL_VERSION

    def __post_init__(self) -> None:
        _check_header(self.version, self.address, self.reply, self.function, len(self.payload))
        if not 0 <= self.seq <= 0xFF:
            raise HallBusError(f"sequence number {self.seq} outside 0-255", field="seq")

    def encode(self) -> bytes:
        """The frame's bytes on the wire, start marker to CRC."""
        size = len(self.payload)
        head = START + bytes(
            (
                self.version,
                self.address,
                CONTROL_REPLY if self.reply else 0,
                self.seq,
                self.function,
                size >> 8,
                size & 0xFF,
            )
        )
        body = head + self.payload
        crc = crc16_modbus(body)
        return body + bytes((crc & 0xFF, crc >> 8))

    @classmethod
    def decode(cls, data: bytes) -> Frame:
        """Exactly one whole frame; HallBusError naming the first thing wrong."""
        if len(data) < OVERHEAD_BYTES:
            raise HallBusError(f"{len(data)} bytes, a frame has at least {OVERHEAD_BYTES}")
        if len(data) > MAX_FRAME_BYTES:
            raise HallBusError(f"{len(data)} bytes, more than {MAX_FRAME_BYTES}")
        problem = _header_problem(data)
        if problem is not None:
            raise HallBusError(problem[0], field=problem[1], offset=problem[2])
        size = data[7] << 8 | data[8]
        if len(data) != OVERHEAD_BYTES + size:
            raise HallBusError(f"length field says {size} payload bytes, got {len(data) - 11}")
        crc = crc16_modbus(data[:-CRC_BYTES])
        sent = data[-2] | data[-1] << 8
        if crc != sent:
            raise HallBusError(
                f"CRC {sent:04X} sent, {crc:04X} computed", field="crc", offset=len(data) - 2
            )
        return _frame_at(data, 0, size)


def crc16_modbus(data: bytes) -> int:
    """CRC-16/MODBUS: polynomial 0x8005 reflected (0xA001), init 0xFFFF, no final XOR."""
    crc = 0xFFFF
    table = _CRC_TABLE
    for byte in data:
        crc = (crc >> 8) ^ table[(crc ^ byte) & 0xFF]
    return crc


def wire_seconds(size: float, baudrate: int) -> float:
    """How long `size` bytes take on the line at `baudrate`, 8N1 (10 bits a byte)."""
    return size * BITS_PER_BYTE / baudrate


def reply_to(request: Frame, function: int, payload: bytes = b"") -> Frame:
    """A device's reply to `request`: same address, seq and version, reply bit set."""
    if request.address == BROADCAST:
        raise HallBusError("a broadcast frame is never answered", field="address")
    return Frame(
        request.address, function, request.seq, payload, reply=True, version=request.version
    )


@dataclass(frozen=True)
class Ack:
    """A device took the frame (payload: the function acknowledged)."""

    function: int

    def encode(self) -> bytes:
        """The ACK payload."""
        return bytes((_function_byte(self.function),))

    @classmethod
    def decode(cls, payload: bytes) -> Ack:
        """An ACK payload; HallBusError if malformed."""
        reader = PayloadReader(payload)
        ack = cls(reader.function("acked function"))
        reader.end()
        return ack


@dataclass(frozen=True)
class Nak:
    """A device refused a well-formed frame: the function refused, why, one detail byte."""

    function: int
    reason: NakReason
    detail: int = 0

    def encode(self) -> bytes:
        """The NAK payload."""
        detail = u8_field(self.detail, "detail")
        return bytes((_function_byte(self.function), NakReason(self.reason), detail))

    @classmethod
    def decode(cls, payload: bytes) -> Nak:
        """A NAK payload; HallBusError if malformed or the reason is unknown."""
        reader = PayloadReader(payload)
        function = reader.function("nak function")
        raw = reader.u8("reason")
        try:
            reason = NakReason(raw)
        except ValueError as err:
            raise HallBusError(f"unknown NAK reason {raw:#04x}", field="reason") from err
        nak = cls(function, reason, reader.u8("detail"))
        reader.end()
        return nak


@dataclass(frozen=True)
class IdentifyQuery:
    """IDENTIFY request (empty payload): which device is this, and which versions does it speak."""

    function: ClassVar[int] = FN_IDENTIFY

    def encode(self) -> bytes:
        """The empty IDENTIFY payload."""
        return b""

    @classmethod
    def decode(cls, payload: bytes) -> IdentifyQuery:
        """An IDENTIFY request payload (must be empty)."""
        PayloadReader(payload).end()
        return cls()


@dataclass(frozen=True)
class Identity:
    """IDENTIFY reply: device class, highest protocol version, firmware name (printable ASCII)."""

    device_class: int
    max_version: int
    firmware: str = ""

    def __post_init__(self) -> None:
        u8_field(self.device_class, "device_class")
        if not PROTOCOL_VERSION <= self.max_version <= MAX_VERSION:
            raise HallBusError(f"version {self.max_version} outside 1-15", field="max_version")
        firmware = self.firmware
        if len(firmware) > MAX_FIRMWARE_CHARS or not all(" " <= c <= "~" for c in firmware):
            raise HallBusError("at most 32 printable ASCII characters", field="firmware")

    def encode(self) -> bytes:
        """The IDENTIFY reply payload."""
        name = self.firmware.encode("ascii")
        return bytes((self.device_class, self.max_version, len(name))) + name

    @classmethod
    def decode(cls, payload: bytes) -> Identity:
        """An IDENTIFY reply payload; HallBusError if malformed."""
        reader = PayloadReader(payload)
        device_class, version = reader.u8("device_class"), reader.u8("max_version")
        size = reader.u8("firmware length")
        raw = reader.raw(size, "firmware")
        reader.end()
        try:
            firmware = raw.decode("ascii")
        except UnicodeDecodeError as err:
            raise HallBusError("not ASCII", field="firmware") from err
        return cls(device_class, version, firmware)


class FrameDecoder:
    """Bytes in, whole frames out: copes with split, glued and garbled input, resynchronising."""

    def __init__(self) -> None:
        self._buffer = bytearray()
        self.discarded = 0  # bytes skipped since creation: noise, broken or partial frames

    @property
    def buffered(self) -> int:
        """Bytes held while waiting for the rest of a frame."""
        return len(self._buffer)

    def feed(self, data: bytes) -> list[Frame]:
        """Every frame completed by `data`, in order; bad bytes are counted in `discarded`."""
        buffer = self._buffer
        buffer += data
        frames: list[Frame] = []
        while True:
            start = buffer.find(START)
            if start < 0:
                # Keep a trailing 0xFF: it may be the first half of the next start marker.
                keep = 1 if buffer.endswith(START[:1]) else 0
                self._skip(len(buffer) - keep)
                return frames
            self._skip(start)
            if len(buffer) < HEADER_BYTES:
                return frames
            if _header_problem(buffer) is not None:
                self._skip(1)  # a false start; look for the next marker
                continue
            total = OVERHEAD_BYTES + (buffer[7] << 8 | buffer[8])
            if len(buffer) < total:
                return frames
            end = total - CRC_BYTES
            crc = crc16_modbus(bytes(buffer[:end]))
            if crc != buffer[end] | buffer[end + 1] << 8:
                self._skip(1)
                continue
            frames.append(_frame_at(buffer, 0, total - OVERHEAD_BYTES))
            del buffer[:total]

    def idle(self) -> int:
        """The line went quiet: drop a partial frame (a lost byte or a false length); bytes dropped."""
        dropped = len(self._buffer)
        self._skip(dropped)
        return dropped

    def _skip(self, count: int) -> None:
        if count:
            del self._buffer[:count]
            self.discarded += count


class RepeatFilter:
    """A device's memory of the last frame it executed per address: spots a resent frame."""

    def __init__(self) -> None:
        self._last: dict[int, tuple[int, int, int]] = {}

    def is_repeat(self, frame: Frame) -> bool:
        """True if `frame` is the one executed last for its address (same seq and content)."""
        key = (frame.seq, frame.function, crc16_modbus(frame.payload))
        if self._last.get(frame.address) == key:
            return True
        self._last[frame.address] = key
        return False

    def forget(self) -> None:
        """Power cycle: nothing was executed yet."""
        self._last.clear()


def _function_byte(value: int) -> int:
    return u8_field(value, "function", 0x01, 0xFE)


def _check_header(version: int, address: int, reply: bool, function: int, size: int) -> None:
    if not PROTOCOL_VERSION <= version <= MAX_VERSION:
        raise HallBusError(f"version {version} outside 1-15", field="version")
    if not 0 <= address <= MAX_ADDRESS or (reply and address == BROADCAST):
        raise HallBusError(f"address {address} not allowed", field="address")
    _function_byte(function)
    if size > MAX_PAYLOAD_BYTES:
        raise HallBusError(f"{size} payload bytes, at most {MAX_PAYLOAD_BYTES}", field="payload")


def _header_problem(data: bytes | bytearray) -> tuple[str, str, int] | None:
    version, address, control, function = data[2], data[3], data[4], data[6]
    if not PROTOCOL_VERSION <= version <= MAX_VERSION:
        return f"version {version} outside 1-15", "version", 2
    if address > MAX_ADDRESS:
        return f"address {address} is reserved", "address", 3
    if control & ~CONTROL_REPLY:
        return f"reserved control bits set ({control:#04x})", "control", 4
    if control and address == BROADCAST:
        return "a reply from the broadcast address", "address", 3
    if function in (0x00, 0xFF):
        return f"function {function:#04x} is never valid", "function", 6
    if (data[7] << 8 | data[8]) > MAX_PAYLOAD_BYTES:
        return f"length over {MAX_PAYLOAD_BYTES}", "length", 7
    return None


def _frame_at(data: bytes | bytearray, at: int, size: int) -> Frame:
    return Frame(
        address=data[at + 3],
        function=data[at + 6],
        seq=data[at + 5],
        payload=bytes(data[at + HEADER_BYTES : at + HEADER_BYTES + size]),
        reply=bool(data[at + 4] & CONTROL_REPLY),
        version=data[at + 2],
    )


def _crc_table() -> tuple[int, ...]:
    table = []
    for byte in range(256):
        crc = byte
        for _ in range(8):
            crc = (crc >> 1) ^ 0xA001 if crc & 1 else crc >> 1
        table.append(crc)
    return tuple(table)


_CRC_TABLE: Final = _crc_table()
