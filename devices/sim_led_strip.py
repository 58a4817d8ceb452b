"""Simulated LED strips and boards on one RS-485 line: a real pseudo-terminal, many addresses.

The driver opens `url` (the pty's slave path, or the symlink given as `link`, which survives
`unplug()` / `replug()`). Every frame is heard by every simulated display, as on a real
multi-drop line. With `pace` the line runs at `baudrate`: a frame counts as received only once
its last byte would have arrived (10 bits a byte), and replies take their wire time too.
"""

from __future__ import annotations

import contextlib
import os
import queue
import select
import threading
import time
import tty
from collections import deque
from collections.abc import Callable
from pathlib import Path
from types import TracebackType

from devices.sim_led_model import Executed, SimLedStrip, StripFaults
from firmware_protocols.hall_bus import FrameDecoder, wire_seconds

__all__ = ["Executed", "SimLedStrip", "SimulatedLedBus", "StripFaults"]

READ_CHUNK = 4096
IDLE_GAP_SECONDS = 0.05  # a display drops a half-received frame after this much silence
_IDLE_WAIT = 0.2
_CONTROL_TIMEOUT = 5.0


class SimulatedLedBus:
    """A line of simulated displays behind one pty, served by its own thread."""

    def __init__(
        self,
        *,
        baudrate: int = 9600,
        pace: bool = True,
        link: str | Path | None = None,
        seed: int = 0,
    ) -> None:
        self.baudrate = baudrate
        self.pace = pace
        self.byte_at_a_time = False  # fault switch: replies trickle out one byte at a time
        self.frames_heard = 0
        self._seed = seed
        self._link = Path(link) if link is not None else None
        self._strips: dict[int, SimLedStrip] = {}
        self._decoder = FrameDecoder()
        self._master: int | None = None
        self._slave: int | None = None
        self._slave_name = ""
        self._inbound: deque[tuple[float, bytes]] = deque()  # (fully received at, bytes)
        self._outbound: deque[tuple[float, bytes]] = deque()  # (write at, bytes)
        self._line_in = self._line_out = self._last_heard = 0.0
        self._controls: queue.Queue[tuple[Callable[[], None], threading.Event]] = queue.Queue()
        self._wake_r, self._wake_w = os.pipe()
        self._stopping = self._stopped = False
        self._thread = threading.Thread(target=self._run, name="sim-led-bus", daemon=True)

    def add_strip(
        self, address: int, *, board: bool = False, lines: int = 1, columns: int = 16
    ) -> SimLedStrip:
        """Hang a display at `address` on the line (before or after start)."""
        strip = SimLedStrip(
            address, board=board, lines=lines, columns=columns, seed=self._seed + address
        )
        self._control(lambda: self._strips.__setitem__(address, strip))
        return strip

    def attach(self, strip: SimLedStrip) -> SimLedStrip:
        """Hang an already built display (a subclass, say) at its address on the line."""
        self._control(lambda: self._strips.__setitem__(strip.address, strip))
        return strip

    def strip(self, address: int) -> SimLedStrip:
        """The display at `address`."""
        return self._strips[address]

    @property
    def strips(self) -> list[SimLedStrip]:
        """Every display on the line, by address."""
        return [self._strips[a] for a in sorted(self._strips)]

    @property
    def discarded_bytes(self) -> int:
        """Bytes the displays' receiver skipped as noise or broken frames."""
        return self._decoder.discarded

    def start(self) -> SimulatedLedBus:
        """Plug in and start answering; returns self."""
        self._plug()
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop the thread, close every descriptor and the symlink; safe to call twice."""
        if self._stopped:
            return
        self._stopped = True
        if self._thread.is_alive():
            self._stopping = True
            os.write(self._wake_w, b"x")
            self._thread.join(timeout=_CONTROL_TIMEOUT)
        self._unplug()
        for fd in (self._wake_r, self._wake_w):
            with contextlib.suppress(OSError):
                os.close(fd)
        if self._link is not None:
            self._link.unlink(missing_ok=True)

    def __enter__(self) -> SimulatedLedBus:
        return self.start()

    def __exit__(
        self,
        kind: type[BaseException] | None,
        value: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()

    @property
    def url(self) -> str:
        """The driver's URL: the symlink if given, else the pty's slave path."""
        return str(self._link) if self._link is not None else self._slave_name

    @property
    def plugged(self) -> bool:
        """Whether the line's end of the pty is open."""
        return self._master is not None

    def unplug(self) -> None:
        """Pull the line's cable: the pty closes (the displays keep power and what they show)."""
        self._control(self._unplug)

    def replug(self) -> None:
        """Plug in again: a new pty behind the same symlink, nothing in flight."""
        self._control(self._plug)

    def inject(self, noise: bytes) -> None:
        """Put `noise` on the line towards the controller now (after any reply in flight)."""
        self._control(lambda: _append_in_order(self._outbound, noise))

    def inject_to_displays(self, noise: bytes) -> None:
        """Noise the displays hear on the line, as if it came before the controller's next frame."""
        self._control(lambda: _append_in_order(self._inbound, noise))

    # --- the line's thread ---

    def _control(self, action: Callable[[], None]) -> None:
        if not self._thread.is_alive():
            action()
            return
        done = threading.Event()
        self._controls.put((action, done))
        os.write(self._wake_w, b"x")
        if not done.wait(_CONTROL_TIMEOUT):
            raise TimeoutError("the simulated LED bus's thread did not respond")

    def _run(self) -> None:
        while not self._stopping:
            while not self._controls.empty():
                action, done = self._controls.get()
                action()
                done.set()
            now = time.monotonic()
            due = [queued[0][0] for queued in (self._inbound, self._outbound) if queued]
            if self._decoder.buffered:
                due.append(self._last_heard + IDLE_GAP_SECONDS)
            wait = max(0.0, min([now + _IDLE_WAIT, *due]) - now)
            watched = [self._wake_r] if self._master is None else [self._wake_r, self._master]
            readable, _, _ = select.select(watched, [], [], wait)
            if self._wake_r in readable:
                os.read(self._wake_r, 512)
            if self._master is not None and self._master in readable:
                self._hear()
            self._deliver(time.monotonic())
            self._send(time.monotonic())

    def _hear(self) -> None:
        assert self._master is not None
        try:
            data = os.read(self._master, READ_CHUNK)
        except BlockingIOError:
            return
        except OSError:
            return  # no driver has the slave open (EIO); we keep our own end
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
                for strip in list(self._strips.values()):
                    reply = strip.handle(frame, at)
                    if reply:
                        self._queue_reply(reply, at + strip.faults.delay_seconds)
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
            if self._master is None:
                continue
            # A controller that does not read its end loses the reply, as on a real line.
            with contextlib.suppress(OSError):
                os.write(self._master, data)

    def _plug(self) -> None:
        if self._master is not None:
            return
        self._master, self._slave = os.openpty()
        # Raw at once: with the default echo on, the controller would hear its own frames.
        tty.setraw(self._slave)
        os.set_blocking(self._master, False)
        self._slave_name = os.ttyname(self._slave)
        if self._link is not None:
            staging = self._link.with_name(self._link.name + ".new")
            staging.unlink(missing_ok=True)
            staging.symlink_to(self._slave_name)
            staging.replace(self._link)

    def _unplug(self) -> None:
        # We hold the slave open too, so the master stays readable while no driver has it open.
        for fd in (self._master, self._slave):
            if fd is not None:
                with contextlib.suppress(OSError):
                    os.close(fd)
        self._master = self._slave = None
        self._inbound.clear()
        self._outbound.clear()
        self._decoder.idle()


def _append_in_order(line: deque[tuple[float, bytes]], data: bytes) -> None:
    at = max(time.monotonic(), line[-1][0] if line else 0.0)
    line.append((at, data))
