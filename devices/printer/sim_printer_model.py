"""The inside of the simulated thermal printer: bytes in, paper and status replies out; no I/O.

It interprets ESC/POS with `EscPosReader`, keeps each ticket cut off the roll, and answers
`DLE EOT n` with the byte a printer in its current state sends. Like a real printer it works
through its input in order, so a status query sent after a ticket is answered once the ticket's
bytes were taken. As on Epson printers, cover open and paper end also set the offline bit of
`DLE EOT 1`, and paper end sets the near-end bits too. Garbage replies come from a seeded
generator, so a run is repeatable.
"""

from __future__ import annotations

import random
import threading
import time
from dataclasses import dataclass, field
from typing import Literal

from firmware_protocols.escpos.escpos_reader import (
    Cut,
    EscPosReader,
    PrintItem,
    QrCode,
    Raster,
    Reset,
    StatusQuery,
    TextLine,
    status_reply,
    ticket_text,
)
from firmware_protocols.escpos.escpos_ticket import EscPosError, RasterImage

TriggerKind = Literal["paper_out", "unplug"]
_GARBLED = "garbled stream"


@dataclass
class PrinterFaults:
    """Switches a test flips; read for every chunk received and every status query."""

    paper_out: bool = False
    paper_near_end: bool = False
    cover_open: bool = False
    offline: bool = False
    slow_seconds_per_chunk: float = 0.0
    slow_chunk_bytes: int = 64
    garbage_status: bool = False
    silent: bool = False


@dataclass(frozen=True)
class SimTicket:
    """What came out between two cuts; `complete` False if it was spoiled (`problem` says why)."""

    items: tuple[PrintItem, ...]
    complete: bool = True
    problem: str = ""
    cut_at: float = field(default=0.0, compare=False)  # time.monotonic() when the cut came

    @property
    def lines(self) -> list[str]:
        """The printed text lines, in order."""
        return ticket_text(list(self.items))

    @property
    def number(self) -> str | None:
        """The text printed largest (the ticket number), or None without text."""
        texts = [item for item in self.items if isinstance(item, TextLine)]
        return max(texts, key=lambda line: line.width * line.height).text if texts else None

    @property
    def qr_data(self) -> list[bytes]:
        """The data of every QR code printed."""
        return [item.data for item in self.items if isinstance(item, QrCode)]

    @property
    def rasters(self) -> list[RasterImage]:
        """Every raster image printed."""
        return [item.image for item in self.items if isinstance(item, Raster)]


@dataclass(frozen=True)
class Reaction:
    """What the printer does about bytes received: status bytes to send, or pull its cable."""

    replies: bytes = b""
    unplug: bool = False


@dataclass
class _Trigger:
    kind: TriggerKind
    after_bytes: int
    counted: int | None = None  # None until the ticket's ESC @ arrives


@dataclass
class _Log:
    tickets: list[SimTicket] = field(default_factory=list)
    spoiled: list[SimTicket] = field(default_factory=list)
    status_queries: list[int] = field(default_factory=list)
    stream_errors: list[str] = field(default_factory=list)
    received_bytes: int = 0


class PrinterModel:
    """One printer's paper, sensors and interpreter; thread-safe to read while it receives."""

    def __init__(self, *, seed: int = 0) -> None:
        self.faults = PrinterFaults()
        self._rng = random.Random(seed)
        self._changed = threading.Condition()
        self._log = _Log()
        self._reader = EscPosReader()
        self._current: list[PrintItem] = []
        self._spoil_reason = ""
        self._in_ticket = False
        self._trigger: _Trigger | None = None
        self._replies = bytearray()

    @property
    def tickets(self) -> list[SimTicket]:
        """Tickets printed whole and cut, oldest first."""
        with self._changed:
            return list(self._log.tickets)

    @property
    def spoiled(self) -> list[SimTicket]:
        """Tickets cut short: paper ran out, cover opened, offline, unplugged, garbled stream."""
        with self._changed:
            return list(self._log.spoiled)

    @property
    def status_queries(self) -> list[int]:
        """Every `DLE EOT n` received, answered or not."""
        with self._changed:
            return list(self._log.status_queries)

    @property
    def stream_errors(self) -> list[str]:
        """Malformed ESC/POS received (the interpreter starts afresh after each)."""
        with self._changed:
            return list(self._log.stream_errors)

    @property
    def received_bytes(self) -> int:
        """Bytes received since power-on of the simulation."""
        with self._changed:
            return self._log.received_bytes

    def wait_for_tickets(self, count: int, timeout: float = 5.0) -> list[SimTicket]:
        """The tickets once at least `count` are printed; TimeoutError after `timeout` seconds."""
        with self._changed:
            if not self._changed.wait_for(lambda: len(self._log.tickets) >= count, timeout):
                raise TimeoutError(f"{len(self._log.tickets)} of {count} tickets after {timeout} s")
            return list(self._log.tickets)

    def arm(self, kind: TriggerKind, after_bytes: int) -> None:
        """Run out of paper, or pull the cable, `after_bytes` bytes after the next ticket's ESC @."""
        if after_bytes < 0:
            raise ValueError("after_bytes must be 0 or more")
        with self._changed:
            self._trigger = _Trigger(kind, after_bytes)

    def clear_faults(self) -> None:
        """Every switch off and any armed paper-out or unplug disarmed: a healthy printer."""
        with self._changed:
            self.faults = PrinterFaults()
            self._trigger = None

    def receive(self, data: bytes) -> Reaction:
        """Take bytes from the host; what to answer, and whether the cable comes out now."""
        with self._changed:
            self._log.received_bytes += len(data)
            trigger = self._trigger
        self._replies.clear()
        if trigger is None:
            self._interpret(data)
            return self._reaction()
        for index in range(len(data)):  # byte by byte, to fire exactly at the set offset
            if self._interpret(data[index : index + 1]):
                trigger.counted = 0
            elif trigger.counted is not None:
                trigger.counted += 1
            if trigger.counted is None or trigger.counted < trigger.after_bytes:
                continue
            with self._changed:
                self._trigger = None
            if trigger.kind == "unplug":
                self.power_off("unplugged mid-ticket")
                return self._reaction(unplug=True)
            self.faults.paper_out = True
            self._interpret(data[index + 1 :])
            break
        return self._reaction()

    def power_off(self, reason: str) -> None:
        """Lose power: an unfinished ticket is spoiled, the interpreter starts afresh."""
        if self._in_ticket or self._current or self._spoil_reason:
            self._spoil_reason = self._spoil_reason or reason
            self._cut()
        self._reader = EscPosReader()
        with self._changed:
            if self._trigger is not None:  # still armed, for the next ticket's ESC @
                self._trigger.counted = None

    def _reaction(self, *, unplug: bool = False) -> Reaction:
        return Reaction(bytes(self._replies), unplug)

    def _interpret(self, data: bytes) -> bool:
        """Feed the interpreter and act on what it printed; True if an ESC @ came by."""
        try:
            items = self._reader.feed(data)
        except EscPosError as err:
            with self._changed:
                self._log.stream_errors.append(str(err))
            self._reader = EscPosReader()
            self._spoil_reason = self._spoil_reason or f"{_GARBLED}: {err}"
            return False
        reset = False
        for item in items:
            if isinstance(item, Reset):
                if self._spoil_reason.startswith(_GARBLED):
                    self._cut()  # the junk ends here: tear it off before the next ticket
                reset = self._in_ticket = True
            elif isinstance(item, StatusQuery):
                self._answer(item.n)
            elif isinstance(item, Cut):
                self._cut()
            elif blocked := self._blocked():
                self._spoil_reason = self._spoil_reason or blocked
            else:
                self._current.append(item)
        return reset

    def _blocked(self) -> str:
        faults = self.faults
        for flag, reason in (
            (faults.cover_open, "cover open"),
            (faults.paper_out, "paper end"),
            (faults.offline, "offline"),
        ):
            if flag:
                return reason
        return ""

    def _cut(self) -> None:
        self._in_ticket = False
        items, self._current = tuple(self._current), []
        reason, self._spoil_reason = self._spoil_reason, ""
        with self._changed:
            now = time.monotonic()
            if reason:
                self._log.spoiled.append(
                    SimTicket(items, complete=False, problem=reason, cut_at=now)
                )
            elif items:
                self._log.tickets.append(SimTicket(items, cut_at=now))
            self._changed.notify_all()

    def _answer(self, n: int) -> None:
        with self._changed:
            self._log.status_queries.append(n)
        faults = self.faults
        if faults.silent:
            return
        if faults.garbage_status:
            # Bit 0 or 7 set breaks the fixed bits of every DLE EOT reply; sometimes one extra.
            first = self._rng.randrange(256) | self._rng.choice((0x01, 0x80))
            extra = bytes(self._rng.randrange(256) for _ in range(self._rng.choice((0, 0, 1))))
            self._replies += bytes((first,)) + extra
            return
        self._replies += status_reply(
            n,
            offline=faults.offline or faults.cover_open or faults.paper_out,
            cover_open=faults.cover_open,
            paper_end=faults.paper_out,
            paper_near_end=faults.paper_near_end or faults.paper_out,
        )
