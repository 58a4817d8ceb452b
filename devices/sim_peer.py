"""What every simulated device on a real link shares: its own thread, and a raw pty end.

A twin (a printer, an RS-485 line of strips and keypads) serves its link on its own thread;
the test or the hall calls `unplug()`, `replug()` and the like from other threads, and those
calls run on the twin's thread between two reads (`_control`), so the link is never changed
under a read.
"""

from __future__ import annotations

import contextlib
import os
import queue
import select
import socket
import threading
import tty
from collections.abc import Callable, Sequence
from pathlib import Path
from types import TracebackType
from typing import Self

CONTROL_TIMEOUT = 5.0  # seconds a control call waits for the twin's thread


class SimulatedPeer:
    """A twin's own thread: `_serve_once` again and again until `stop`, control calls between."""

    name = "sim-peer"  # its thread's name, and how errors name it

    def __init__(self) -> None:
        self._controls: queue.Queue[tuple[Callable[[], None], threading.Event]] = queue.Queue()
        self._wake_r, self._wake_w = os.pipe()
        self._stopping = self._stopped = False
        self._thread = threading.Thread(target=self._run, name=self.name, daemon=True)

    def start(self) -> Self:
        """Plug in and start answering; returns self."""
        self._plug()
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop the thread and close every descriptor (and a symlink); safe to call twice."""
        if self._stopped:
            return
        self._stopped = True
        if self._thread.is_alive():
            self._stopping = True
            os.write(self._wake_w, b"x")
            self._thread.join(timeout=CONTROL_TIMEOUT)
        self._shut()
        for fd in (self._wake_r, self._wake_w):
            with contextlib.suppress(OSError):
                os.close(fd)

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self,
        kind: type[BaseException] | None,
        value: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()

    def _control(self, action: Callable[[], None]) -> None:
        """Run `action` on the twin's thread (at once when it does not run); wait for it."""
        if not self._thread.is_alive():
            action()
            return
        done = threading.Event()
        self._controls.put((action, done))
        os.write(self._wake_w, b"x")
        if not done.wait(CONTROL_TIMEOUT):
            raise TimeoutError(f"the simulated {self.name}'s thread did not respond")

    def _select(
        self, watched: Sequence[int | socket.socket], wait: float
    ) -> list[int | socket.socket]:
        """What of `watched` is readable within `wait` seconds; a control call cuts the wait short."""
        readable: list[int | socket.socket]
        readable, _, _ = select.select([self._wake_r, *watched], [], [], wait)
        if self._wake_r in readable:
            os.read(self._wake_r, 512)
        return readable

    def _run(self) -> None:
        while not self._stopping:
            while not self._controls.empty():
                action, done = self._controls.get()
                action()
                done.set()
            self._serve_once()

    def _plug(self) -> None:
        """Open the twin's end of its link."""
        raise NotImplementedError

    def _serve_once(self) -> None:
        """Wait (`_select`) for the link, briefly, and answer what came."""
        raise NotImplementedError

    def _shut(self) -> None:
        """Close the link for good (after the thread ended)."""
        raise NotImplementedError


class RawPty:
    """A raw pseudo-terminal held open at both ends, with an optional symlink to its slave.

    The symlink (`link`) survives `close()` / `open()`: a driver configured with it finds the
    new pty after a replug, as it finds a USB adapter's stable /dev/serial/by-id name.
    """

    def __init__(self, link: str | Path | None = None) -> None:
        self.link = Path(link) if link is not None else None
        self.master: int | None = None
        self.slave: int | None = None
        self.slave_name = ""

    @property
    def url(self) -> str:
        """The driver's end: the symlink if given, else the slave's path."""
        return str(self.link) if self.link is not None else self.slave_name

    def open(self) -> None:
        """A new pty (no-op when open); the master is non-blocking, the symlink points at it."""
        if self.master is not None:
            return
        self.master, self.slave = os.openpty()
        # Raw at once: with the default echo on, the twin's replies would come back to it.
        tty.setraw(self.slave)
        os.set_blocking(self.master, False)
        self.slave_name = os.ttyname(self.slave)
        if self.link is not None:
            staging = self.link.with_name(self.link.name + ".new")
            staging.unlink(missing_ok=True)
            staging.symlink_to(self.slave_name)
            staging.replace(self.link)

    def close(self) -> None:
        """Close both ends (the cable pulled); the symlink stays, dangling."""
        # The twin holds the slave open too, so the master stays readable while no driver has it.
        for fd in (self.master, self.slave):
            if fd is not None:
                with contextlib.suppress(OSError):
                    os.close(fd)
        self.master = self.slave = None

    def remove_link(self) -> None:
        """Remove the symlink, if any (the twin is gone for good)."""
        if self.link is not None:
            self.link.unlink(missing_ok=True)
