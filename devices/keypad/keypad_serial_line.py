"""The byte pipe under a keypad bus: one serial port (any pyserial URL), the frame decoder, line timing.

Opened lazily and reopened after any error; one exchange at a time (the bus thread's).
"""

from __future__ import annotations

import logging
import termios
import time
from typing import cast

import serial

from devices.keypad.serial_config import KeypadBusConfig
from firmware_protocols.hall_bus.hall_bus import Frame, FrameDecoder, wire_seconds
from firmware_protocols.keypad.keypad_serial_fields import MAX_REPLY_BYTES

log = logging.getLogger(__name__)
PORT_ERRORS = (OSError, termios.error, ValueError)  # SerialException is an OSError
READ_SLICE_SECONDS = 0.005  # pyserial read timeout; a reply wakes the read at once
QUIET_CHARS = 3.5  # Modbus RTU inter-frame silence before the master talks again


class KeypadLine:
    """One serial port speaking hall bus frames: write a request, read its reply in time."""

    def __init__(self, config: KeypadBusConfig) -> None:
        self.config = config
        self.port_error = ""  # why the port would not open, "" while it is fine
        self.stray_frames = 0  # good frames answering nothing outstanding (late, echo)
        self._port: serial.SerialBase | None = None
        self._decoder = FrameDecoder()
        self._quiet_until = 0.0

    @property
    def discarded_bytes(self) -> int:
        """Noise and broken-frame bytes skipped since the line was made."""
        return self._decoder.discarded

    def exchange(self, data: bytes, address: int, seq: int) -> Frame | None:
        """One request out and its reply frame (same address and seq) back in time, else None."""
        opened = self._open()
        if opened is None:
            return None
        port = cast("serial.Serial", opened)  # the stubs declare these on the concrete classes
        baud = self.config.baudrate
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
            deadline = sent + wire_seconds(len(data), baud) + self.config.reply_timeout_seconds
            extended = False
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
                        return frame
                    self.stray_frames += 1  # an echo, a late reply, another keypad's frame
                if self._decoder.buffered and not extended:
                    # A reply has begun: give the longest one its wire time, once.
                    deadline = max(deadline, now + wire_seconds(MAX_REPLY_BYTES, baud))
                    extended = True
            return None
        except PORT_ERRORS as err:
            log.info("keypad bus %s: port failed: %s", self.config.id, err)
            self.close(f"{type(err).__name__}: {err}")
            return None

    def close(self, reason: str = "") -> None:
        """Close the port (reopened by the next exchange)."""
        port, self._port = self._port, None
        if port is not None:
            try:
                port.close()
            except PORT_ERRORS as err:  # closing a dead port can fail again; it is gone anyway
                log.debug("keypad bus %s: close failed: %s", self.config.id, err)
        if reason:
            log.info("keypad bus %s: port closed: %s", self.config.id, reason)

    def _open(self) -> serial.SerialBase | None:
        if self._port is not None:
            return self._port
        try:
            self._port = serial.serial_for_url(
                self.config.url,
                baudrate=self.config.baudrate,
                timeout=READ_SLICE_SECONDS,
                write_timeout=1.0,
            )
        except PORT_ERRORS as err:
            self.port_error = f"{type(err).__name__}: {err}"
            return None
        self.port_error = ""
        self._decoder.idle()
        return self._port
