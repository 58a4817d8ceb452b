"""The points the specs once left open, now specified, behave as written (the twins and codecs)."""

from __future__ import annotations

from pathlib import Path

import pytest

from devices.keypad.sim_keypad_mqtt import SimulatedMqttKeypad
from devices.led.sim_led_model import SimLedStrip
from firmware_protocols.hall_bus.hall_bus import FN_ACK, FN_NAK, Frame, Nak, NakReason
from firmware_protocols.keypad.keypad_mqtt import KeypadScreen
from firmware_protocols.keypad.keypad_serial import DisplayState
from firmware_protocols.led.led_strip import (
    FN_CLEAR,
    FN_SHOW_CALL,
    FN_STATUS,
    ShowCall,
    StatusReply,
)

DOCS = Path(__file__).resolve().parents[2] / "docs" / "protocols"


def send(strip: SimLedStrip, function: int, seq: int, payload: bytes = b"") -> Frame:
    """One frame to the strip; its reply frame."""
    return Frame.decode(strip.handle(Frame(1, function, seq, payload), 0.0))


def test_a_call_with_an_empty_number_is_refused_bad_payload_and_changes_nothing() -> None:
    strip = SimLedStrip(1)
    assert send(strip, FN_SHOW_CALL, 1, ShowCall("A001", "3号窗口").encode()).function == FN_ACK
    for number in (b"", b"  "):
        payload = bytes((5, len(number))) + number + bytes((1,)) + b"3"
        reply = send(strip, FN_SHOW_CALL, 2, payload)
        assert reply.function == FN_NAK
        assert Nak.decode(reply.payload).reason == NakReason.BAD_PAYLOAD
    assert strip.text == "请A001号到3号窗口"
    with pytest.raises(ValueError, match="must not be empty"):
        ShowCall("", "3号窗口")
    assert "an empty or blank number is NAK BAD_PAYLOAD" in (DOCS / "led-strip.md").read_text()


def test_status_after_clear_reports_blank_content_and_the_clears_seq() -> None:
    strip = SimLedStrip(1)
    booted = StatusReply.decode(send(strip, FN_STATUS, 1).payload)
    assert (booted.content, booted.content_seq) == (0, 0)
    send(strip, FN_SHOW_CALL, 7, ShowCall("A001", "3号窗口").encode())
    send(strip, FN_CLEAR, 8)
    cleared = StatusReply.decode(send(strip, FN_STATUS, 9).payload)
    assert (cleared.content, cleared.content_seq) == (0, 8) and strip.text == ""


def test_a_query_between_a_frame_and_its_resend_leaves_the_repeat_memory_alone() -> None:
    strip = SimLedStrip(1)
    call = ShowCall("A001", "3号窗口", 5).encode()
    send(strip, FN_SHOW_CALL, 20, call)
    send(strip, FN_STATUS, 21)  # the ACK was lost; the master asked STATUS meanwhile
    assert send(strip, FN_SHOW_CALL, 20, call).function == FN_ACK
    assert strip.repeats == 1 and len(strip.executed) == 1  # not executed twice


def test_an_invitation_without_seconds_is_no_countdown_on_both_wires() -> None:
    serial = DisplayState(3, "rating_invited", "A001", None, None, None, "请您评价", None)
    assert DisplayState.decode(serial.encode()).rating_seconds is None
    assert serial.encode()[3:5] == b"\xff\xff"
    with pytest.raises(ValueError, match="only with state rating_invited"):
        DisplayState(3, "idle", None, None, None, None, "", 30)
    screen = KeypadScreen(3, "rating_invited", "A001")
    assert KeypadScreen.decode(screen.encode()).rating_seconds is None


@pytest.mark.parametrize("seconds", [0, 9, 61])
def test_a_simulated_keypad_keeps_alive_within_the_documented_bounds(seconds: int) -> None:
    with pytest.raises(ValueError, match="keep alive"):
        SimulatedMqttKeypad("qs", "K03", 3, "pw", keepalive_seconds=seconds)
    assert "10–60 s" in (DOCS / "keypad-mqtt.md").read_text(encoding="utf-8")
