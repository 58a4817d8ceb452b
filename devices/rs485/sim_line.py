"""A simulated RS-485 multi-drop line: a real pseudo-terminal, any number of devices by address.

The driver opens `url` (the pty's slave path, or the symlink given as `link`, which survives
`unplug()` / `replug()`). Every frame is heard by every simulated device, as on a real
multi-drop line: LED strips and boards (devices/led/sim_led_model.py), keypads
(devices/keypad/sim_keypad_model.py), or both kinds at different addresses. With `pace` the line
runs at `baudrate`: a frame counts as received only once its last byte would have arrived
(10 bits a byte), and replies take their wire time too.
"""

from __future__ import annotations

import contextlib
import os
import time
from collections import deque
from pathlib import Path
from typing import Protocol

from devices.sim_peer import RawPty, SimulatedPeer
from firmware_protocols.hall_bus.hall_bus import Frame, FrameDecoder, wire_seconds

READ_CHUNK = 4096
IDLE_GAP_SECONDS = 0.05  # a device drops a half-received frame after this much silence
_IDLE_WAIT = 0.2


class LineDevice(Protocol):
    """A simulated device on the line: its firmware hears every frame and may answer."""

    @property
    def address(self) -> int:
        """Its hall bus address (1-247)."""
        ...

    @property
    def reply_delay_seconds(self) -> float:
        """How long after a request's last byte its reply starts."""
        ...

    def handle(self, frame: Frame, at: float) -> bytes:
        """React to one frame heard on the line at time `at`; the bytes to send back (maybe none)."""
        ...


class SimulatedMultidropLine(SimulatedPeer):
    """A line of simulated devices behind one pty, served by its own thread."""

    default_baudrate = 9600  # a kind's line (SimulatedKeypadLine) may run faster by default
    name = "sim-rs485-line"  # its thread's name

    def __init__(
        self,
        *,
        baudrate: int | None = None,
        pace: bool = True,
        link: str | Path | None = None,
        seed: int = 0,
    ) -> None:
        self.baudrate = baudrate if baudrate is not None else self.default_baudrate
        self.pace = pace
        self.byte_at_a_time = False  # fault switch: replies trickle out one byte at a time
        self.frames_heard = 0
        self._seed = seed
        self._pty = RawPty(link)
        self._devices: dict[int, LineDevice] = {}
        self._decoder = FrameDecoder()
        self._inbound: deque[tuple[float, bytes]] = deque()  # (fully received at, bytes)
        self._outbound: deque[tuple[float, bytes]] = deque()  # (write at, bytes)
        self._line_in = self._line_out = self._last_heard = 0.0
        super().__init__()

    def add_device(self, device: LineDevice) -> None:
        """Hang `device` on the line at its address (before or after start).

        A device of the same kind already there is replaced (a unit swapped); ValueError if
        one of another kind holds the address, as two kinds cannot share one.
        """
        held = self._devices.get(device.address)
        if held is not None and type(held) is not type(device):
            raise ValueError(
                f"address {device.address} is held by a {type(held).__name__}, "
                f"not free for a {type(device).__name__}"
            )
        self._control(lambda: self._devices.__setitem__(device.address, device))

    def attach(self, device: LineDevice) -> None:
        """Hang an already built device (a deliberately broken subclass, say) at its address.

        Unlike `add_device`, whatever held the address is replaced, whatever its kind.
        """
        self._control(lambda: self._devices.__setitem__(device.address, device))

    def device(self, address: int) -> LineDevice:
        """The device at `address`; KeyError if none."""
        return self._devices[address]

    @property
    def devices(self) -> list[LineDevice]:
        """Every device on the line, by address."""
        return [self._devices[a] for a in sorted(self._devices)]

    @property
    def discarded_bytes(self) -> int:
        """Bytes the devices' receiver skipped as noise or broken frames."""
        return self._decoder.discarded

    @property
    def url(self) -> str:
        """The driver's URL: the symlink if given, else the pty's slave path."""
        return self._pty.url

    @property
    def plugged(self) -> bool:
        """Whether the line's end of the pty is open."""
        return self._pty.master is not None

    def unplug(self) -> None:
        """Pull the line's cable: the pty closes (the devices keep power and their state)."""
        self._control(self._unplug)

    def replug(self) -> None:
        """Plug in again: a new pty behind the same symlink, nothing in flight."""
        self._control(self._plug)

    def inject(self, noise: bytes) -> None:
        """Put `noise` on the line towards the controller now (after any reply in flight)."""
        self._control(lambda: _append_in_order(self._outbound, noise))

    def inject_to_devices(self, noise: bytes) -> None:
        """Noise the devices hear on the line, as if it came before the controller's next frame."""
        self._control(lambda: _append_in_order(self._inbound, noise))

    # --- the line's thread ---

    def _serve_once(self) -> None:
        now = time.monotonic()
        due = [queued[0][0] for queued in (self._inbound, self._outbound) if queued]
        if self._decoder.buffered:
            due.append(self._last_heard + IDLE_GAP_SECONDS)
        wait = max(0.0, min([now + _IDLE_WAIT, *due]) - now)
        master = self._pty.master
        readable = self._select([] if master is None else [master], wait)
        if master is not None and master in readable:
            self._hear()
        self._deliver(time.monotonic())
        self._send(time.monotonic())

    def _hear(self) -> None:
        assert self._pty.master is not None
        try:
            data = os.read(self._pty.master, READ_CHUNK)
        except OSError:
            return  # nothing to read, or no driver has the slave open (EIO)
        now = time.monotonic()
        if self.pace:  # the last byte of this chunk reaches us one wire time after the first
            self._line_in = max(self._line_in, now) + wire_seconds(len(data), self.baudrate)
        else:
            self._line_in = now
        self._inbound.append((self._line_in, data))

    def _deliver(self, now: float) -> None:
        while self._inbound and self._inbound[0][0] <= now:
            at, data = self._inbound.popleft()
            self._last_heard = at
            for frame in self._decoder.feed(data):
                self.frames_heard += 1
                for device in list(self._devices.values()):
                    reply = device.handle(frame, at)
                    if reply:
                        self._queue_reply(reply, at + device.reply_delay_seconds)
        if self._decoder.buffered and now - self._last_heard >= IDLE_GAP_SECONDS:
            self._decoder.idle()

    def _queue_reply(self, reply: bytes, ready: float) -> None:
        start = max(ready, self._line_out)
        char = wire_seconds(1, self.baudrate) if self.pace else 0.0
        if self.byte_at_a_time:
            for i in range(len(reply)):
                self._outbound.append((start + (i + 1) * char, reply[i : i + 1]))
        else:
            self._outbound.append((start + len(reply) * char, reply))
        self._line_out = start + len(reply) * char

    def _send(self, now: float) -> None:
        while self._outbound and self._outbound[0][0] <= now:
            _, data = self._outbound.popleft()
            if self._pty.master is None:
                continue
            # A controller that does not read its end loses the reply, as on a real line.
            with contextlib.suppress(OSError):
                os.write(self._pty.master, data)

    def _plug(self) -> None:
        self._pty.open()

    def _unplug(self) -> None:
        self._pty.close()
        self._inbound.clear()
        self._outbound.clear()
        self._decoder.idle()

    def _shut(self) -> None:
        self._unplug()
        self._pty.remove_link()


def _append_in_order(line: deque[tuple[float, bytes]], data: bytes) -> None:
    at = max(time.monotonic(), line[-1][0] if line else 0.0)
    line.append((at, data))
