"""The value vocabulary (controller.domain.values): its rules, and that every value it accepts fits every
wire that carries it (both keypad protocols, unfitted) while hostile text is refused by name."""

from __future__ import annotations

import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from controller.domain import values
from display.keypad_text import KeypadDisplay, fallback_display, keypad_display
from firmware_protocols.keypad.keypad_mqtt import KeypadScreen
from firmware_protocols.keypad.keypad_serial import DisplayState
from tests.adversarial import TEXT


def _accepted(check: object, text: str) -> str | None:
    assert callable(check)
    try:
        return str(check(text))
    except ValueError:
        return None


def _send_both(display: KeypadDisplay) -> None:
    """Encode `display` as is on both keypad wires (raises if either refuses it)."""
    KeypadScreen(
        window=display.window,
        state=display.state,
        ticket=display.ticket,
        staff_name=display.staff_name,
        staff_post=display.staff_post,
        staff_photo_id=display.staff_photo_id,
        message=display.message,
        rating_seconds=display.rating_seconds,
    ).encode()
    DisplayState(
        display.window,
        display.state,
        display.ticket,
        display.staff_name,
        display.staff_post,
        display.staff_photo_id,
        display.message,
        display.rating_seconds,
    ).encode()


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("x\ud800y", "代理字符 U+D800"),
        ("a\x00b", "控制字符 U+0000"),
        ("a\x1bb", "控制字符 U+001B"),
        ("周\t文", "控制字符 U+0009"),
        ("a\nb", "控制字符 U+000A"),
        ("a\x85b", "控制字符 U+0085"),
        ("\u202eevil", "方向控制字符 U+202E"),
        ("   ", "1-16 个字"),
        ("周" * 17, "1-16 个字"),
    ],
)
def test_a_staff_name_is_refused_naming_the_problem(text: str, problem: str) -> None:
    with pytest.raises(ValueError, match=re.escape(problem)):
        values.staff_name(text)


def test_text_is_nfc_normalised_and_trimmed() -> None:
    assert values.staff_name(" e\u0301 周文 ") == "\u00e9 周文"
    assert values.notice_text("Ａ１") == "Ａ１"  # NFC keeps full-width forms (NFKC would not)
    assert values.leader_name("") == ""
    assert values.staff_id("T-01_a") == "T-01_a"
    for bad in ("T 01", "临时01", "S" * 33, "", "S0101\n", "Ｓ0101"):
        with pytest.raises(ValueError, match="1-32 位"):
            values.staff_id(bad)


@settings(max_examples=300, deadline=None)
@given(
    staff=TEXT | st.from_regex(r"[A-Za-z0-9_-]{1,32}", fullmatch=True),
    name=TEXT | st.text(min_size=1, max_size=16),
    post=TEXT | st.text(max_size=16),
    reason=TEXT | st.text(min_size=1, max_size=50),
)
def test_every_accepted_value_fits_both_keypad_wires_unfitted(
    staff: str, name: str, post: str, reason: str
) -> None:
    staff_id = _accepted(values.staff_id, staff)
    staff_name = _accepted(values.staff_name, name)
    staff_post = _accepted(values.staff_post, post)
    pause = _accepted(values.reason, reason)
    if staff_id is None or staff_name is None or staff_post is None or pause is None:
        return
    view = {
        "number": 3,
        "state": "paused",
        "staff": {"id": staff_id, "name": staff_name, "post": staff_post},
        "pause_reason": pause,
        "current": None,
    }
    _send_both(keypad_display(view))


@settings(max_examples=300, deadline=None)
@given(staff=TEXT, name=TEXT, post=TEXT, reason=TEXT, ticket=TEXT)
def test_the_fallback_of_any_display_fits_both_keypad_wires(
    staff: str, name: str, post: str, reason: str, ticket: str
) -> None:
    view = {
        "number": 3,
        "state": "serving",
        "staff": {"id": staff, "name": name, "post": post},
        "pause_reason": reason,
        "current": {"number": ticket},
    }
    _send_both(fallback_display(keypad_display(view)))
