"""The RS-485 master's byte pipe: one serial port (any pyserial URL), the hall bus decoder, line timing.

Shared by every bus owner speaking hall bus frames (LED displays, keypads). Opened lazily and
reopened after any error; one exchange at a time (the bus thread's).
"""

from __future__ import annotations

import logging
import termios
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol, TypeVar, cast

import serial

from firmware_protocols.hall_bus.hall_bus import Frame, FrameDecoder, wire_seconds
from firmware_protocols.hall_bus.hall_bus_fields import HallBusError

log = logging.getLogger(__name__)
PORT_ERRORS = (OSError, termios.error, ValueError)  # SerialException is an OSError
QUIET_CHARS = 3.5  # Modbus RTU inter-frame silence before the master talks again
T = TypeVar("T")


class BusPort(Protocol):
    """The part of a bus's configuration its line needs (LedBusConfig, KeypadBusConfig)."""

    @property
    def id(self) -> str: ...
    @property
    def url(self) -> str: ...
    @property
    def baudrate(self) -> int: ...
    @property
    def reply_timeout_seconds(self) -> float: ...


@dataclass(frozen=True)
class LineSettings:
    """What a master line needs to know of its port and the replies it waits for."""

    name: str  # for the log: "LED bus 1", "keypad bus k1"
    url: str
    baudrate: int
    reply_timeout_seconds: float
    max_reply_bytes: int  # the longest reply: its wire time is added to the wait
    read_slice_seconds: float = 0.01  # pyserial read timeout; a reply wakes the read at once
    # True: the longest reply's wire time is part of every wait; False: added once a reply begins.
    reply_time_up_front: bool = True

    @classmethod
    def of(
        cls,
        kind: str,
        port: BusPort,
        max_reply_bytes: int,
        read_slice_seconds: float = 0.01,
        *,
        up_front: bool = True,
    ) -> LineSettings:
        """Settings for bus `port` of `kind` ("LED bus"); `up_front`: see `reply_time_up_front`."""
        return cls(
            f"{kind} {port.id}",
            port.url,
            port.baudrate,
            port.reply_timeout_seconds,
            max_reply_bytes,
            read_slice_seconds,
            up_front,
        )


def _frame(frame: Frame) -> Frame:
    return frame


class MasterLine:
    """One serial port speaking hall bus frames: write a request, read its reply in time."""

    def __init__(self, settings: LineSettings) -> None:
        self.settings = settings
        self.port_error = ""  # why the port would not open, "" while it is fine
        self.stray_frames = 0  # good frames answering nothing outstanding (late, echo)
        self.opened = 0  # times the port was opened (a reopen after a failure counts too)
        self._port: serial.SerialBase | None = None
        self._decoder = FrameDecoder()
        self._quiet_until = 0.0

    @property
    def discarded_bytes(self) -> int:
        """Noise and broken-frame bytes skipped since the line was made."""
        return self._decoder.discarded

    def exchange(self, data: bytes, address: int | None, seq: int) -> Frame | None:
        """One frame out and, unless broadcast (`address` None), its reply frame back in time."""
        return self.exchange_decoded(data, address, seq, _frame)

    def exchange_decoded(
        self, data: bytes, address: int | None, seq: int, decode: Callable[[Frame], T]
    ) -> T | None:
        """As `exchange`, the reply passed through `decode`; one it refuses (HallBusError) is stray."""
        opened = self._open()
        if opened is None:
            return None
        port = cast("serial.Serial", opened)  # the stubs declare these on the concrete classes
        settings = self.settings
        baud = settings.baudrate
        try:
            pause = self._quiet_until - time.monotonic()
            if pause > 0:
                time.sleep(pause)
            stale = port.in_waiting  # late replies and noise since the last exchange
            if stale:
                self.stray_frames += len(self._decoder.feed(port.read(stale)))
            self._decoder.idle()  # a half frame left from before can only be noise now
            port.write(data)
            sent = time.monotonic()
            self._quiet_until = sent + wire_seconds(len(data) + QUIET_CHARS, baud)
            if address is None:
                return None
            longest = wire_seconds(settings.max_reply_bytes, baud)
            wait = settings.reply_timeout_seconds + (longest if settings.reply_time_up_front else 0)
            deadline = sent + wire_seconds(len(data), baud) + wait
            extended = settings.reply_time_up_front
            while time.monotonic() < deadline:
                chunk = port.read(1)
                if not chunk:
                    continue
                waiting = port.in_waiting
                if waiting:
                    chunk += port.read(waiting)
                now = time.monotonic()
                self._quiet_until = now + wire_seconds(QUIET_CHARS, baud)
                for frame in self._decoder.feed(chunk):
                    if frame.reply and frame.address == address and frame.seq == seq:
                        try:
                            return decode(frame)
                        except HallBusError as err:
                            log.info("%s: bad reply: %s", settings.name, err)
                    self.stray_frames += 1  # an echo, a late reply, another device's frame
                if self._decoder.buffered and not extended:
                    # A reply has begun: give the longest one its wire time, once.
                    deadline = max(deadline, now + longest)
                    extended = True
            return None
        except PORT_ERRORS as err:
            log.info("%s: port failed: %s", settings.name, err)
            self.close(f"{type(err).__name__}: {err}")
            return None

    def close(self, reason: str = "") -> None:
        """Close the port (reopened by the next exchange)."""
        port, self._port = self._port, None
        if port is not None:
            try:
                port.close()
            except PORT_ERRORS as err:  # closing a dead port can fail again; it is gone anyway
                log.debug("%s: close failed: %s", self.settings.name, err)
        if reason:
            log.info("%s: port closed: %s", self.settings.name, reason)

    def _open(self) -> serial.SerialBase | None:
        if self._port is not None:
            return self._port
        try:
            self._port = serial.serial_for_url(
                self.settings.url,
                baudrate=self.settings.baudrate,
                timeout=self.settings.read_slice_seconds,
                write_timeout=1.0,
            )
        except PORT_ERRORS as err:
            self.port_error = f"{type(err).__name__}: {err}"
            return None
        self.port_error = ""
        self.opened += 1
        self._decoder.idle()
        return self._port
