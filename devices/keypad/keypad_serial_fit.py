"""The hall's keypad states and answers, fitted into the RS-485 keypad protocol's caps.

A display or an answer never fails to go out because a text is too long: texts are cut to
their cap with "…", control characters become spaces, and a field that cannot be sent
(a photo id with other characters) is left out. Only a state or window outside the protocol
(a caller's bug) is dropped, and logged.
"""

from __future__ import annotations

import logging
import re

from devices.keypad.keypad import KeypadAnswer
from display.keypad_text import KeypadDisplay
from firmware_protocols.hall_bus.hall_bus_fields import HallBusError
from firmware_protocols.keypad.keypad_serial import DisplayState, PollAnswer
from firmware_protocols.keypad.keypad_serial_fields import (
    MAX_ANSWER_CHARS,
    MAX_DISPLAY_CHARS,
    MAX_NAME_CHARS,
    MAX_POST_CHARS,
    MAX_RATING_SECONDS,
    MAX_TICKET_CHARS,
)

log = logging.getLogger(__name__)
MAX_TEXT_BYTES = 0xFF  # one length byte
_CODE = re.compile(r"[a-z0-9_]{1,32}")
_PHOTO_ID = re.compile(r"[A-Za-z0-9_.-]{1,32}")


def display_state(display: KeypadDisplay) -> DisplayState | None:
    """The DISPLAY for `display`, texts fitted; None (logged) if its window or state is not sendable."""
    seconds = display.rating_seconds
    if display.state != "rating_invited" or seconds is None:
        seconds = None
    else:
        seconds = min(max(seconds, 0), MAX_RATING_SECONDS)
    photo = display.staff_photo_id
    try:
        return DisplayState(
            window=display.window,
            state=display.state,
            ticket=fit_text(display.ticket, MAX_TICKET_CHARS),
            staff_name=fit_text(display.staff_name, MAX_NAME_CHARS),
            staff_post=fit_text(display.staff_post, MAX_POST_CHARS),
            staff_photo_id=photo if photo is not None and _PHOTO_ID.fullmatch(photo) else None,
            message=fit_text(display.message, MAX_DISPLAY_CHARS) or "",
            rating_seconds=seconds,
        )
    except HallBusError as err:
        log.error("keypad display %r cannot be sent: %s", display, err)
        return None


def answer_for(boot_id: int, seq: int, answer: KeypadAnswer) -> PollAnswer:
    """The answer to press (boot_id, seq) as sent; an unsendable code becomes "error"."""
    code = answer.code if _CODE.fullmatch(answer.code) else "error"
    ticket = fit_text(answer.ticket, MAX_TICKET_CHARS)
    message = fit_text(answer.message, MAX_ANSWER_CHARS) or ""
    return PollAnswer(boot_id, seq, answer.accepted, code, ticket, message)


def fit_text(text: str | None, max_chars: int) -> str | None:
    """`text` without control characters, cut to `max_chars` and 255 GB18030 bytes; None if blank."""
    if text is None:
        return None
    cleaned = "".join(" " if _unsendable(char) else char for char in text).strip()
    if len(cleaned) > max_chars:
        cleaned = cleaned[: max_chars - 1] + "…"
    while len(cleaned.encode("gb18030")) > MAX_TEXT_BYTES:
        cleaned = cleaned[:-2] + "…"
    return cleaned or None


def _unsendable(char: str) -> bool:
    code = ord(char)
    return code < 0x20 or 0x7F <= code <= 0x9F or 0xD800 <= code <= 0xDFFF
