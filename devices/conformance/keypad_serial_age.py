"""The press-age clause of keypad-serial.md (§7 "Press time", version 2), for the wired keypad kit.

With hands: one key press, offered in version 2 with an age no older than the kit's request to
press, then held unanswered for a while and offered again with an age grown by the time that
passed (by the kit's clock, within 100 ms and 2 %); asked in version 1 meanwhile, the same
press without an age. A version 1 keypad is skipped: it carries no age, which version 1 allows.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

from devices.conformance.hall_bus_checks import DeviceSilent, describe
from devices.conformance.hands import Hands
from devices.conformance.report import Clause
from firmware_protocols.hall_bus.hall_bus_fields import HallBusError
from firmware_protocols.keypad.keypad_serial import (
    FN_POLL,
    EventReply,
    KeypadReply,
    Poll,
    PollAnswer,
    decode_reply,
)
from firmware_protocols.keypad.keypad_serial_fields import (
    PRESS_AGE_VERSION,
    UNKNOWN_AGE,
    KeypadEventError,
)

if TYPE_CHECKING:
    from devices.conformance.keypad_serial import KeypadSerialKit

PRESS_AGE = Clause(
    "keypad-serial.md",
    "7",
    "press-age",
    "Version 2: EVENT ends with the press's age in ms by the keypad's ticks; version 1 has none",
)
HOLD_SECONDS = 2.0  # how long the kit leaves the press unanswered before asking again
AGE_SLACK_MS = 100.0  # reply-time jitter of both polls, and a USB adapter's latency timer
AGE_RATE_SLACK = 0.02  # a keypad's ticks may run 2 % fast or slow
_POLL_GAP = 0.05


def check_press_age(kit: KeypadSerialKit, hands: Hands) -> None:
    """Run the press-age clause against the keypad under `kit` (its queue drained first)."""
    identity = kit.identity
    if identity is None or identity.max_version < PRESS_AGE_VERSION:
        kit.report.skip(PRESS_AGE, "a version 1 keypad: its presses carry no age (§11)")
        return
    kit.drain()
    try:
        _held_press(kit, hands)
    except _Broken as err:
        kit.report.record(PRESS_AGE, False, str(err))
        kit.poll(PollAnswer(err.boot_id, err.seq, False, "bad_payload", None, "报文格式错误"))
    kit.drain()


class _Broken(Exception):
    """A version 2 EVENT that breaks its layout: the clause fails, the press is answered."""

    def __init__(self, detail: str, boot_id: int, seq: int) -> None:
        super().__init__(detail)
        self.boot_id, self.seq = boot_id, seq


def _held_press(kit: KeypadSerialKit, hands: Hands) -> None:
    asked = time.monotonic()
    hands.press("next")
    first = _wait_event(kit, asked + kit.action_seconds)
    if first is None:
        kit.report.record(PRESS_AGE, False, f"no press seen within {kit.action_seconds:.0f} s")
        return
    event, seen = first
    waited_ms = (seen - asked) * 1000
    age = event.age_ms
    ok = age is not None and age != UNKNOWN_AGE and age <= waited_ms + AGE_SLACK_MS
    kit.report.record(
        PRESS_AGE, ok, f"age {_ms(age)} for a press asked for {waited_ms:.0f} ms before"
    )
    _check_version_1(kit, event)
    time.sleep(HOLD_SECONDS)
    again = _poll(kit, PRESS_AGE_VERSION)
    if again is None or again[0].press != event.press:
        kit.report.record(PRESS_AGE, False, "the held press was not offered again")
    else:
        _check_growth(kit, event, seen, *again)
    kit.poll(PollAnswer(event.press.boot_id, event.press.seq, True, "ok", "A001", ""))


def _check_growth(
    kit: KeypadSerialKit, first: EventReply, seen: float, later: EventReply, later_seen: float
) -> None:
    passed_ms = (later_seen - seen) * 1000
    if first.age_ms is None or later.age_ms is None:
        return  # already failed
    grown = later.age_ms - first.age_ms
    ok = abs(grown - passed_ms) <= AGE_SLACK_MS + AGE_RATE_SLACK * passed_ms
    detail = f"the age grew {grown} ms while {passed_ms:.0f} ms passed"
    kit.report.record(PRESS_AGE, ok, detail)


def _check_version_1(kit: KeypadSerialKit, event: EventReply) -> None:
    reply = kit.must_answer(kit.send(kit.frame(FN_POLL, Poll().encode())), "POLL").frame
    try:
        decoded: KeypadReply | None = decode_reply(reply)
    except HallBusError:
        decoded = None
    ok = (
        reply.version == 1
        and isinstance(decoded, EventReply)
        and decoded.press == event.press
        and decoded.age_ms is None
    )
    kit.report.record(
        PRESS_AGE, ok, f"a version 1 POLL got {describe(reply)}, not the press without its age"
    )


def _wait_event(kit: KeypadSerialKit, deadline: float) -> tuple[EventReply, float] | None:
    while time.monotonic() < deadline:
        found = _poll(kit, PRESS_AGE_VERSION)
        if found is not None:
            return found
        time.sleep(_POLL_GAP)
    return None


def _poll(kit: KeypadSerialKit, version: int) -> tuple[EventReply, float] | None:
    """A POLL in `version`; the EVENT and when its reply started (kit's clock), else None."""
    sent = time.monotonic()
    heard = kit.must_answer(kit.send(kit.frame(FN_POLL, Poll().encode(), version=version)), "POLL")
    try:
        reply = decode_reply(heard.frame)
    except KeypadEventError as err:
        raise _Broken(f"{err}: {describe(heard.frame)}", err.boot_id, err.seq) from err
    except HallBusError as err:
        kit.report.record(PRESS_AGE, False, f"{err}: {describe(heard.frame)}")
        raise DeviceSilent(f"version {version} POLL reply not readable") from err
    if not isinstance(reply, EventReply):
        return None
    if heard.frame.version != version:
        kit.report.record(PRESS_AGE, False, f"asked in version {version}: {describe(heard.frame)}")
    return reply, sent + heard.latency


def _ms(age: int | None) -> str:
    if age is None:
        return "none"
    return "FFFFFFFF (not known)" if age == UNKNOWN_AGE else f"{age} ms"
