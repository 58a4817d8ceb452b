"""LED strip and board commands: annotated golden payloads, caps, round trips, 100,000 fuzzed frames."""

from __future__ import annotations

import contextlib
import os
import random
import time

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from firmware_protocols.hall_bus.hall_bus import (
    MAX_PAYLOAD_BYTES,
    Ack,
    Frame,
    FrameDecoder,
    IdentifyQuery,
    Identity,
    Nak,
    NakReason,
    crc16_modbus,
)
from firmware_protocols.hall_bus.hall_bus_fields import HallBusError
from firmware_protocols.led.led_strip import (
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
    StatusQuery,
    StatusReply,
    decode_reply,
    decode_request,
    request_frame,
)

FUZZ_FRAMES = int(os.environ.get("HALL_FUZZ_FRAMES", "100000"))

# Payloads typed from docs/protocols/led-strip.md and the GB18030 code chart.
GOLDEN: list[tuple[LedRequest, bytes]] = [
    (
        ShowCall("A001", "3号窗口", 5),
        bytes.fromhex(
            "05"  # blink 5 s
            "04 41 30 30 31"  # number: 4 bytes "A001"
            "07 33 BA C5 B4 B0 BF DA"  # window: 7 bytes "3" 号 窗 口
        ),
    ),
    (ShowPaused(), bytes.fromhex("08 D4 DD CD A3 B7 FE CE F1")),  # 暂 停 服 务
    (
        ShowIdle("3号窗口", "冯晨", "医保经办"),
        bytes.fromhex(
            "07 33 BA C5 B4 B0 BF DA"  # 3号窗口
            "04 B7 EB B3 BF"  # 冯 晨
            "08 D2 BD B1 A3 BE AD B0 EC"  # 医 保 经 办
        ),
    ),
    (ShowIdle("12号窗口", "李", ""), bytes.fromhex("08 31 32 BA C5 B4 B0 BF DA 02 C0 EE 00")),
    (ShowText("午休", scroll=True), bytes.fromhex("01 04 CE E7 D0 DD")),  # flags: scroll
    (
        BoardText(("请A001号", ""), first_line=2, blink_line=2, blink_seconds=3),
        bytes.fromhex(
            "02 02 03 02"  # first line 2, blink line 2, 3 s, 2 lines
            "08 C7 EB 41 30 30 31 BA C5"  # 请 A001 号
            "00"  # an empty line
        ),
    ),
    (BoardText(("x",)), bytes.fromhex("00 FF 00 01 01 78")),  # FF: no line blinks
    (SetBrightness(80), bytes.fromhex("50")),
    (Blink(0), bytes.fromhex("00")),
    (Clear(), b""),
    (StatusQuery(), b""),
    (IdentifyQuery(), b""),
]
FUNCTIONS = {
    ShowCall: 0x40,
    ShowPaused: 0x41,
    ShowIdle: 0x42,
    ShowText: 0x43,
    BoardText: 0x44,
    SetBrightness: 0x45,
    Blink: 0x46,
    Clear: 0x47,
    StatusQuery: 0x48,
    IdentifyQuery: 0x03,
}


@pytest.mark.parametrize(("request_", "payload"), GOLDEN, ids=lambda v: type(v).__name__)
def test_golden_payloads(request_: LedRequest, payload: bytes) -> None:
    assert request_.function == FUNCTIONS[type(request_)]
    assert request_.encode() == payload
    assert type(request_).decode(payload) == request_
    frame = request_frame(request_, 3, 0x42)
    assert decode_request(Frame.decode(frame.encode())) == request_


def test_status_reply_golden() -> None:
    # flags BOOTED|MODULE_FAULT, 60 %, showing SHOW_CALL set by seq 0x17, 2 lines of 16 columns
    payload = bytes.fromhex("03 3C 40 17 02 10")
    reply = StatusReply(StatusFlags.BOOTED | StatusFlags.MODULE_FAULT, 60, 0x40, 0x17, 2, 16)
    assert reply.encode() == payload
    assert decode_reply(Frame(3, 0x48, 9, payload, reply=True)) == reply


def test_replies_are_told_apart_from_requests() -> None:
    assert decode_reply(Frame(3, 0x01, 1, b"\x40", reply=True)) == Ack(0x40)
    nak = decode_reply(Frame(3, 0x02, 1, bytes((0x44, 4, 0)), reply=True))
    assert nak == Nak(0x44, NakReason.NOT_SUPPORTED)
    identity = decode_reply(Frame(3, 0x03, 1, b"\x02\x01\x00", reply=True))
    assert identity == Identity(2, 1, "")
    with pytest.raises(HallBusError, match="a request"):
        decode_reply(Frame(3, 0x01, 1, b"\x40"))
    with pytest.raises(HallBusError, match="a reply"):
        decode_request(Frame(3, 0x40, 1, b"", reply=True))
    with pytest.raises(HallBusError, match="not an LED request"):
        decode_request(Frame(3, 0x60, 1, b""))  # a keypad function
    with pytest.raises(HallBusError, match="not an LED reply"):
        decode_reply(Frame(3, 0x40, 1, b"", reply=True))
    with pytest.raises(HallBusError, match="broadcast"):
        request_frame(StatusQuery(), 0, 1)


@pytest.mark.parametrize(
    "build",
    [
        lambda: ShowCall("A00001234", "3号窗口"),  # number over 8 characters
        lambda: ShowCall("A001", "窗" * 17),
        lambda: ShowCall("A001", "3", blink_seconds=61),
        lambda: ShowCall("A\n01", "3"),
        lambda: ShowCall("", "3号窗口"),  # led-strip.md: a call shows its number
        lambda: ShowCall("  ", "3号窗口"),
        lambda: ShowPaused("暂停服务" * 5),
        lambda: ShowIdle("3号窗口", "名" * 9),
        lambda: ShowText("字" * 65),
        lambda: BoardText(()),
        lambda: BoardText(("a",) * 9),
        lambda: BoardText(("a",), first_line=16),
        lambda: BoardText(("a", "b"), first_line=15),
        lambda: BoardText(("a",), blink_line=1),
        lambda: BoardText(("字" * 33,)),
        lambda: BoardText(("𠀀" * 32,) * 8),  # four-byte characters: over the frame size
        lambda: SetBrightness(101),
        lambda: Blink(-1),
        lambda: StatusReply(StatusFlags(8), 100, 0, 0, 1, 16),
        lambda: StatusReply(StatusFlags(0), 100, 0x45, 0, 1, 16),
    ],
)
def test_caps_are_enforced_when_built(build: object) -> None:
    with pytest.raises(HallBusError):
        build()  # type: ignore[operator]


@pytest.mark.parametrize(
    ("function", "payload"),
    [
        (0x40, bytes.fromhex("3D 00 00")),  # blink 61 s
        (0x40, bytes.fromhex("00 09 41 41 41 41 41 41 41 41 41 00")),  # number 9 characters
        (0x40, bytes.fromhex("00 01 1B 00")),  # ESC in a text field
        (0x40, bytes.fromhex("00 02 81 20 00")),  # not GB18030
        (0x40, bytes.fromhex("00 04 41")),  # text runs past the payload
        (0x41, bytes.fromhex("00 00")),  # a byte left over
        (0x43, bytes.fromhex("02 00")),  # reserved flag bit
        (0x44, bytes.fromhex("00 FF 00 00")),  # zero lines
        (0x44, bytes.fromhex("0F FF 00 02 00 00")),  # lines 15-16
        (0x45, bytes.fromhex("65")),  # 101 %
        (0x47, bytes.fromhex("00")),
        (0x48, bytes.fromhex("00")),
    ],
)
def test_malformed_payloads_raise_the_declared_error(function: int, payload: bytes) -> None:
    with pytest.raises(HallBusError):
        decode_request(Frame(3, function, 1, payload))


def texts(max_size: int = 8) -> st.SearchStrategy[str]:
    """Text a field may hold: no control characters, no lone surrogates."""
    allowed = st.characters(blacklist_categories=("Cc", "Cs"))
    return st.text(allowed, max_size=max_size)


requests = st.one_of(
    st.builds(ShowCall, texts(8).filter(str.strip), texts(16), st.integers(0, 60)),
    st.builds(ShowPaused, texts(16)),
    st.builds(ShowIdle, texts(16), texts(8), texts(16)),
    st.builds(ShowText, texts(64), st.booleans()),
    st.builds(
        lambda lines, first, blink, seconds: BoardText(
            tuple(lines), first, first if blink else None, seconds
        ),
        st.lists(texts(12), min_size=1, max_size=8),
        st.integers(0, 8),
        st.booleans(),
        st.integers(0, 60),
    ),
    st.builds(SetBrightness, st.integers(0, 100)),
    st.builds(Blink, st.integers(0, 60)),
    st.just(Clear()),
    st.just(StatusQuery()),
)


@settings(max_examples=400, deadline=None)
@given(requests, st.integers(1, 247), st.integers(0, 255))
def test_requests_round_trip_through_frames(request_: LedRequest, address: int, seq: int) -> None:
    data = request_frame(request_, address, seq).encode()
    (frame,) = FrameDecoder().feed(data)
    assert decode_request(frame) == request_


def test_fuzzed_frames_raise_only_the_declared_error() -> None:
    """Random bytes and mutated valid frames (half with a repaired CRC, to reach the payloads)."""
    rng = random.Random(20261123)
    seeds = [request_frame(r, 3, 7).encode() for r, _ in GOLDEN]
    seeds += [
        Frame(
            3, 0x48, 7, StatusReply(StatusFlags.BOOTED, 100, 0, 0, 1, 16).encode(), True
        ).encode(),
        Frame(3, 0x02, 7, Nak(0x40, NakReason.BAD_PAYLOAD).encode(), reply=True).encode(),
        Frame(3, 0x03, 7, Identity(1, 1, "fw 2.1").encode(), reply=True).encode(),
    ]
    started = time.monotonic()
    decoded = rejected = 0
    stream = FrameDecoder()
    for i in range(FUZZ_FRAMES):
        data = _random_bytes(rng) if i % 4 == 0 else _mutate(rng, rng.choice(seeds))
        try:
            frame = Frame.decode(data)
            message = decode_reply(frame) if frame.reply else decode_request(frame)
        except HallBusError:
            rejected += 1
        else:
            decoded += 1
            assert type(message).decode(message.encode()) == message
        for frame in stream.feed(data):
            with contextlib.suppress(HallBusError):
                decode_reply(frame) if frame.reply else decode_request(frame)
    assert decoded > FUZZ_FRAMES // 50 and rejected > FUZZ_FRAMES // 2
    assert time.monotonic() - started < 60


def _random_bytes(rng: random.Random) -> bytes:
    data = bytearray(rng.randbytes(rng.randrange(0, 80)))
    if data and rng.random() < 0.5:
        data[0:2] = b"\xff\xa5"  # a start marker to get past the first check
    return bytes(data)


def _mutate(rng: random.Random, frame: bytes) -> bytes:
    data = bytearray(frame)
    for _ in range(rng.randrange(1, 4)):
        action = rng.randrange(5)
        at = rng.randrange(len(data)) if data else 0
        if action == 0 and data:
            data[at] ^= 1 << rng.randrange(8)
        elif action == 1 and data:
            data[at] = rng.randrange(256)
        elif action == 2:
            data.insert(at, rng.randrange(256))
        elif action == 3 and data:
            del data[at]
        else:
            del data[rng.randrange(len(data) + 1) :]
    if len(data) >= 11 and rng.random() < 0.5:  # repair length and CRC: reach the payload
        size = min(len(data) - 11, MAX_PAYLOAD_BYTES)
        data[7:9] = size.to_bytes(2, "big")
        crc = crc16_modbus(bytes(data[: 9 + size]))
        data[9 + size :] = bytes((crc & 0xFF, crc >> 8))
    return bytes(data)
