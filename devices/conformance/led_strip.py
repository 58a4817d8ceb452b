"""`hallctl conformance led-strip`: hall-bus.md and led-strip.md checked against one LED display.

The kit is the bus master. Besides the generic hall bus clauses it checks every LED function
and what STATUS reports after it, the repeat memory (own address and broadcast apart), fresh
queries, broadcasts, BUSY handling and, with hands, what a power-up must reset.
"""

from __future__ import annotations

import time

from devices.conformance.hall_bus_checks import (
    GENERIC,
    GENERIC_NAKS,
    MASTER_TIMEOUT_SECONDS,
    BusKit,
    DeviceSilent,
    Family,
    describe,
)
from devices.conformance.hands import Hands
from devices.conformance.report import Clause, Report
from devices.conformance.serial_probe import Heard, SerialProbe
from firmware_protocols.hall_bus.hall_bus import (
    BROADCAST,
    FN_ACK,
    Ack,
    DeviceClass,
    Frame,
    Nak,
    NakReason,
)
from firmware_protocols.hall_bus.hall_bus_fields import HallBusError
from firmware_protocols.led.led_strip import (
    FN_STATUS,
    Blink,
    BoardText,
    Clear,
    LedRequest,
    SetBrightness,
    ShowCall,
    ShowIdle,
    ShowPaused,
    ShowText,
    StatusFlags,
    StatusReply,
)

BUS = "hall-bus.md"
LED = "led-strip.md"
BROADCAST_RUN = Clause(BUS, "4", "broadcast", "A broadcast is executed and never answered")
REPEAT = Clause(
    BUS,
    "7",
    "repeat",
    "A resent frame is ACKed again, not executed again (own and broadcast apart)",
)
SAME_SEQ = Clause(BUS, "7", "same-seq", "The last seq with other content is a new frame: executed")
FRESH_QUERY = Clause(BUS, "7", "fresh-query", "STATUS is answered fresh, never replayed")
POWER_UP = Clause(BUS, "7", "power-up", "Power-up forgets the remembered frame")
BUSY = Clause(BUS, "8", "busy", "A frame refused BUSY was not executed: resent, it is executed")
BOOTED = Clause(LED, "1", "booted", "After power-up STATUS shows BOOTED until the first content")
FUNCTIONS = Clause(
    LED, "2", "functions", "Every function is ACKed; STATUS shows content, its seq, brightness"
)
STATUS = Clause(LED, "2", "status", "STATUS reply: 6 bytes, reserved flags 0, values in range")
BOARD_TEXT = Clause(
    LED, "2", "board-text", "BOARD_TEXT: ACK on a board, NAK NOT_SUPPORTED (04) on a strip"
)
CATALOGUE = (
    *GENERIC,
    *GENERIC_NAKS,
    BROADCAST_RUN,
    REPEAT,
    SAME_SEQ,
    FRESH_QUERY,
    POWER_UP,
    BUSY,
    BOOTED,
    FUNCTIONS,
    STATUS,
    BOARD_TEXT,
)
_BUSY_TRIES = 5


def _bad_show_call() -> bytes:
    good = ShowCall("A001", "3号窗口", 5).encode()
    return bytes((61,)) + good[1:]  # blink 61 s: over the cap of 60


LED_FAMILY = Family(
    name="LED display",
    device_classes=frozenset({DeviceClass.LED_STRIP, DeviceClass.LED_BOARD}),
    query_function=FN_STATUS,
    query_payload=b"",
    query_replies=frozenset({FN_STATUS}),
    unknown_function=0x4F,
    bad_payload=(ShowCall.function, _bad_show_call()),
)


class LedStripKit(BusKit):
    """One run against the LED display at `address`; `hands` for the power cycle (None: skip)."""

    family = LED_FAMILY

    def __init__(
        self,
        probe: SerialProbe,
        address: int,
        *,
        hands: Hands | None = None,
        action_seconds: float = 60.0,
        allowance: float = 0.02,
    ) -> None:
        report = Report(f"LED display at address {address}", CATALOGUE)
        super().__init__(probe, address, report, allowance=allowance)
        self.hands = hands
        self.action_seconds = action_seconds
        self._busy: list[tuple[Frame, bool]] = []  # (frame refused BUSY, executed when resent)

    def run(self) -> Report:
        """Every clause of the catalogue once; the report."""
        try:
            self.run_generic()
            self._check_functions()
            self._check_board_text()
            self._check_repeats()
            self._check_same_seq()
            self._check_fresh_query()
            self._check_power_up()
        except DeviceSilent as err:
            self.report.stop(str(err))
        self.finish_generic()
        self._judge_busy()
        self.report.finish("not run")
        if self.identity is not None:
            self.report.notes.insert(0, f"firmware {self.identity.firmware!r}")
        return self.report

    # --- exchanges ---

    def command(self, request: LedRequest) -> Frame | None:
        """Send a command as a new frame; its ACK (resent while BUSY), or None."""
        return self.resend(self.frame(request.function, request.encode()))

    def resend(self, frame: Frame) -> Frame | None:
        """Send `frame` (again); the ACK frame, or None with the refusal recorded as FUNCTIONS evidence."""
        refused = False
        for _ in range(_BUSY_TRIES):
            reply = self.must_answer(self.send(frame), describe(frame)).frame
            if _is_nak(reply, NakReason.BUSY):
                # hall-bus.md section 8: the master resends a BUSY frame after the reply timeout
                time.sleep(MASTER_TIMEOUT_SECONDS)
                refused = True
                continue
            acked = reply.function == FN_ACK and _ack_of(reply) == frame.function
            if refused:
                self._busy.append((frame, acked and self._shows(frame)))
            if acked:
                return reply
            self.report.record(FUNCTIONS, False, f"{describe(frame)} answered {describe(reply)}")
            return None
        self.report.record(
            FUNCTIONS, False, f"{describe(frame)} still BUSY after {_BUSY_TRIES} tries"
        )
        return None

    def broadcast(self, request: LedRequest) -> Frame:
        """Send a broadcast twice as the master does; BROADCAST fails if anybody answers."""
        frame = self.frame(request.function, request.encode(), address=BROADCAST)
        for _ in range(2):
            heard = [h for h in self.send(frame, answered=False).heard if h.frame.reply]
            self.report.record(
                BROADCAST_RUN, not heard, f"a broadcast was answered: {_first(heard)}"
            )
        return frame

    def status(self) -> StatusReply:
        """A fresh STATUS; DeviceSilent when none comes."""
        reply = self.must_answer(self.query(), "STATUS").frame
        return self._status_of(reply)

    # --- clauses ---

    def _check_functions(self) -> None:
        first = self.status()
        contents: list[tuple[LedRequest, str]] = [
            (ShowCall("A001", "3号窗口", 2), "SHOW_CALL"),
            (ShowPaused(), "SHOW_PAUSED"),
            (ShowIdle("3号窗口", "冯晨", "医保经办"), "SHOW_IDLE"),
            (ShowText("请携带身份证原件", scroll=True), "SHOW_TEXT"),
        ]
        for request, name in contents:
            frame = self.frame(request.function, request.encode())
            busy_before = len(self._busy)
            if self.resend(frame) is None or len(self._busy) > busy_before:
                continue  # refused BUSY first: whether it was executed is the BUSY clause's
            status = self.status()
            ok = (status.content, status.content_seq) == (frame.function, frame.seq)
            self.report.record(
                FUNCTIONS, ok, f"after {name} seq {frame.seq:#04x} STATUS shows {shown(status)}"
            )
        for request, check in (
            (SetBrightness(80), lambda s: s.brightness == 80),
            (Blink(1), lambda s: True),
            (Clear(), lambda s: s.content == 0),
            (SetBrightness(first.brightness or 100), lambda s: True),
        ):
            if self.command(request) is not None:
                status = self.status()
                self.report.record(
                    FUNCTIONS,
                    check(status),
                    f"after {type(request).__name__} STATUS shows {shown(status)}",
                )
        self.report.record(FUNCTIONS, True)

    def _check_board_text(self) -> None:
        request = BoardText(("测试",), first_line=0)
        frame = self.frame(request.function, request.encode())
        reply = self.must_answer(self.send(frame), "BOARD_TEXT").frame
        board = self.identity is not None and self.identity.device_class == DeviceClass.LED_BOARD
        if board:
            ok = _ack_of(reply) == frame.function
            self.report.record(BOARD_TEXT, ok, f"a board answered {describe(reply)}")
        else:
            wanted = Nak(frame.function, NakReason.NOT_SUPPORTED)
            self.report.record(
                BOARD_TEXT, _nak(reply) == wanted, f"a strip answered {describe(reply)}"
            )

    def _check_repeats(self) -> None:
        call = self.frame(ShowCall.function, ShowCall("A002", "3号窗口").encode())
        if self.resend(call) is None:
            return
        text = self.broadcast(ShowText("窗口广播测试"))
        status = self.status()
        ok = (status.content, status.content_seq) == (text.function, text.seq)
        self.report.record(
            BROADCAST_RUN, ok, f"after a broadcast SHOW_TEXT STATUS shows {shown(status)}"
        )
        again = self.must_answer(self.send(call), "a resent SHOW_CALL").frame
        if not self.report.record(
            REPEAT, _ack_of(again) == call.function, f"resend answered {describe(again)}"
        ):
            return
        status = self.status()
        ok = (status.content, status.content_seq) == (text.function, text.seq)
        self.report.record(
            REPEAT, ok, f"the resent SHOW_CALL was executed again: STATUS {shown(status)}"
        )
        other = self.frame(ShowCall.function, ShowCall("A003", "3号窗口").encode())
        self.resend(other)
        self.send(text, answered=False)  # the broadcast's copy: its memory is not the address's
        status = self.status()
        ok = (status.content, status.content_seq) == (other.function, other.seq)
        self.report.record(
            REPEAT, ok, f"a repeated broadcast was executed again: STATUS {shown(status)}"
        )

    def _check_same_seq(self) -> None:
        call = self.frame(ShowCall.function, ShowCall("A004", "3号窗口").encode())
        if self.resend(call) is None:
            return
        text = ShowText("同号新内容")
        frame = self.frame(text.function, text.encode(), seq=call.seq)
        self.resend(frame)
        status = self.status()
        ok = (status.content, status.content_seq) == (text.function, call.seq)
        self.report.record(
            SAME_SEQ, ok, f"SHOW_TEXT under the last seq not executed: STATUS {shown(status)}"
        )

    def _check_fresh_query(self) -> None:
        query = self.frame(FN_STATUS)
        before = self._status_of(self.must_answer(self.send(query), "STATUS").frame)
        paused = self.frame(ShowPaused.function, ShowPaused("测试暂停").encode())
        if self.resend(paused) is None:
            return
        after = self._status_of(self.must_answer(self.send(query), "a resent STATUS").frame)
        ok = after.content == paused.function and after.content_seq == paused.seq
        self.report.record(
            FRESH_QUERY,
            ok,
            f"the same STATUS bytes gave {shown(after)} (first {shown(before)}) after SHOW_PAUSED",
        )

    def _check_power_up(self) -> None:
        if self.hands is None:
            for clause in (POWER_UP, BOOTED):
                self.report.skip(clause, "needs a power cycle: run with an operator")
            return
        call = self.frame(ShowCall.function, ShowCall("A005", "3号窗口").encode())
        if self.resend(call) is None:
            return
        self.hands.power_cycle()
        booted = self._wait_booted()
        if booted is None:
            self.report.record(
                BOOTED, False, f"no STATUS with BOOTED within {self.action_seconds:.0f} s"
            )
            self.report.skip(POWER_UP, "the power-up was not seen")
            return
        again = self.must_answer(self.send(call), "SHOW_CALL after power-up").frame
        status = self.status()
        executed = (status.content, status.content_seq) == (call.function, call.seq)
        self.report.record(
            POWER_UP,
            _ack_of(again) == call.function and executed,
            f"the last frame before power-up, sent again, answered {describe(again)}; "
            f"then STATUS {shown(status)}",
        )
        fresh = self.frame(ShowCall.function, ShowCall("A006", "3号窗口").encode())
        if self.resend(fresh) is not None:
            status = self.status()
            cleared = not status.flags & StatusFlags.BOOTED
            self.report.record(BOOTED, cleared, f"after a content command STATUS {shown(status)}")

    def _wait_booted(self) -> StatusReply | None:
        deadline = time.monotonic() + self.action_seconds
        while time.monotonic() < deadline:
            reply = self.query().reply
            if reply is not None:
                status = self._status_of(reply.frame)
                if status.flags & StatusFlags.BOOTED:
                    return status
            time.sleep(0.2)
        return None

    def _judge_busy(self) -> None:
        if not self._busy:
            self.report.skip(BUSY, "the device never answered BUSY (allowed)")
            return
        wrong = [frame for frame, executed in self._busy if not executed]
        count = f"{len(self._busy)} BUSY answers"
        if wrong:
            count += f"; ACKed but not executed when resent: {describe(wrong[0])}"
        self.report.record(BUSY, not wrong, count, evidence=count)

    def _shows(self, frame: Frame) -> bool:
        if frame.function not in range(ShowCall.function, BoardText.function + 1):
            return True  # BRIGHTNESS, BLINK, CLEAR leave no content seq to compare
        status = self.status()
        return (status.content, status.content_seq) == (frame.function, frame.seq)

    def _status_of(self, reply: Frame) -> StatusReply:
        try:
            if reply.function != FN_STATUS:
                raise HallBusError(f"function {reply.function:#04x}")
            status = StatusReply.decode(reply.payload)
        except HallBusError as err:
            self.report.record(STATUS, False, f"{err}: {describe(reply)}")
            raise DeviceSilent(f"STATUS not readable: {describe(reply)}") from err
        self.report.record(STATUS, True)
        return status


def shown(status: StatusReply) -> str:
    """STATUS in a line: content function and seq, brightness, flags."""
    return (
        f"content {status.content:02X} seq {status.content_seq:#04x}, "
        f"brightness {status.brightness}, flags {int(status.flags):02X}"
    )


def _ack_of(frame: Frame) -> int | None:
    if frame.function != FN_ACK:
        return None
    try:
        return Ack.decode(frame.payload).function
    except HallBusError:
        return None


def _nak(frame: Frame) -> Nak | None:
    try:
        return Nak.decode(frame.payload) if frame.function == 0x02 else None
    except HallBusError:
        return None


def _is_nak(frame: Frame, reason: NakReason) -> bool:
    nak = _nak(frame)
    return nak is not None and nak.reason is reason


def _first(heard: list[Heard]) -> str:
    return describe(heard[0].frame) if heard else ""
