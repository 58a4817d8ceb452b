"""Hall bus framing: hand-written golden frames, CRC, resynchronising decoder, caps, repeats."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from firmware_protocols.hall_bus.hall_bus import (
    MAX_FRAME_BYTES,
    MAX_PAYLOAD_BYTES,
    Ack,
    DeviceClass,
    Frame,
    FrameDecoder,
    IdentifyQuery,
    Identity,
    Nak,
    NakReason,
    RepeatFilter,
    crc16_modbus,
    reply_to,
    wire_seconds,
)
from firmware_protocols.hall_bus.hall_bus_fields import HallBusError, PayloadReader, encode_text

# Typed byte by byte from docs/protocols/hall-bus.md section 2; CRCs from the bitwise reference
# below (the doc's worked example walks through the first one).
STATUS_QUERY = bytes.fromhex(
    "FF A5"  # start marker
    "01"  # version 1
    "03"  # address 3
    "00"  # control: request
    "10"  # seq 0x10
    "48"  # function STATUS
    "00 00"  # no payload
    "11 66"  # CRC 0x6611, low byte first
)
ACK_FROM_3 = bytes.fromhex(
    "FF A5 01"
    "03"  # the replying device's own address
    "80"  # control: reply bit
    "10"  # the seq of the request it answers
    "01"  # ACK
    "00 01"  # 1 payload byte
    "40"  # acknowledges SHOW_CALL
    "AF F0"
)
NAK_FROM_5 = bytes.fromhex("FF A5 01 05 80 22 02 00 03 5F 01 00 74 0A")  # 5F unknown function
BROADCAST_BRIGHTNESS = bytes.fromhex("FF A5 01 00 00 01 45 00 01 32 EB E6")
GOLDEN = (STATUS_QUERY, ACK_FROM_3, NAK_FROM_5, BROADCAST_BRIGHTNESS)

frames = st.tuples(st.integers(0, 247), st.booleans()).flatmap(
    lambda where: st.builds(
        Frame,
        address=st.just(where[0]),
        function=st.integers(1, 254),
        seq=st.integers(0, 255),
        payload=st.binary(max_size=MAX_PAYLOAD_BYTES),
        reply=st.just(where[1] and where[0] != 0),  # a broadcast is never answered
        version=st.integers(1, 15),
    )
)


def bitwise_crc(data: bytes) -> int:
    """CRC-16/MODBUS straight from its definition, bit by bit (the codec uses a table)."""
    crc = 0xFFFF
    for byte in data:
        crc ^= byte
        for _ in range(8):
            crc = (crc >> 1) ^ 0xA001 if crc & 1 else crc >> 1
    return crc


def test_crc_check_value_and_worked_example() -> None:
    assert crc16_modbus(b"123456789") == 0x4B37
    assert crc16_modbus(STATUS_QUERY[:-2]) == 0x6611
    assert crc16_modbus(STATUS_QUERY) == 0  # a good frame's CRC over itself is zero


@given(st.binary(max_size=600))
def test_crc_table_matches_the_bitwise_definition(data: bytes) -> None:
    assert crc16_modbus(data) == bitwise_crc(data)


def test_golden_frames_decode_field_by_field() -> None:
    assert Frame.decode(STATUS_QUERY) == Frame(address=3, function=0x48, seq=0x10)
    assert Frame.decode(ACK_FROM_3) == Frame(3, 0x01, 0x10, b"\x40", reply=True)
    assert Ack.decode(Frame.decode(ACK_FROM_3).payload) == Ack(0x40)
    nak = Nak.decode(Frame.decode(NAK_FROM_5).payload)
    assert nak == Nak(0x5F, NakReason.UNKNOWN_FUNCTION, 0)
    assert Frame.decode(BROADCAST_BRIGHTNESS) == Frame(0, 0x45, 0x01, b"\x32")


def test_golden_frames_encode_to_the_same_bytes() -> None:
    assert Frame(3, 0x48, 0x10).encode() == STATUS_QUERY
    request = Frame(3, 0x40, 0x10, b"...")
    assert reply_to(request, 0x01, Ack(0x40).encode()).encode() == ACK_FROM_3
    assert Frame(5, 0x02, 0x22, bytes((0x5F, 1, 0)), reply=True).encode() == NAK_FROM_5


def test_identity_golden_payload() -> None:
    payload = bytes.fromhex("01 01 0B") + b"sim-led 1.0"  # strip, version 1, 11-char name
    assert Identity.decode(payload) == Identity(DeviceClass.LED_STRIP, 1, "sim-led 1.0")
    assert Identity(1, 1, "sim-led 1.0").encode() == payload
    assert IdentifyQuery.decode(b"") == IdentifyQuery()


@settings(max_examples=300, deadline=None)
@given(frames)
def test_frames_round_trip(frame: Frame) -> None:
    data = frame.encode()
    assert len(data) == 11 + len(frame.payload) <= MAX_FRAME_BYTES
    assert Frame.decode(data) == frame
    assert FrameDecoder().feed(data) == [frame]


@pytest.mark.parametrize(
    ("data", "field"),
    [
        (STATUS_QUERY[:2] + b"\x00" + STATUS_QUERY[3:], "version"),  # version 0
        (STATUS_QUERY[:2] + b"\x10" + STATUS_QUERY[3:], "version"),  # reserved high nibble
        (STATUS_QUERY[:3] + b"\xf8" + STATUS_QUERY[4:], "address"),  # reserved address
        (STATUS_QUERY[:4] + b"\x01" + STATUS_QUERY[5:], "control"),  # reserved control bit
        (STATUS_QUERY[:6] + b"\x00" + STATUS_QUERY[7:], "function"),  # function 0
        (STATUS_QUERY[:6] + b"\xff" + STATUS_QUERY[7:], "function"),  # function FF
        (STATUS_QUERY[:-1] + b"\x67", "crc"),
        (BROADCAST_BRIGHTNESS[:4] + b"\x80" + BROADCAST_BRIGHTNESS[5:], "address"),
    ],
)
def test_malformed_frames_name_the_field(data: bytes, field: str) -> None:
    with pytest.raises(HallBusError) as caught:
        Frame.decode(data)
    assert caught.value.field == field
    assert isinstance(caught.value, ValueError)


def test_length_must_match_and_frames_are_capped() -> None:
    with pytest.raises(HallBusError, match="length field"):
        Frame.decode(STATUS_QUERY[:-2] + b"\x00" + STATUS_QUERY[-2:])
    with pytest.raises(HallBusError):
        Frame.decode(STATUS_QUERY[:5])
    biggest = Frame(1, 0x40, 0, bytes(MAX_PAYLOAD_BYTES)).encode()
    assert len(biggest) == MAX_FRAME_BYTES == 512
    assert Frame.decode(biggest).payload == bytes(MAX_PAYLOAD_BYTES)
    with pytest.raises(HallBusError, match="at most 501"):
        Frame(1, 0x40, 0, bytes(MAX_PAYLOAD_BYTES + 1))
    with pytest.raises(HallBusError):
        Frame.decode(biggest + b"\x00")


def test_frame_fields_are_checked_when_built() -> None:
    for bad in (
        {"address": 248},
        {"seq": 256},
        {"function": 0},
        {"function": 0xFF},
        {"version": 16},
        {"address": 0, "reply": True},
    ):
        values = {"address": 1, "function": 0x40, "seq": 0, **bad}
        with pytest.raises(HallBusError):
            Frame(**values)  # type: ignore[arg-type]
    with pytest.raises(HallBusError, match="never answered"):
        reply_to(Frame(0, 0x45, 1, b"\x32"), 0x01)


def test_decoder_whole_byte_by_byte_and_five_glued() -> None:
    expected = [Frame.decode(data) for data in GOLDEN]
    stream = b"".join(GOLDEN) + STATUS_QUERY
    whole = FrameDecoder()
    assert whole.feed(stream) == [*expected, expected[0]]
    single = FrameDecoder()
    out = [frame for byte in stream for frame in single.feed(bytes((byte,)))]
    assert out == [*expected, expected[0]]
    assert whole.discarded == single.discarded == 0 and single.buffered == 0


def test_decoder_split_at_every_point() -> None:
    stream = ACK_FROM_3 + NAK_FROM_5
    for cut in range(len(stream) + 1):
        decoder = FrameDecoder()
        frames_out = decoder.feed(stream[:cut]) + decoder.feed(stream[cut:])
        assert frames_out == [Frame.decode(ACK_FROM_3), Frame.decode(NAK_FROM_5)]


def test_decoder_skips_garbage_and_counts_it() -> None:
    noise = b"\x00\x13\xff\xff\xa5\x00\x99\xff"  # includes a false start marker
    decoder = FrameDecoder()
    assert decoder.feed(noise + STATUS_QUERY + noise + ACK_FROM_3) == [
        Frame.decode(STATUS_QUERY),
        Frame.decode(ACK_FROM_3),
    ]
    assert decoder.discarded == 2 * len(noise)


def test_decoder_resynchronises_after_a_damaged_frame() -> None:
    damaged = bytearray(STATUS_QUERY)
    damaged[5] ^= 0x01  # seq changed in flight: the CRC no longer matches
    decoder = FrameDecoder()
    assert decoder.feed(bytes(damaged) + ACK_FROM_3) == [Frame.decode(ACK_FROM_3)]
    assert decoder.discarded == len(damaged)


def test_a_false_long_length_waits_until_the_line_goes_idle() -> None:
    lying = bytearray(STATUS_QUERY)
    lying[8] = 0xFF  # length 255: the decoder cannot know yet that this is not a frame
    decoder = FrameDecoder()
    assert decoder.feed(bytes(lying[:-2])) == []
    assert decoder.idle() == 9  # silence: the partial frame is dropped
    assert decoder.feed(ACK_FROM_3) == [Frame.decode(ACK_FROM_3)]
    assert decoder.discarded == 9


def test_over_long_length_is_rejected_at_once() -> None:
    bogus = STATUS_QUERY[:7] + b"\x01\xf6"  # 502 payload bytes: over the cap
    decoder = FrameDecoder()
    assert decoder.feed(bogus + STATUS_QUERY) == [Frame.decode(STATUS_QUERY)]
    assert decoder.buffered == 0


def test_repeat_filter_spots_resends_only() -> None:
    seen = RepeatFilter()
    call = Frame(3, 0x40, 7, b"abc")
    assert not seen.is_repeat(call)
    assert seen.is_repeat(call)  # a resend after a lost ACK
    assert not seen.is_repeat(Frame(3, 0x40, 7, b"abd"))  # same seq, new content: a new frame
    assert not seen.is_repeat(Frame(0, 0x40, 7, b"abd"))  # broadcast is remembered apart
    assert not seen.is_repeat(Frame(3, 0x40, 8, b"abd"))
    seen.forget()
    assert not seen.is_repeat(Frame(3, 0x40, 8, b"abd"))


def test_payload_fields() -> None:
    assert encode_text("3号窗口", "window", 16) == bytes.fromhex("07 33 BA C5 B4 B0 BF DA")
    assert encode_text("𠀀", "t", 1) == bytes.fromhex("04 95 32 82 36")  # a four-byte character
    for bad in ("\x1b@", "a\x85", "\ud800", "x" * 9):
        with pytest.raises(HallBusError):
            encode_text(bad, "t", 8)
    reader = PayloadReader(bytes.fromhex("02 C1"))
    with pytest.raises(HallBusError, match="ends before"):
        reader.text("t", 8)
    with pytest.raises(HallBusError, match="GB18030"):
        PayloadReader(bytes.fromhex("01 81")).text("t", 8)
    with pytest.raises(HallBusError, match="unexpected"):
        PayloadReader(b"\x00\x00").end()
    with pytest.raises(HallBusError, match="reason"):
        Nak.decode(bytes((0x40, 0x77, 0)))


def test_wire_time_is_ten_bits_a_byte() -> None:
    assert wire_seconds(25, 9600) == pytest.approx(0.026041, abs=1e-6)
