"""The hall-bus.md clauses every RS-485 device keeps, checked by the kit acting as the bus master.

A family kit (LED strip, keypad) subclasses `BusKit`, says what its status query and its
refusals look like (`Family`), and adds its own clauses. Every reply heard during the whole
run is also checked against the framing clauses (section 2 and the CRC of section 3).
"""

from __future__ import annotations

import random
import statistics
from dataclasses import dataclass

from devices.conformance.report import Clause, Report
from devices.conformance.serial_probe import Exchange, Heard, SerialProbe
from firmware_protocols.hall_bus.hall_bus import (
    FN_IDENTIFY,
    FN_NAK,
    MAX_ADDRESS,
    MAX_VERSION,
    PROTOCOL_VERSION,
    START,
    Frame,
    IdentifyQuery,
    Identity,
    Nak,
    NakReason,
)
from firmware_protocols.hall_bus.hall_bus_fields import HallBusError

DOC = "hall-bus.md"
FRAME = Clause(
    DOC,
    "2",
    "frame",
    "Replies are whole frames with the own address, the request's seq and version",
)
CRC = Clause(DOC, "3", "crc", "CRC-16/MODBUS from the start marker to the payload, low byte first")
ADDRESSING = Clause(
    DOC, "4", "addressing", "Frames to another address or with the reply bit set get no reply"
)
REPLY_TIME = Clause(DOC, "5", "reply-time", "Replies start within 20 ms of the request")
BAD_CRC = Clause(DOC, "6", "bad-crc", "A frame with a bad CRC is never answered, not even with NAK")
RESYNC = Clause(DOC, "6", "resync", "Finds the frame after noise and a false start marker")
SPLIT = Clause(DOC, "6", "split-glued", "Takes a frame arriving byte by byte and frames glued")
IDLE = Clause(DOC, "6", "idle-reset", "Drops a partial frame after 50 ms of silence")
IDENTIFY = Clause(DOC, "8", "identify", "IDENTIFY: device class, highest version, firmware name")
UNKNOWN = Clause(
    DOC, "8", "nak-unknown", "NAK UNKNOWN_FUNCTION (01) for a function not implemented"
)
BAD_PAYLOAD = Clause(
    DOC, "8", "nak-bad-payload", "NAK BAD_PAYLOAD (02) for a payload out of layout"
)
VERSION = Clause(
    DOC, "10", "nak-version", "A higher version: NAK UNSUPPORTED_VERSION (03) in version 1"
)
GENERIC = (FRAME, CRC, ADDRESSING, REPLY_TIME, BAD_CRC, RESYNC, SPLIT, IDLE)
GENERIC_NAKS = (IDENTIFY, UNKNOWN, BAD_PAYLOAD, VERSION)

SPEC_REPLY_SECONDS = 0.020  # hall-bus.md section 5: a device starts its reply within 20 ms
MASTER_TIMEOUT_SECONDS = 0.100  # ... and the master gives up after 100 ms
_IDLE_SAFE_SECONDS = 0.04  # well inside the 50 ms after which a receiver drops a partial frame


class DeviceSilent(Exception):
    """The device answered nothing where it must: the rest of the run cannot tell anything."""


@dataclass(frozen=True)
class Family:
    """What a device family's status query and refusals look like on the bus."""

    name: str
    device_classes: frozenset[int]
    query_function: int  # the family's status query (STATUS, POLL): always answered fresh
    query_payload: bytes
    query_replies: frozenset[int]  # the reply functions of that query
    unknown_function: int  # a code of the family's range that no version 1 device implements
    bad_payload: tuple[int, bytes]  # a well-framed request the family must NAK BAD_PAYLOAD


class BusKit:
    """One kit run on one line against the device at `address`."""

    family: Family

    def __init__(
        self, probe: SerialProbe, address: int, report: Report, *, allowance: float = 0.02
    ) -> None:
        self.probe = probe
        self.address = address
        self.report = report
        self.allowance = allowance  # what a USB adapter adds to every reply (latency timer)
        self.identity: Identity | None = None
        self._seq: dict[int, int] = {}
        self._rng = random.Random()
        self._latencies: list[float] = []
        self._replies = 0

    # --- sending ---

    def next_seq(self, address: int | None = None) -> int:
        """The next seq for `address` (the device's by default); counters start at random."""
        target = self.address if address is None else address
        seq = (self._seq.get(target, self._rng.randrange(256)) + 1) % 256
        self._seq[target] = seq
        return seq

    def frame(self, function: int, payload: bytes = b"", **changes: int | bool) -> Frame:
        """A new request to the device (address, seq, reply bit, version overridable)."""
        address = int(changes.get("address", self.address))
        return Frame(
            address,
            function,
            int(changes.get("seq", self.next_seq(address))),
            payload,
            reply=bool(changes.get("reply", False)),
            version=int(changes.get("version", PROTOCOL_VERSION)),
        )

    def send(
        self, data: bytes | Frame, *, answered: bool = True, **options: float | int
    ) -> Exchange:
        """Send a frame (or raw bytes) and check every reply heard against sections 2, 3 and 5."""
        raw = data.encode() if isinstance(data, Frame) else data
        request = data if isinstance(data, Frame) else _first_frame(raw)
        byte_gap = options.get("byte_gap")
        pause_after = options.get("pause_after")
        exchange = self.probe.send(
            raw,
            address=self.address if answered else None,
            byte_gap=None if byte_gap is None else float(byte_gap),
            pause_after=None if pause_after is None else int(pause_after),
        )
        for heard in exchange.heard:
            self._judge_framing(heard, request)
        if exchange.garbage:
            self.report.record(
                FRAME, False, f"{exchange.garbage} bytes after {_hex(raw)} were no frame"
            )
        return exchange

    def query(self, **changes: int | bool) -> Exchange:
        """The family's status query to the device."""
        fam = self.family
        return self.send(self.frame(fam.query_function, fam.query_payload, **changes))

    def must_answer(self, exchange: Exchange, what: str) -> Heard:
        """The reply; DeviceSilent when none came."""
        if exchange.reply is None:
            raise DeviceSilent(f"no reply to {what} ({_hex(exchange.sent)})")
        return exchange.reply

    # --- the generic clauses ---

    def run_generic(self) -> None:
        """Sections 2-10 of hall-bus.md that every device keeps, in an order that finds a dead link first."""
        self._check_identify()
        self._check_addressing()
        self._check_bad_crc()
        self._check_resync()
        self._check_split_and_glued()
        self._check_idle_reset()
        self._check_naks()

    def finish_generic(self) -> None:
        """Judge the clauses checked on every reply of the run (framing, CRC, timing)."""
        report = self.report
        if self._replies:
            report.record(FRAME, True, evidence=f"{self._replies} replies checked")
            report.record(CRC, True, evidence=f"{self._replies} replies checked")
        if self.probe.stray:
            first = self.probe.stray[0].frame
            report.record(
                FRAME,
                False,
                f"{len(self.probe.stray)} late or extra frames, e.g. {describe(first)}",
            )
        if not self._latencies:
            return
        median = statistics.median(self._latencies)
        slowest = sorted(self._latencies)[int(0.9 * (len(self._latencies) - 1))]
        detail = (
            f"median {median * 1000:.1f} ms, 90% within {slowest * 1000:.1f} ms, slowest "
            f"{max(self._latencies) * 1000:.1f} ms over {len(self._latencies)} replies "
            f"(limit 20 ms + {self.allowance * 1000:.0f} ms adapter allowance)"
        )
        ok = median <= SPEC_REPLY_SECONDS + self.allowance and slowest <= MASTER_TIMEOUT_SECONDS
        report.record(REPLY_TIME, ok, detail, evidence=detail)

    def _check_identify(self) -> None:
        exchange = self.send(self.frame(FN_IDENTIFY, IdentifyQuery().encode()))
        if exchange.reply is None:
            why = f"no reply at address {self.address}: check address, baud rate, wiring, A/B"
            self.report.record(IDENTIFY, False, why)
        reply = self.must_answer(exchange, "IDENTIFY").frame
        try:
            if reply.function != FN_IDENTIFY:
                raise HallBusError(f"function {reply.function:#04x} instead of 03")
            identity = Identity.decode(reply.payload)
        except HallBusError as err:
            self.report.record(IDENTIFY, False, f"{err}: {describe(reply)}")
            return
        self.identity = identity
        ok = identity.device_class in self.family.device_classes
        said = (
            f"class {identity.device_class:02X}, version {identity.max_version}, "
            f"firmware {identity.firmware!r}"
        )
        classes = " or ".join(f"{c:02X}" for c in sorted(self.family.device_classes))
        self.report.record(
            IDENTIFY, ok, f"{said}; a {self.family.name} is class {classes}", evidence=said
        )

    def _check_addressing(self) -> None:
        other = self.address % MAX_ADDRESS + 1
        for label, changes in (
            (f"a query to address {other}", {"address": other}),
            ("a query with the reply bit set", {"reply": True}),
        ):
            fam = self.family
            exchange = self.send(
                self.frame(fam.query_function, fam.query_payload, **changes), answered=False
            )
            if not self.report.record(ADDRESSING, not _replies(exchange), f"answered {label}"):
                return
        self.report.record(ADDRESSING, True)

    def _check_bad_crc(self) -> None:
        good = self.frame(self.family.query_function, self.family.query_payload).encode()
        broken = good[:-1] + bytes((good[-1] ^ 0x01,))
        exchange = self.send(broken, answered=False)
        self.report.record(BAD_CRC, not _replies(exchange), f"answered {_hex(broken)}")

    def _check_resync(self) -> None:
        false_starts = b"\x00\x13" + START + b"\x20\x01\x00" + START + b"\x01\xf9\x00\x01\x48"
        exchange = self.send(false_starts + self._query_bytes())
        detail = "after noise and false start markers the query got"
        self.report.record(RESYNC, self._answered(exchange), f"{detail} {self._got(exchange)}")

    def _check_split_and_glued(self) -> None:
        for _ in range(3):
            self.probe.widest_gap = 0.0
            exchange = self.send(self._query_bytes(), byte_gap=0.002)
            if self._answered(exchange) or self.probe.widest_gap < _IDLE_SAFE_SECONDS:
                break  # else this host paused the kit itself past the idle reset: try again
        detail = "a query sent one byte every 2 ms got"
        if not self.report.record(
            SPLIT, self._answered(exchange), f"{detail} {self._got(exchange)}"
        ):
            return
        other = self.address % MAX_ADDRESS + 1
        glued = self.frame(FN_IDENTIFY, address=other).encode() + self._query_bytes()
        exchange = self.send(glued)
        detail = "a query glued after a frame for another address got"
        self.report.record(SPLIT, self._answered(exchange), f"{detail} {self._got(exchange)}")

    def _check_idle_reset(self) -> None:
        seq = self.next_seq()
        # A header promising 20 payload bytes that never come, then silence, then a query.
        partial = START + bytes((PROTOCOL_VERSION, self.address, 0, seq, 0x01, 0x00, 0x14))
        exchange = self.send(partial + self._query_bytes(), pause_after=len(partial))
        detail = "a query sent 100 ms after a partial frame got"
        self.report.record(IDLE, self._answered(exchange), f"{detail} {self._got(exchange)}")

    def _check_naks(self) -> None:
        fam = self.family
        self._expect_nak(UNKNOWN, self.frame(fam.unknown_function), NakReason.UNKNOWN_FUNCTION)
        function, payload = fam.bad_payload
        self._expect_nak(BAD_PAYLOAD, self.frame(function, payload), NakReason.BAD_PAYLOAD)
        highest = self.identity.max_version if self.identity else PROTOCOL_VERSION
        if highest >= MAX_VERSION:
            self.report.skip(VERSION, "the device speaks the highest version there is")
            return
        request = self.frame(fam.query_function, fam.query_payload, version=highest + 1)
        self._expect_nak(VERSION, request, NakReason.UNSUPPORTED_VERSION, detail=highest)

    def _expect_nak(
        self, clause: Clause, request: Frame, reason: NakReason, *, detail: int = 0
    ) -> Nak | None:
        reply = self.send(request).reply
        if reply is None:
            self.report.record(clause, False, f"no reply to {describe(request)}")
            return None
        nak = _nak_of(reply.frame)
        wanted = Nak(request.function, reason, detail)
        self.report.record(
            clause, nak == wanted, f"sent {describe(request)}, got {describe(reply.frame)}"
        )
        return nak

    # --- helpers ---

    def _answered(self, exchange: Exchange) -> bool:
        """Whether the status query got its own reply (not a NAK of a misread frame)."""
        reply = exchange.reply
        return reply is not None and reply.frame.function in self.family.query_replies

    def _got(self, exchange: Exchange) -> str:
        return describe(exchange.reply.frame if exchange.reply else None)

    def _query_bytes(self) -> bytes:
        return self.frame(self.family.query_function, self.family.query_payload).encode()

    def _judge_framing(self, heard: Heard, request: Frame | None) -> None:
        frame = heard.frame
        if not frame.reply:
            return  # our own frame echoed by an adapter that hears itself
        self._replies += 1
        report = self.report
        if heard.crc_swapped:
            report.record(CRC, False, f"CRC sent high byte first in {_hex(frame.encode())[:-6]}…")
        if frame.address != self.address:
            report.record(
                FRAME, False, f"a reply carries address {frame.address}: {describe(frame)}"
            )
            return
        if request is None or request.address != self.address:
            return
        self._latencies.append(heard.latency)
        if frame.seq != request.seq:
            report.record(
                FRAME, False, f"reply seq {frame.seq:#04x} to a request of seq {request.seq:#04x}"
            )
        nak = _nak_of(frame)
        version = PROTOCOL_VERSION if nak is not None else request.version
        if frame.version != version:
            report.record(FRAME, False, f"reply in version {frame.version} to {describe(request)}")


def _first_frame(data: bytes) -> Frame | None:
    at = data.rfind(START)
    while at >= 0:
        try:
            return Frame.decode(data[at:])
        except HallBusError:
            at = data.rfind(START, 0, at)
    return None


def _replies(exchange: Exchange) -> list[Heard]:
    return [heard for heard in exchange.heard if heard.frame.reply]


def _nak_of(frame: Frame) -> Nak | None:
    if frame.function != FN_NAK:
        return None
    try:
        return Nak.decode(frame.payload)
    except HallBusError:
        return None


def describe(frame: Frame | None) -> str:
    """A frame as a firmware engineer reads it: its bytes, and what a NAK says."""
    if frame is None:
        return "nothing"
    text = _hex(frame.encode())
    if len(text) > 90:
        text = text[:87] + "…"
    nak = _nak_of(frame)
    if nak is not None:
        text += f" (NAK of {nak.function:02X}: {nak.reason.name}, detail {nak.detail})"
    return text


def _hex(data: bytes) -> str:
    return data.hex(" ").upper()
