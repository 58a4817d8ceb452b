"""The kit's bus master on one serial port: raw bytes out, every reply heard back, with timings.

Unlike the controller's line it forgives what it must report: a reply whose two CRC bytes are
swapped is still read (and flagged), replies are matched by address alone (a wrong seq is
evidence, not noise), bytes that are no frame are counted, and it listens past the reply
timeout so that a late reply is told apart from none.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import serial

from controller.domain.errors import HallError
from firmware_protocols.hall_bus.hall_bus import (
    HEADER_BYTES,
    MAX_PAYLOAD_BYTES,
    OVERHEAD_BYTES,
    START,
    Frame,
    wire_seconds,
)
from firmware_protocols.hall_bus.hall_bus_fields import HallBusError

_READ_SLICE = 0.002
IDLE_RESET_SECONDS = 0.05  # hall-bus.md section 6: silence that ends a partial frame


class ProbeError(HallError):
    """The serial port of the device under test cannot be used."""


@dataclass(frozen=True)
class Heard:
    """One frame received: was its CRC sent high byte first, when did it start (estimated)."""

    frame: Frame
    crc_swapped: bool
    latency: float  # seconds from the request's last byte to the reply's first byte


@dataclass
class Exchange:
    """What came back for one request: every frame, stray bytes, the reply from `address`."""

    sent: bytes
    heard: list[Heard] = field(default_factory=list)
    garbage: int = 0  # bytes that were no frame at all
    reply: Heard | None = None


class LenientDecoder:
    """Finds frames as hall-bus.md section 6 does, but reads swapped-CRC frames and flags them."""

    def __init__(self) -> None:
        self._buffer = bytearray()
        self.garbage = 0

    def feed(self, data: bytes) -> list[tuple[Frame, bool]]:
        """Every frame completed by `data`, each with whether its CRC bytes were swapped."""
        buffer = self._buffer
        buffer += data
        found: list[tuple[Frame, bool]] = []
        while True:
            start = buffer.find(START)
            if start < 0:
                keep = 1 if buffer.endswith(START[:1]) else 0
                self._skip(len(buffer) - keep)
                return found
            self._skip(start)
            if len(buffer) < HEADER_BYTES:
                return found
            size = buffer[7] << 8 | buffer[8]
            if size > MAX_PAYLOAD_BYTES:
                self._skip(1)
                continue
            total = OVERHEAD_BYTES + size
            if len(buffer) < total:
                return found
            frame = _read(bytes(buffer[:total]))
            if frame is None:
                self._skip(1)
                continue
            found.append(frame)
            del buffer[:total]

    def idle(self) -> None:
        """The line went quiet: a partial frame is garbage."""
        self._skip(len(self._buffer))

    def _skip(self, count: int) -> None:
        if count:
            del self._buffer[:count]
            self.garbage += count


class SerialProbe:
    """The master's side of one RS-485 line for a kit run; `listen` seconds per request."""

    def __init__(self, url: str, baudrate: int, *, listen: float = 0.5) -> None:
        self.baudrate = baudrate
        self.listen = listen
        self.exchanges = 0
        self.stray: list[Heard] = []  # frames heard between requests: late or extra replies
        self.widest_gap = 0.0  # the longest pause between two bytes sent one at a time
        try:
            self._port = serial.serial_for_url(url, baudrate=baudrate, timeout=_READ_SLICE)
        except (OSError, ValueError) as err:
            raise ProbeError(f"cannot open {url} at {baudrate} baud: {err}") from err

    def close(self) -> None:
        """Release the port."""
        self._port.close()

    def send(
        self,
        data: bytes,
        *,
        address: int | None,
        byte_gap: float | None = None,
        pause_after: int | None = None,
    ) -> Exchange:
        """Send `data` and listen; stop early once a reply from `address` (None: none expected) came.

        `byte_gap` sends one byte at a time with that gap; `pause_after` sends the first bytes,
        waits twice the idle reset time, then the rest.
        """
        exchange = Exchange(data)
        self._drain()
        decoder = LenientDecoder()
        try:
            ended = self._write(data, byte_gap, pause_after)
            deadline = ended + self.listen
            while time.monotonic() < deadline and exchange.reply is None:
                chunk = self._port.read(max(1, self._port.in_waiting))
                if chunk:
                    self._take(decoder, chunk, ended, exchange, address)
        except (OSError, ValueError) as err:
            raise ProbeError(f"the serial port failed: {err}") from err
        decoder.idle()
        exchange.garbage = decoder.garbage
        self.exchanges += 1
        return exchange

    def _write(self, data: bytes, byte_gap: float | None, pause_after: int | None) -> float:
        if byte_gap is not None:
            last = time.monotonic()
            for i in range(len(data)):
                self._port.write(data[i : i + 1])
                now = time.monotonic()
                self.widest_gap = max(self.widest_gap, now - last)
                last = now
                time.sleep(byte_gap)
            return time.monotonic() + wire_seconds(1, self.baudrate)
        if pause_after is not None:
            self._port.write(data[:pause_after])
            time.sleep(wire_seconds(pause_after, self.baudrate) + 2 * IDLE_RESET_SECONDS)
            data = data[pause_after:]
        self._port.write(data)
        return time.monotonic() + wire_seconds(len(data), self.baudrate)

    def _take(
        self,
        decoder: LenientDecoder,
        chunk: bytes,
        ended: float,
        exchange: Exchange,
        address: int | None,
    ) -> None:
        now = time.monotonic()
        for frame, swapped in decoder.feed(chunk):
            size = OVERHEAD_BYTES + len(frame.payload)
            latency = max(0.0, now - wire_seconds(size, self.baudrate) - ended)
            heard = Heard(frame, swapped, latency)
            exchange.heard.append(heard)
            if address is not None and frame.reply and frame.address == address:
                exchange.reply = exchange.reply or heard

    def _drain(self) -> None:
        # Late replies from before: the next request must not take them for its own.
        time.sleep(wire_seconds(3.5, self.baudrate))
        waiting = self._port.in_waiting
        if waiting:
            decoder = LenientDecoder()
            for frame, swapped in decoder.feed(self._port.read(waiting)):
                self.stray.append(Heard(frame, swapped, self.listen))


def _read(candidate: bytes) -> tuple[Frame, bool] | None:
    try:
        return Frame.decode(candidate), False
    except HallBusError as err:
        if err.field != "crc":
            return None
    swapped = candidate[:-2] + candidate[-1:] + candidate[-2:-1]
    try:
        return Frame.decode(swapped), True
    except HallBusError:
        return None
