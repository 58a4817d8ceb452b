"""`hallctl conformance keypad-serial`: keypad-serial.md and hall-bus.md against one wired keypad.

The kit is the controller: it polls. Besides the generic hall bus clauses it checks DISPLAY and
its repeat, broadcasts, and, with hands pressing keys and cycling the power, the press queue:
offered oldest first until answered and unchanged, removed by an answer whether accepted or not,
stray answers ignored, POLL executed fresh, seq +1 per press, a new boot id after power-up,
and (version 2) each press's age (devices/conformance/keypad_serial_age.py).
"""

from __future__ import annotations

import time

from devices.conformance.hall_bus_checks import (
    GENERIC,
    GENERIC_NAKS,
    BusKit,
    DeviceSilent,
    Family,
    describe,
)
from devices.conformance.hands import Hands
from devices.conformance.keypad_serial_age import PRESS_AGE, check_press_age
from devices.conformance.report import Clause, Report
from devices.conformance.serial_probe import SerialProbe
from firmware_protocols.hall_bus.hall_bus import BROADCAST, FN_ACK, Ack, DeviceClass, Frame
from firmware_protocols.hall_bus.hall_bus_fields import HallBusError
from firmware_protocols.keypad.keypad_serial import (
    FN_DISPLAY,
    FN_EVENT,
    FN_NO_EVENT,
    FN_POLL,
    DisplayState,
    EventReply,
    KeypadStatus,
    NoEventReply,
    Poll,
    PollAnswer,
    Press,
    decode_reply,
)
from firmware_protocols.keypad.keypad_serial_fields import MAX_SEQ, KeypadEventError

DOC = "keypad-serial.md"
BROADCAST_IGNORED = Clause(
    DOC, "1", "broadcast", "Frames to address 00 are ignored, never answered"
)
FRESH_POLL = Clause(DOC, "2", "fresh-poll", "POLL is executed fresh: resent, it offers a new press")
DISPLAY = Clause(DOC, "2", "display", "DISPLAY is ACKed (repeat too) and clears NEEDS_DISPLAY")
OFFER = Clause(
    DOC, "4", "offer", "The oldest press is offered until answered, unchanged, queued set"
)
ANSWER = Clause(
    DOC, "4", "answer", "An answer removes its press, accepted or not; stray answers ignored"
)
SEQ = Clause(DOC, "5", "seq", "seq counts +1 per press within a boot, never reused")
BOOT = Clause(DOC, "5", "boot", "Power-up: a new boot id, seq from 1, NEEDS_DISPLAY set")
POLL_REPLY = Clause(
    DOC, "6", "poll-reply", "POLL answered EVENT or NO_EVENT with a readable status"
)
RATING = Clause(DOC, "7", "rating", "A rating key travels as key 09 with rating 21-25")
FORGET = Clause("hall-bus.md", "7", "power-up", "Power-up forgets the last DISPLAY executed")
CATALOGUE = (
    *GENERIC,
    FORGET,
    *GENERIC_NAKS,
    BROADCAST_IGNORED,
    FRESH_POLL,
    DISPLAY,
    OFFER,
    ANSWER,
    SEQ,
    BOOT,
    POLL_REPLY,
    RATING,
    PRESS_AGE,
)
NEEDS_HANDS = (FRESH_POLL, OFFER, ANSWER, SEQ, BOOT, RATING, FORGET, PRESS_AGE)
_POLL_GAP = 0.05  # keypad-serial.md section 3: poll_interval
_DRAIN_POLLS = 64

KEYPAD_FAMILY = Family(
    name="keypad",
    device_classes=frozenset({DeviceClass.KEYPAD}),
    query_function=FN_POLL,
    query_payload=Poll().encode(),
    query_replies=frozenset({FN_EVENT, FN_NO_EVENT}),
    unknown_function=0x64,
    bad_payload=(FN_POLL, b"\x02"),  # a reserved POLL flag bit
)
_SCREEN = DisplayState(3, "serving", "A001", "张三", "社保经办", None, "正在办理 A001")
Reply = EventReply | NoEventReply


class KeypadSerialKit(BusKit):
    """One run against the wired keypad at `address`; `hands` press keys and cycle power."""

    family = KEYPAD_FAMILY

    def __init__(
        self,
        probe: SerialProbe,
        address: int,
        *,
        hands: Hands | None = None,
        action_seconds: float = 60.0,
        allowance: float = 0.02,
    ) -> None:
        report = Report(f"wired keypad at address {address}", CATALOGUE)
        super().__init__(probe, address, report, allowance=allowance)
        self.hands = hands
        self.action_seconds = action_seconds

    def run(self) -> Report:
        """Every clause of the catalogue once; the report."""
        try:
            self.run_generic()
            self.drain()
            self._check_display()
            self._check_broadcast()
            if self.hands is None:
                for clause in NEEDS_HANDS:
                    self.report.skip(
                        clause, "needs key presses and a power cycle: run with an operator"
                    )
            else:
                self._check_presses(self.hands)
                self._check_power_up(self.hands)
                check_press_age(self, self.hands)
        except DeviceSilent as err:
            self.report.stop(str(err))
        self.finish_generic()
        self.report.finish("not run")
        if self.identity is not None:
            self.report.notes.insert(0, f"firmware {self.identity.firmware!r}")
        return self.report

    # --- exchanges ---

    def poll(self, answer: PollAnswer | None = None, frame: Frame | None = None) -> Reply:
        """A POLL (a new one, or `frame` again); the EVENT or NO_EVENT, judged for POLL_REPLY."""
        frame = frame or self.frame(FN_POLL, Poll(answer).encode())
        return self._read(self.must_answer(self.send(frame), "POLL").frame)

    def wait_event(self, *, queued: int = 0) -> EventReply | None:
        """Poll every 50 ms until an EVENT with at least `queued` behind it; None after action_seconds."""
        deadline = time.monotonic() + self.action_seconds
        while time.monotonic() < deadline:
            reply = self.poll()
            if isinstance(reply, EventReply) and reply.queued >= queued:
                return reply
            time.sleep(_POLL_GAP)
        return None

    def _read(self, reply: Frame) -> Reply:
        try:
            decoded = decode_reply(reply)
        except KeypadEventError as err:
            self.report.record(RATING, False, f"{err}: {describe(reply)}")
            refused = PollAnswer(err.boot_id, err.seq, False, "bad_payload", None, "报文格式错误")
            return self.poll(refused)
        except HallBusError as err:
            self.report.record(POLL_REPLY, False, f"{err}: {describe(reply)}")
            raise DeviceSilent(f"POLL reply not readable: {describe(reply)}") from err
        if not isinstance(decoded, EventReply | NoEventReply):
            self.report.record(POLL_REPLY, False, f"POLL answered {describe(reply)}")
            raise DeviceSilent(f"POLL answered {describe(reply)}")
        self.report.record(POLL_REPLY, True)
        return decoded

    # --- clauses ---

    def drain(self) -> list[Press]:
        """Answer (accepted) every queued press until NO_EVENT; the presses seen."""
        seen: list[Press] = []
        answer: PollAnswer | None = None
        for _ in range(_DRAIN_POLLS):
            reply = self.poll(answer)
            if isinstance(reply, NoEventReply):
                return seen
            seen.append(reply.press)
            answer = _answer(reply.press, True)
        raise DeviceSilent(f"still offering presses after {_DRAIN_POLLS} answers")

    def _check_display(self) -> KeypadStatus:
        frame = self.frame(FN_DISPLAY, _SCREEN.encode())
        for attempt in ("DISPLAY", "the same DISPLAY resent"):
            reply = self.must_answer(self.send(frame), attempt).frame
            ok = _ack_of(reply) == FN_DISPLAY
            if not self.report.record(DISPLAY, ok, f"{attempt} answered {describe(reply)}"):
                break
        status = self.poll().status
        self.report.record(
            DISPLAY, not status.needs_display, "NEEDS_DISPLAY still set after DISPLAY"
        )
        return status

    def _check_broadcast(self) -> None:
        for request in (Poll(), _SCREEN):
            frame = self.frame(request.function, request.encode(), address=BROADCAST)
            heard = [h.frame for h in self.send(frame, answered=False).heard if h.frame.reply]
            ok = self.report.record(
                BROADCAST_IGNORED,
                not heard,
                f"answered a broadcast: {describe(heard[0] if heard else None)}",
            )
            if not ok:
                return

    def _check_presses(self, hands: Hands) -> None:
        first = self._first_press(hands)
        if first is None:
            return
        again = self.poll()
        unchanged = isinstance(again, EventReply) and again.press == first.press
        self.report.record(
            OFFER, unchanged, f"offered again as {_offered(again)}, first {first.press}"
        )
        self.report.record(OFFER, first.queued == 0, f"queued {first.queued} with one press made")
        taking = self.frame(FN_POLL, Poll(_answer(first.press, True)).encode())
        reply = self.poll(frame=taking)
        self.report.record(
            ANSWER, isinstance(reply, NoEventReply), f"answered, still {_offered(reply)}"
        )
        reply = self.poll(frame=taking)  # its reply was lost: the answer now names nothing
        self.report.record(
            ANSWER, isinstance(reply, NoEventReply), f"resent answer gave {_offered(reply)}"
        )
        self._check_two_presses(hands, first.press)

    def _first_press(self, hands: Hands) -> EventReply | None:
        waiting = self.frame(FN_POLL, Poll().encode())
        if not isinstance(self.poll(frame=waiting), NoEventReply):
            raise DeviceSilent("a press appeared before the kit asked for one")
        hands.press("next")
        deadline = time.monotonic() + self.action_seconds
        while time.monotonic() < deadline:
            reply = self.poll(frame=waiting)  # the same POLL, byte for byte
            if isinstance(reply, EventReply):
                self.report.record(FRESH_POLL, True)
                return reply
            time.sleep(_POLL_GAP)
        late = self.poll()
        if isinstance(late, EventReply):
            self.report.record(
                FRESH_POLL, False, "the resent POLL kept getting NO_EVENT; a new POLL got the press"
            )
            return late
        for clause in NEEDS_HANDS:
            self.report.skip(clause, f"no key press seen within {self.action_seconds:.0f} s")
        return None

    def _check_two_presses(self, hands: Hands, first: Press) -> None:
        hands.press("next")
        hands.press("rate", rating="very_satisfied")
        one = self.wait_event(queued=1)
        if one is None:
            self.report.record(OFFER, False, "two presses made, never offered with queued 1")
            self.drain()
            return
        self.report.record(
            OFFER, one.press.key == "next", f"offered {one.press} before the older next"
        )
        self.report.record(
            SEQ, one.press.seq == first.seq + 1, f"seq {first.seq}, then {one.press.seq}"
        )
        stray_seq = one.press.seq + 1000 if one.press.seq + 1000 <= MAX_SEQ else 1
        stray = PollAnswer(one.press.boot_id, stray_seq, True, "ok", None, "")
        reply = self.poll(stray)
        ok = isinstance(reply, EventReply) and reply.press == one.press and reply.queued == 1
        self.report.record(
            ANSWER, ok, f"an answer naming nothing changed the offer to {_offered(reply)}"
        )
        reply = self.poll(_answer(one.press, False))
        removed = isinstance(reply, EventReply) and reply.queued == 0 and reply.press != one.press
        self.report.record(ANSWER, removed, f"refused, still offered: {_offered(reply)}")
        rate = reply.press if removed and isinstance(reply, EventReply) else None
        if rate is None:
            rate = next((p for p in self.drain() if p.key == "rate"), None)
        else:
            self._drain_after(rate)
        if rate is None:
            self.report.record(RATING, False, "the rating key press never came")
            return
        self.report.record(RATING, rate.rating == "very_satisfied", f"rating press {rate}")
        self.report.record(
            SEQ, rate.seq == one.press.seq + 1, f"seq {one.press.seq}, then {rate.seq}"
        )

    def _drain_after(self, press: Press) -> None:
        reply = self.poll(_answer(press, True))
        if isinstance(reply, EventReply):
            self.drain()

    def _check_power_up(self, hands: Hands) -> None:
        before = self.poll().status
        screen = self.frame(FN_DISPLAY, _SCREEN.encode())
        self.must_answer(self.send(screen), "DISPLAY")
        hands.power_cycle()
        after = self._wait_power_up(before)
        if after is None:
            self.report.record(BOOT, False, f"no power-up seen within {self.action_seconds:.0f} s")
            self.report.skip(FORGET, "the power-up was not seen")
            return
        self.report.record(
            BOOT,
            after.boot_id != before.boot_id,
            f"boot id {after.boot_id:08X} again after power-up",
        )
        self.report.record(BOOT, after.needs_display, "NEEDS_DISPLAY clear after power-up")
        reply = self.must_answer(self.send(screen), "the last DISPLAY before power-up").frame
        shown = not self.poll().status.needs_display
        ok = _ack_of(reply) == FN_DISPLAY and shown
        self.report.record(
            FORGET, ok, f"the DISPLAY sent again answered {describe(reply)}, not shown"
        )
        self.drain()
        hands.press("next")
        event = self.wait_event()
        if event is None:
            self.report.record(BOOT, False, "no press offered after power-up")
            return
        fresh = (event.press.boot_id, event.press.seq) == (after.boot_id, 1)
        self.report.record(BOOT, fresh, f"first press after power-up: {event.press}")
        self._drain_after(event.press)

    def _wait_power_up(self, before: KeypadStatus) -> KeypadStatus | None:
        deadline = time.monotonic() + self.action_seconds
        while time.monotonic() < deadline:
            reply = self.query().reply  # no reply while the keypad is off
            if reply is not None:
                status = self._read(reply.frame).status
                if status.boot_id != before.boot_id or status.needs_display:
                    return status
            time.sleep(0.2)
        return None


def _answer(press: Press, accepted: bool) -> PollAnswer:
    if accepted:
        return PollAnswer(press.boot_id, press.seq, True, "ok", "A001", "请A001号到3号窗口")
    return PollAnswer(press.boot_id, press.seq, False, "not_invited", None, "当前无需评价")


def _offered(reply: Reply) -> str:
    if isinstance(reply, NoEventReply):
        return "NO_EVENT"
    return f"EVENT {reply.press} (queued {reply.queued})"


def _ack_of(frame: Frame) -> int | None:
    if frame.function != FN_ACK:
        return None
    try:
        return Ack.decode(frame.payload).function
    except HallBusError:
        return None
