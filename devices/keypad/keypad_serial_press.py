"""A wired keypad's EVENT as the hall's `KeypadPress` (with its age), and a broken one's refusal.

Version 2 keypads say how long ago each press was made (keypad-serial.md §7 "Press time"); the
press goes to the hall with that age, and the controller puts the press at its arrival minus
the age, then trusts it within `[keypads.press_time]` as it does a Wi-Fi keypad's stamp.
"""

from __future__ import annotations

import datetime as dt

from devices.keypad.keypad import (
    REFUSAL_MESSAGES,
    KeypadKey,
    KeypadPress,
    RatingKey,
    RefusedPress,
    refusal_code,
)
from devices.keypad.keypad_serial_state import KeypadOnBus
from firmware_protocols.keypad.keypad_serial import EventReply, PollAnswer
from firmware_protocols.keypad.keypad_serial_fields import UNKNOWN_AGE, KeypadEventError


def keypad_press(kp: KeypadOnBus, reply: EventReply, raw: str) -> KeypadPress:
    """The press `reply` offers, as the keypad at `kp` made it; `raw` is the frame in hex."""
    press = reply.press
    return KeypadPress(
        device_id=kp.device_id,
        boot_id=f"{press.boot_id:08x}",
        seq=press.seq,
        window=kp.window,
        key=KeypadKey(press.key),
        rating=RatingKey(press.rating) if press.rating is not None else None,
        reasons=press.reasons,
        argument=press.argument,
        raw=raw,
        reasons_table=press.reasons_table,
        pressed_ago=press_age(reply.age_ms),
    )


def press_age(age_ms: int | None) -> dt.timedelta | None:
    """How long before its reply the key was pressed; None in version 1 or when not known."""
    if age_ms is None or age_ms >= UNKNOWN_AGE:
        return None
    return dt.timedelta(milliseconds=age_ms)


def broken_press(
    kp: KeypadOnBus, error: KeypadEventError, raw: str
) -> tuple[RefusedPress, PollAnswer]:
    """A press the codec could not read but can answer: its press-log entry and its refusal."""
    code = refusal_code(error.field)
    boot_id = f"{error.boot_id:08x}"
    refusal = RefusedPress(kp.device_id, code, boot_id, error.seq, kp.window, raw=raw)
    answer = PollAnswer(error.boot_id, error.seq, False, code, None, REFUSAL_MESSAGES[code])
    return refusal, answer
