"""A simulated thermal printer: a peer on a real pseudo-terminal or TCP port speaking ESC/POS.

The printer's inside (interpreter, paper, sensors, fault switches) is `PrinterModel`; this
module gives it a real link and its own thread. A pty's slave path changes when it is unplugged
and plugged again; pass `link` for a stable symlink (managed here) to use as the driver's URL.
A TCP printer listens on 127.0.0.1 and keeps its port across `unplug()` / `replug()`; like a
raw-9100 printer it serves one connection at a time, the next waits in the listen backlog.
"""

from __future__ import annotations

import contextlib
import os
import queue
import select
import socket
import threading
import time
import tty
from collections.abc import Callable
from pathlib import Path
from types import TracebackType
from typing import Literal

from devices.printer.sim_printer_model import PrinterFaults, PrinterModel, SimTicket
from devices.printer.ticket_png import save_ticket_png

__all__ = ["PrinterFaults", "SimTicket", "SimulatedPrinter"]

Transport = Literal["pty", "tcp"]
READ_CHUNK = 4096
_IDLE_WAIT = 0.2  # seconds the thread sleeps when nothing happens (control calls wake it)
_CONTROL_TIMEOUT = 5.0


class SimulatedPrinter:
    """A thermal printer on the other side of a pty or a 127.0.0.1 TCP port, in its own thread."""

    def __init__(
        self,
        transport: Transport = "pty",
        *,
        paper_mm: int = 80,
        seed: int = 0,
        port: int = 0,
        link: str | Path | None = None,
        font_path: str | Path | None = None,
    ) -> None:
        self.transport = transport
        self.paper_mm = paper_mm
        self.font_path = font_path
        self.model = PrinterModel(seed=seed)
        self._port = port
        self._link = Path(link) if link is not None else None
        self._resume_at = 0.0
        self._master: int | None = None
        self._slave: int | None = None
        self._slave_name = ""
        self._listener: socket.socket | None = None
        self._conn: socket.socket | None = None
        self._controls: queue.Queue[tuple[Callable[[], None], threading.Event]] = queue.Queue()
        self._wake_r, self._wake_w = os.pipe()
        self._stopping = self._stopped = False
        self._thread = threading.Thread(target=self._run, name="sim-printer", daemon=True)

    def start(self) -> SimulatedPrinter:
        """Plug in and start answering; returns self."""
        self._plug()
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop the thread and close every descriptor (and the symlink); safe to call twice."""
        if self._stopped:
            return
        self._stopped = True
        if self._thread.is_alive():
            self._stopping = True
            os.write(self._wake_w, b"x")
            self._thread.join(timeout=_CONTROL_TIMEOUT)
        self._unplug("stopped")
        for fd in (self._wake_r, self._wake_w):
            with contextlib.suppress(OSError):
                os.close(fd)
        if self._link is not None:
            self._link.unlink(missing_ok=True)

    def __enter__(self) -> SimulatedPrinter:
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
        """The driver's URL: socket://127.0.0.1:PORT, the symlink, or the pty's slave path."""
        if self.transport == "tcp":
            return f"socket://127.0.0.1:{self._port}"
        return str(self._link) if self._link is not None else self._slave_name

    @property
    def plugged(self) -> bool:
        """Whether the printer's end of the link is open."""
        return self._master is not None or self._listener is not None

    @property
    def faults(self) -> PrinterFaults:
        """The fault switches (paper out, near end, cover open, offline, slow, garbage, silent)."""
        return self.model.faults

    @property
    def tickets(self) -> list[SimTicket]:
        """Tickets printed whole and cut, oldest first."""
        return self.model.tickets

    @property
    def spoiled(self) -> list[SimTicket]:
        """Tickets cut short, with the reason."""
        return self.model.spoiled

    def wait_for_tickets(self, count: int, timeout: float = 5.0) -> list[SimTicket]:
        """The tickets once at least `count` are printed; TimeoutError after `timeout` seconds."""
        return self.model.wait_for_tickets(count, timeout)

    def clear_faults(self) -> None:
        """A healthy printer again: every switch off, armed faults disarmed (plug it in yourself)."""
        self.model.clear_faults()

    def paper_out_after(self, after_bytes: int) -> None:
        """Run out of paper `after_bytes` bytes after the next ticket's ESC @."""
        self.model.arm("paper_out", after_bytes)

    def unplug_after(self, after_bytes: int) -> None:
        """Pull the cable `after_bytes` bytes after the next ticket's ESC @."""
        self.model.arm("unplug", after_bytes)

    def unplug(self) -> None:
        """Pull the cable now: close the pty master, or the TCP connection and listener."""
        self._control(lambda: self._unplug("unplugged"))

    def replug(self) -> None:
        """Plug in again (a new pty behind the same symlink; the same TCP port), buffers empty."""
        self._control(self._plug)

    def render_png(self, ticket: SimTicket, path: str | Path) -> Path:
        """Draw `ticket` as the paper looks (this printer's width and font) to a PNG at `path`."""
        return save_ticket_png(ticket.items, path, paper_mm=self.paper_mm, font_path=self.font_path)

    # --- the printer thread ---

    def _control(self, action: Callable[[], None]) -> None:
        if not self._thread.is_alive():
            action()
            return
        done = threading.Event()
        self._controls.put((action, done))
        os.write(self._wake_w, b"x")
        if not done.wait(_CONTROL_TIMEOUT):
            raise TimeoutError("the simulated printer's thread did not respond")

    def _run(self) -> None:
        while not self._stopping:
            while not self._controls.empty():
                action, done = self._controls.get()
                action()
                done.set()
            watched: list[int | socket.socket] = [self._wake_r]
            wait = _IDLE_WAIT
            if self._listener is not None and self._conn is None:
                watched.append(self._listener)
            data_end = self._conn if self.transport == "tcp" else self._master
            if data_end is not None:
                delay = self._resume_at - time.monotonic()
                if delay <= 0:
                    watched.append(data_end)
                else:  # slow: this chunk is still being "printed"
                    wait = min(wait, delay)
            readable, _, _ = select.select(watched, [], [], wait)
            if self._wake_r in readable:
                os.read(self._wake_r, 512)
            if self._listener is not None and self._listener in readable:
                self._accept()
            if data_end is not None and data_end in readable:
                self._read_once()

    def _accept(self) -> None:
        assert self._listener is not None
        try:
            conn, _ = self._listener.accept()
        except OSError:
            return
        conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self._conn = conn

    def _read_once(self) -> None:
        slow = self.faults.slow_seconds_per_chunk
        size = max(1, self.faults.slow_chunk_bytes) if slow > 0 else READ_CHUNK
        if self._conn is not None:
            try:
                data = self._conn.recv(size)
            except OSError:  # reset by the host
                data = b""
            if not data:  # the host closed its connection; serve the next one
                self._close_connection()
                return
        else:
            assert self._master is not None
            try:
                data = os.read(self._master, size)
            except BlockingIOError:
                return
            except OSError as err:
                self._unplug(f"pty failed: {err}")
                return
        reaction = self.model.receive(data)
        if reaction.replies:
            self._write(reaction.replies)
        if reaction.unplug:
            self._unplug("unplugged mid-ticket")
        elif slow > 0:
            self._resume_at = time.monotonic() + slow

    def _write(self, data: bytes) -> None:
        try:
            if self._conn is not None:
                self._conn.sendall(data)
            elif self._master is not None:
                os.write(self._master, data)
        except BlockingIOError:
            pass  # the host does not read its pty: the reply is lost, as on a real line
        except OSError:
            self._close_connection()

    def _plug(self) -> None:
        if self.plugged:
            return
        self.model.power_off("power cycled")
        if self.transport == "tcp":
            listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            listener.bind(("127.0.0.1", self._port))
            listener.listen(4)
            self._port = listener.getsockname()[1]
            self._listener = listener
            return
        self._master, self._slave = os.openpty()
        # Raw at once: with the default echo on, our status replies would come back to us.
        tty.setraw(self._slave)
        os.set_blocking(self._master, False)
        self._slave_name = os.ttyname(self._slave)
        if self._link is not None:
            staging = self._link.with_name(self._link.name + ".new")
            staging.unlink(missing_ok=True)
            staging.symlink_to(self._slave_name)
            staging.replace(self._link)

    def _unplug(self, reason: str) -> None:
        # We hold the slave open too, so the master stays readable while no host has it open.
        for fd in (self._master, self._slave):
            if fd is not None:
                with contextlib.suppress(OSError):
                    os.close(fd)
        self._master = self._slave = None
        if self._listener is not None:  # first, so nobody connects while we hang up
            self._listener.close()
            self._listener = None
        self._close_connection()
        self.model.power_off(reason)
        self._resume_at = 0.0

    def _close_connection(self) -> None:
        if self._conn is not None:
            with contextlib.suppress(OSError):
                self._conn.close()
            self._conn = None
            self._resume_at = 0.0
