"""Keypad-serial version 2: the EVENT's press age (keypad-serial.md §7 "Press time", §11).

Golden bytes typed by hand from the spec; version 1 frames decode exactly as before.
"""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from firmware_protocols.hall_bus.hall_bus import Frame
from firmware_protocols.hall_bus.hall_bus_fields import HallBusError
from firmware_protocols.keypad.keypad_serial import (
    FN_EVENT,
    FN_NO_EVENT,
    EventReply,
    KeypadStatus,
    NoEventReply,
    Poll,
    Press,
    decode_reply,
    decode_request,
    request_frame,
)
from firmware_protocols.keypad.keypad_serial_fields import (
    KEYPAD_VERSION,
    MAX_REPLY_BYTES,
    UNKNOWN_AGE,
    KeypadEventError,
)
from tests.unit.test_hall_bus import bitwise_crc

BOOT = 0x5F1C9A20
STATUS = KeypadStatus(BOOT)
RATE = Press(BOOT, 4, "rate", "very_dissatisfied", ("R01", "R05"), 1)
# The v1 EVENT of the rating in keypad-serial.md §9, then the age: 42.5 s = 42500 ms.
V1_PAYLOAD = bytes.fromhex("5F 1C 9A 20 00 00 5F 1C 9A 20 00 00 00 04 09 25 01 02 01 05 00")
V2_PAYLOAD = V1_PAYLOAD + bytes.fromhex("00 00 A6 04")


def _wire(version: int, payload: bytes, function: int = FN_EVENT) -> bytes:
    head = bytes((0xFF, 0xA5, version, 0x03, 0x80, 0x31, function)) + len(payload).to_bytes(2)
    crc = bitwise_crc(head + payload)
    return head + payload + bytes((crc & 0xFF, crc >> 8))


def test_this_codec_speaks_version_2() -> None:
    assert KEYPAD_VERSION == 2


def test_a_version_2_event_carries_the_age_after_the_press() -> None:
    reply = EventReply(STATUS, RATE, 0, age_ms=42_500)
    assert reply.encode() == V2_PAYLOAD
    frame = Frame.decode(_wire(2, V2_PAYLOAD))
    assert decode_reply(frame) == reply


def test_a_version_1_event_is_read_as_before_without_an_age() -> None:
    frame = Frame.decode(_wire(1, V1_PAYLOAD))
    assert decode_reply(frame) == EventReply(STATUS, RATE, 0)
    assert EventReply(STATUS, RATE, 0).age_ms is None


def test_the_age_is_the_version_2_layout_and_only_it() -> None:
    with pytest.raises(KeypadEventError) as v1_with_age:
        decode_reply(Frame.decode(_wire(1, V2_PAYLOAD)))  # v1 has no trailing bytes
    assert (v1_with_age.value.boot_id, v1_with_age.value.seq) == (BOOT, 4)
    with pytest.raises(KeypadEventError, match="age") as v2_without:
        decode_reply(Frame.decode(_wire(2, V1_PAYLOAD)))
    assert (v2_without.value.boot_id, v2_without.value.seq) == (BOOT, 4)
    with pytest.raises(KeypadEventError):
        decode_reply(Frame.decode(_wire(2, V2_PAYLOAD + b"\x00")))


def test_no_event_and_poll_keep_their_layout_in_version_2() -> None:
    no_event = Frame.decode(_wire(2, bytes.fromhex("5F 1C 9A 20 00"), FN_NO_EVENT))
    assert decode_reply(no_event) == NoEventReply(STATUS)
    poll = request_frame(Poll(), 3, 0x2A, version=2)
    assert poll.encode().hex(" ").upper().startswith("FF A5 02 03 00 2A 60 00 01 00")
    assert decode_request(Frame.decode(poll.encode())) == Poll()


def test_a_version_this_codec_does_not_speak_is_refused() -> None:
    with pytest.raises(HallBusError, match="version 3"):
        decode_reply(Frame.decode(_wire(3, V2_PAYLOAD)))
    with pytest.raises(HallBusError, match="version"):
        request_frame(Poll(), 3, 1, version=3)


@pytest.mark.parametrize("age", [-1, UNKNOWN_AGE + 1, 1.5, True])
def test_an_age_outside_32_bits_is_refused(age: object) -> None:
    with pytest.raises(HallBusError, match="age"):
        EventReply(STATUS, RATE, 0, age_ms=age)  # type: ignore[arg-type]


def test_unknown_age_is_all_ones_and_the_longest_reply_still_fits() -> None:
    assert UNKNOWN_AGE == 0xFFFF_FFFF
    wide = "\U00020000"  # four GB18030 bytes
    longest = EventReply(
        KeypadStatus(BOOT, True, True),
        Press(BOOT, 1, "pause", argument=wide * 32),
        255,
        UNKNOWN_AGE,
    )
    data = Frame(3, FN_EVENT, 1, longest.encode(), reply=True, version=2).encode()
    assert len(data) == MAX_REPLY_BYTES == 162


@given(st.integers(0, UNKNOWN_AGE), st.integers(0, 255))
def test_round_trip(age: int, queued: int) -> None:
    reply = EventReply(STATUS, RATE, queued, age)
    frame = Frame(3, FN_EVENT, 7, reply.encode(), reply=True, version=2)
    assert decode_reply(Frame.decode(frame.encode())) == reply
