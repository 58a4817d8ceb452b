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
import socket
import time
from pathlib import Path
from typing import Literal

from devices.printer.sim_printer_model import PrinterFaults, PrinterModel, SimTicket
from devices.printer.ticket_png import save_ticket_png
from devices.sim_peer import RawPty, SimulatedPeer

__all__ = ["PrinterFaults", "SimTicket", "SimulatedPrinter"]

Transport = Literal["pty", "tcp"]
READ_CHUNK = 4096
_IDLE_WAIT = 0.2  # seconds the thread sleeps when nothing happens (control calls wake it)


class SimulatedPrinter(SimulatedPeer):
    """A thermal printer on the other side of a pty or a 127.0.0.1 TCP port, in its own thread."""

    name = "sim-printer"

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
        self._pty = RawPty(link)
        self._resume_at = 0.0
        self._listener: socket.socket | None = None
        self._conn: socket.socket | None = None
        super().__init__()

    @property
    def url(self) -> str:
        """The driver's URL: socket://127.0.0.1:PORT, the symlink, or the pty's slave path."""
        if self.transport == "tcp":
            return f"socket://127.0.0.1:{self._port}"
        return self._pty.url

    @property
    def plugged(self) -> bool:
        """Whether the printer's end of the link is open."""
        return self._pty.master is not None or self._listener is not None

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

    def _serve_once(self) -> None:
        watched: list[int | socket.socket] = []
        wait = _IDLE_WAIT
        if self._listener is not None and self._conn is None:
            watched.append(self._listener)
        data_end = self._conn if self.transport == "tcp" else self._pty.master
        if data_end is not None:
            delay = self._resume_at - time.monotonic()
            if delay <= 0:
                watched.append(data_end)
            else:  # slow: this chunk is still being "printed"
                wait = min(wait, delay)
        readable = self._select(watched, wait)
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
            assert self._pty.master is not None
            try:
                data = os.read(self._pty.master, size)
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
            elif self._pty.master is not None:
                os.write(self._pty.master, data)
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
        self._pty.open()

    def _unplug(self, reason: str) -> None:
        self._pty.close()
        if self._listener is not None:  # first, so nobody connects while we hang up
            self._listener.close()
            self._listener = None
        self._close_connection()
        self.model.power_off(reason)
        self._resume_at = 0.0

    def _shut(self) -> None:
        self._unplug("stopped")
        self._pty.remove_link()

    def _close_connection(self) -> None:
        if self._conn is not None:
            with contextlib.suppress(OSError):
                self._conn.close()
            self._conn = None
            self._resume_at = 0.0
