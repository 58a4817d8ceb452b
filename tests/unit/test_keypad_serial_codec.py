"""Keypad functions on the hall bus: annotated golden payloads, caps, round trips, 100,000 fuzzed frames."""

from __future__ import annotations

import contextlib
import os
import random
import time

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from firmware_protocols.hall_bus.hall_bus import (
    MAX_FRAME_BYTES,
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
from firmware_protocols.keypad.keypad_codes import (
    ARGUMENT_KEYS,
    BAD_RATINGS,
    KEYS,
    RATINGS,
    REASON_TABLES,
)
from firmware_protocols.keypad.keypad_serial import (
    FN_DISPLAY,
    FN_EVENT,
    FN_NO_EVENT,
    FN_POLL,
    DisplayState,
    EventReply,
    KeypadReply,
    KeypadRequest,
    KeypadStatus,
    NoEventReply,
    Poll,
    PollAnswer,
    Press,
    decode_reply,
    decode_request,
    request_frame,
)
from firmware_protocols.keypad.keypad_serial_fields import (
    KEY_CODES,
    MAX_REPLY_BYTES,
    RATING_CODES,
    STATE_CODES,
    KeypadEventError,
)
from tests.unit.test_hall_bus import bitwise_crc

FUZZ_FRAMES = int(os.environ.get("HALL_FUZZ_FRAMES", "100000"))
BOOT = 0x5F1C9A20
STATUS = KeypadStatus(BOOT)

# Payloads typed from docs/protocols/keypad-serial.md and the GB18030 code chart.
GOLDEN_REQUESTS: list[tuple[KeypadRequest, bytes]] = [
    (Poll(), bytes.fromhex("00")),  # flags: no answer follows
    (
        Poll(PollAnswer(BOOT, 1, True, "ok", "A001", "请A001号到3号窗口")),
        bytes.fromhex(
            "01"  # flags: an answer follows
            "5F 1C 9A 20"  # boot id of the press answered
            "00 00 00 01"  # its seq
            "01"  # accepted
            "02 6F 6B"  # code "ok"
            "04 41 30 30 31"  # ticket "A001"
            "11 C7 EB 41 30 30 31 BA C5 B5 BD 33 BA C5 B4 B0 BF DA"  # 请 A001 号 到 3 号 窗 口
        ),
    ),
    (
        Poll(PollAnswer(BOOT, 4, False, "not_invited", None, "当前无需评价")),
        bytes.fromhex(
            "01 5F 1C 9A 20 00 00 00 04"
            "00"  # refused
            "0B 6E 6F 74 5F 69 6E 76 69 74 65 64"  # "not_invited"
            "00"  # no ticket
            "0C B5 B1 C7 B0 CE DE D0 E8 C6 C0 BC DB"  # 当 前 无 需 评 价
        ),
    ),
    (
        DisplayState(3, "serving", "A001", "张三", "社保经办", "W03A.jpg", "正在办理 A001"),
        bytes.fromhex(
            "00 03"  # window 3
            "02"  # serving
            "FF FF"  # no rating countdown
            "04 41 30 30 31"  # ticket
            "04 D5 C5 C8 FD"  # 张 三
            "08 C9 E7 B1 A3 BE AD B0 EC"  # 社 保 经 办
            "08 57 30 33 41 2E 6A 70 67"  # photo id "W03A.jpg"
            "0D D5 FD D4 DA B0 EC C0 ED 20 41 30 30 31"  # 正 在 办 理 " A001"
        ),
    ),
    (
        DisplayState(3, "rating_invited", "A001", message="请您评价", rating_seconds=120),
        bytes.fromhex("00 03 04 00 78 04 41 30 30 31 00 00 00 08 C7 EB C4 FA C6 C0 BC DB"),
    ),
    (
        DisplayState(12, "paused", staff_name="冯晨", message="暂停服务"),
        bytes.fromhex("00 0C 03 FF FF 00 04 B7 EB B3 BF 00 00 08 D4 DD CD A3 B7 FE CE F1"),
    ),
    (IdentifyQuery(), b""),
]
GOLDEN_REPLIES: list[tuple[KeypadReply, bytes]] = [
    (NoEventReply(STATUS), bytes.fromhex("5F 1C 9A 20 00")),  # this boot, no flags
    (
        NoEventReply(KeypadStatus(BOOT, needs_display=True)),
        bytes.fromhex("5F 1C 9A 20 01"),  # flags: needs a display
    ),
    (
        EventReply(STATUS, Press(BOOT, 1, "next")),
        bytes.fromhex(
            "5F 1C 9A 20 00"  # status: boot id, flags
            "00"  # nothing queued behind it
            "5F 1C 9A 20 00 00 00 01"  # press: boot id, seq 1
            "01"  # key next
            "00"  # no rating
            "00 00"  # no reasons table, 0 reasons
            "00"  # no argument
        ),
    ),
    (
        EventReply(
            KeypadStatus(BOOT, queue_full=True),
            Press(BOOT, 2, "transfer", argument="service:SB"),
            2,
        ),
        bytes.fromhex(
            "5F 1C 9A 20 02"  # flags: queue full
            "02"  # two more queued
            "5F 1C 9A 20 00 00 00 02 06 00 00 00"  # seq 2, key transfer
            "0A 73 65 72 76 69 63 65 3A 53 42"  # "service:SB"
        ),
    ),
    (
        EventReply(STATUS, Press(BOOT, 4, "rate", "very_dissatisfied", ("R01", "R05"), 1)),
        bytes.fromhex(
            "5F 1C 9A 20 00 00 5F 1C 9A 20 00 00 00 04"
            "09"  # key rate
            "25"  # very_dissatisfied
            "01 02 01 05"  # reasons table 1, 2 reasons: R01, R05
            "00"
        ),
    ),
    (
        EventReply(
            KeypadStatus(0x0BADF00D, needs_display=True),
            Press(BOOT, 3, "finish", argument="即办件"),
        ),
        bytes.fromhex(
            "0B AD F0 0D 01"  # a new boot, nothing shown yet
            "00"
            "5F 1C 9A 20 00 00 00 03"  # a press kept in flash from the previous boot
            "07 00 00 00"  # key finish
            "06 BC B4 B0 EC BC FE"  # 即 办 件
        ),
    ),
    (Ack(FN_DISPLAY), bytes.fromhex("63")),
    (Nak(FN_POLL, NakReason.BUSY), bytes.fromhex("60 05 00")),
    (Identity(3, 1, "sim-kp 1.0"), bytes.fromhex("03 01 0A 73 69 6D 2D 6B 70 20 31 2E 30")),
]
REPLY_FUNCTIONS = {
    EventReply: FN_EVENT,
    NoEventReply: FN_NO_EVENT,
    Ack: 0x01,
    Nak: 0x02,
    Identity: 0x03,
}


@pytest.mark.parametrize(("request_", "payload"), GOLDEN_REQUESTS, ids=lambda v: type(v).__name__)
def test_golden_request_payloads(request_: KeypadRequest, payload: bytes) -> None:
    assert request_.encode() == payload
    assert type(request_).decode(payload) == request_
    frame = request_frame(request_, 3, 0x42)
    assert decode_request(Frame.decode(frame.encode())) == request_


@pytest.mark.parametrize(("reply", "payload"), GOLDEN_REPLIES, ids=lambda v: type(v).__name__)
def test_golden_reply_payloads(reply: KeypadReply, payload: bytes) -> None:
    assert reply.encode() == payload
    frame = Frame(3, REPLY_FUNCTIONS[type(reply)], 9, payload, reply=True)
    assert decode_reply(Frame.decode(frame.encode())) == reply


def test_a_whole_poll_frame_by_hand() -> None:
    data = bytes.fromhex(
        "FF A5 01"  # start marker, version 1
        "03 00 2A"  # to keypad 3, request, seq 0x2A
        "60 00 01"  # POLL, 1 payload byte
        "00"  # no answer follows
    )
    crc = bitwise_crc(data)
    frame = data + bytes((crc & 0xFF, crc >> 8))
    assert request_frame(Poll(), 3, 0x2A).encode() == frame
    assert len(frame) == 12


def test_the_tables_are_frozen_and_named_not_numbered() -> None:
    assert dict(KEY_CODES) == {key: code for code, key in enumerate(KEYS, start=1)}
    assert sorted(RATING_CODES) == sorted(RATINGS)
    assert not set(RATING_CODES.values()) & set(range(1, 6))  # neither national coding
    assert list(STATE_CODES.values()) == [1, 2, 3, 4, 5, 6]


def test_replies_and_requests_are_told_apart() -> None:
    with pytest.raises(HallBusError, match="a request"):
        decode_reply(Frame(3, FN_EVENT, 1, NoEventReply(STATUS).encode()))
    with pytest.raises(HallBusError, match="a reply"):
        decode_request(Frame(3, FN_POLL, 1, b"\x00", reply=True))
    with pytest.raises(HallBusError, match="not a keypad request"):
        decode_request(Frame(3, 0x40, 1, b""))  # an LED function
    with pytest.raises(HallBusError, match="not a keypad reply"):
        decode_reply(Frame(3, FN_POLL, 1, b"\x00", reply=True))
    with pytest.raises(HallBusError, match="broadcast"):
        request_frame(Poll(), 0, 1)


@pytest.mark.parametrize(
    "build",
    [
        lambda: Press(0, 1, "next"),  # boot id 0 is never valid
        lambda: Press(BOOT, 0, "next"),
        lambda: Press(BOOT, 2**31, "next"),
        lambda: Press(BOOT, 1, "launch"),
        lambda: Press(BOOT, 1, "rate"),  # a rating key without a rating
        lambda: Press(BOOT, 1, "next", rating="satisfied"),
        lambda: Press(BOOT, 1, "rate", "great"),
        lambda: Press(BOOT, 1, "rate", "satisfied", ("R01",), 1),  # reasons with a good rating
        lambda: Press(BOOT, 1, "rate", "dissatisfied", ("R01",)),  # no table
        lambda: Press(BOOT, 1, "rate", "dissatisfied", ("R01",), 9),
        lambda: Press(BOOT, 1, "rate", "dissatisfied", ("R12",), 1),  # not in table 1
        lambda: Press(BOOT, 1, "rate", "dissatisfied", ("R01", "R01"), 1),
        lambda: Press(
            BOOT, 1, "rate", "dissatisfied", ("R01", "R02", "R03", "R04", "R05", "R06"), 1
        ),
        lambda: Press(BOOT, 1, "next", reasons_table=1),
        lambda: Press(BOOT, 1, "next", argument="x"),
        lambda: Press(BOOT, 1, "transfer"),
        lambda: Press(BOOT, 1, "transfer", argument="somewhere"),
        lambda: Press(BOOT, 1, "pause", argument="  "),
        lambda: Press(BOOT, 1, "pause", argument="字" * 33),
        lambda: EventReply(STATUS, Press(BOOT, 1, "next"), 256),
        lambda: KeypadStatus(BOOT, needs_display=1),  # type: ignore[arg-type]
        lambda: PollAnswer(BOOT, 1, True, "OK"),
        lambda: PollAnswer(BOOT, 1, True, "ok", ""),
        lambda: PollAnswer(BOOT, 1, True, "ok", message="字" * 41),
        lambda: DisplayState(0, "idle"),
        lambda: DisplayState(10000, "idle"),
        lambda: DisplayState(1, "asleep"),
        lambda: DisplayState(1, "serving", rating_seconds=10),
        lambda: DisplayState(1, "rating_invited", rating_seconds=3601),
        lambda: DisplayState(1, "idle", staff_photo_id="照片.jpg"),
        lambda: DisplayState(1, "idle", staff_name="名" * 17),
        lambda: DisplayState(1, "idle", message="\x1b[2J"),
        lambda: DisplayState(1, "idle", message="𠀀" * 64),  # 256 bytes: over a text field
    ],
)
def test_caps_are_enforced_when_built(build: object) -> None:
    with pytest.raises(HallBusError):
        build()  # type: ignore[operator]


@pytest.mark.parametrize(
    ("function", "payload"),
    [
        (FN_POLL, b""),
        (FN_POLL, bytes.fromhex("02")),  # reserved flag
        (FN_POLL, bytes.fromhex("01 5F 1C 9A 20 00 00 00 01 02 02 6F 6B 00 00")),  # accepted 02
        (FN_POLL, bytes.fromhex("01 5F 1C 9A 20 00 00 00 01 01 02 4F 4B 00 00")),  # code "OK"
        (FN_POLL, bytes.fromhex("00 00")),  # a byte left over
        (FN_DISPLAY, bytes.fromhex("00 03 07 FF FF 00 00 00 00 00")),  # state 07
        (FN_DISPLAY, bytes.fromhex("00 03 01 00 0A 00 00 00 00 00")),  # countdown while idle
        (FN_DISPLAY, bytes.fromhex("27 10 01 FF FF 00 00 00 00 00")),  # window 10000
        (FN_DISPLAY, bytes.fromhex("00 03 01 FF FF 02 81 20 00 00 00 00")),  # not GB18030
        (FN_DISPLAY, bytes.fromhex("00 03 01 FF FF 01 20 00 00 00 00")),  # a blank ticket
        (0x03, bytes.fromhex("00")),  # IDENTIFY takes no payload
    ],
)
def test_malformed_requests_raise_the_declared_error(function: int, payload: bytes) -> None:
    with pytest.raises(HallBusError):
        decode_request(Frame(3, function, 1, payload))


EVENT_HEAD = "5F 1C 9A 20 00 00 5F 1C 9A 20 00 00 00 07"


@pytest.mark.parametrize(
    "tail",
    [
        "0A 00 00 00 00",  # key 0A
        "09 01 00 00 00",  # rating 01: a national number, not a table code
        "01 22 00 00 00",  # a rating on a staff key
        "09 24 01 01 00 00",  # reason R00
        "09 24 01 01 64 00",  # reason R100
        "09 24 00 01 01 00",  # reasons without a table
        "09 24 01 06 01 02 03 04 05 06 00",  # six reasons
        "01 00 00 00 01 78",  # "next" with an argument
        "01 00 00 00 00 00",  # a byte left over
        "01 00 00 00",  # ends early
    ],
)
def test_a_broken_press_with_readable_ids_names_them(tail: str) -> None:
    with pytest.raises(KeypadEventError) as caught:
        decode_reply(Frame(3, FN_EVENT, 1, bytes.fromhex(EVENT_HEAD + tail), reply=True))
    assert (caught.value.boot_id, caught.value.seq) == (BOOT, 7)


@pytest.mark.parametrize(
    "payload",
    [
        "00 00 00 00 00",  # boot id 0
        "5F 1C 9A 20 04",  # reserved status flag
        "5F 1C 9A 20 00 00 5F 1C 9A 20 00 00 00 00 01 00 00 00 00",  # seq 0
        "5F 1C 9A 20 00 00 5F 1C 9A 20 80 00 00 01 01 00 00 00 00",  # seq over 2^31 - 1
        "5F 1C 9A 20",
    ],
)
def test_an_unreadable_event_raises_the_plain_error(payload: str) -> None:
    with pytest.raises(HallBusError) as caught:
        decode_reply(Frame(3, FN_EVENT, 1, bytes.fromhex(payload), reply=True))
    assert not isinstance(caught.value, KeypadEventError)


def test_the_largest_frames_fit_the_caps() -> None:
    wide = "𠀀"  # four GB18030 bytes
    press = Press(BOOT, 2**31 - 1, "rate", "dissatisfied", ("R01", "R02", "R03", "R04", "R99"), 1)
    worst_event = EventReply(KeypadStatus(BOOT, True, True), press, 255, 0xFFFF_FFFF)
    pause = EventReply(STATUS, Press(BOOT, 1, "pause", argument=wide * 32), 255, 0)  # version 2
    assert (
        max(len(Frame(3, FN_EVENT, 0, r.encode(), True).encode()) for r in (worst_event, pause))
        == MAX_REPLY_BYTES
    )
    identity = Identity(3, 1, "x" * 32).encode()
    assert len(Frame(3, 0x03, 0, identity, True).encode()) < MAX_REPLY_BYTES
    display = DisplayState(
        9999, "rating_invited", wide * 16, wide * 16, wide * 16, "p" * 32, wide * 63 + "x", 3600
    )
    assert len(request_frame(display, 3, 0).encode()) <= MAX_FRAME_BYTES
    answer = PollAnswer(BOOT, 1, False, "c" * 32, wide * 16, wide * 40)
    assert len(request_frame(Poll(answer), 3, 0).encode()) <= MAX_FRAME_BYTES


def texts(max_size: int, *, blank: bool = True) -> st.SearchStrategy[str]:
    """Text a field may hold: no control characters, no lone surrogates (blank ones if allowed)."""
    allowed = st.characters(blacklist_categories=("Cc", "Cs"))
    found = st.text(allowed, max_size=max_size)
    return found if blank else found.filter(lambda text: bool(text.strip()))


def optional(max_size: int) -> st.SearchStrategy[str | None]:
    """None or a non-blank text."""
    return st.none() | texts(max_size, blank=False)


boot_ids = st.integers(1, 0xFFFF_FFFF)
seqs = st.integers(1, 2**31 - 1)
table_one = sorted(REASON_TABLES[1])


@st.composite
def presses(draw: st.DrawFn) -> Press:
    """Any legal press."""
    key = draw(st.sampled_from(KEYS))
    rating = draw(st.sampled_from(RATINGS)) if key == "rate" else None
    reasons: tuple[str, ...] = ()
    if rating in BAD_RATINGS:
        reasons = tuple(draw(st.lists(st.sampled_from(table_one), max_size=5, unique=True)))
    argument = None
    if key == "transfer":
        argument = draw(
            st.from_regex(r"service:[A-Za-z0-9_-]{1,16}|window:[1-9][0-9]{0,3}", fullmatch=True)
        )
    elif key in ARGUMENT_KEYS:
        argument = draw(optional(32))
    table = 1 if reasons else None
    return Press(draw(boot_ids), draw(seqs), key, rating, reasons, table, argument)


statuses = st.builds(KeypadStatus, boot_ids, st.booleans(), st.booleans())
answers = st.builds(
    PollAnswer,
    boot_ids,
    seqs,
    st.booleans(),
    st.from_regex(r"[a-z0-9_]{1,32}", fullmatch=True),
    optional(16),
    texts(40),
)
displays = st.sampled_from(sorted(STATE_CODES)).flatmap(
    lambda state: st.builds(
        DisplayState,
        st.integers(1, 9999),
        st.just(state),
        optional(16),
        optional(16),
        optional(16),
        st.none() | st.from_regex(r"[A-Za-z0-9_.-]{1,32}", fullmatch=True),
        texts(60),
        st.none() | st.integers(0, 3600) if state == "rating_invited" else st.none(),
    )
)
requests = st.one_of(st.builds(Poll, st.none() | answers), displays, st.just(IdentifyQuery()))
replies = st.one_of(
    st.builds(EventReply, statuses, presses(), st.integers(0, 255)),
    st.builds(NoEventReply, statuses),
)


@settings(max_examples=300, deadline=None)
@given(requests, st.integers(1, 247), st.integers(0, 255))
def test_requests_round_trip_through_frames(
    request_: KeypadRequest, address: int, seq: int
) -> None:
    data = request_frame(request_, address, seq).encode()
    (frame,) = FrameDecoder().feed(data)
    assert decode_request(frame) == request_


@settings(max_examples=300, deadline=None)
@given(replies, st.integers(1, 247), st.integers(0, 255))
def test_replies_round_trip_through_frames(reply: KeypadReply, address: int, seq: int) -> None:
    data = Frame(address, REPLY_FUNCTIONS[type(reply)], seq, reply.encode(), reply=True).encode()
    assert len(data) <= MAX_REPLY_BYTES
    (frame,) = FrameDecoder().feed(data)
    assert decode_reply(frame) == reply


def _conversation() -> list[bytes]:
    """A poll cycle's frames: requests and the keypads' replies, as they follow on the line."""
    frames = [request_frame(r, 3, i).encode() for i, (r, _) in enumerate(GOLDEN_REQUESTS)]
    for i, (reply, payload) in enumerate(GOLDEN_REPLIES):
        frames.append(Frame(3, REPLY_FUNCTIONS[type(reply)], i, payload, reply=True).encode())
    return frames


@pytest.mark.parametrize("how", ["whole", "byte by byte", "five glued"])
def test_the_decoder_copes_with_any_chunking(how: str) -> None:
    sent = _conversation()
    decoder = FrameDecoder()
    found: list[Frame] = []
    if how == "whole":
        for data in sent:
            found += decoder.feed(data)
    elif how == "byte by byte":
        for data in sent:
            for i in range(len(data)):
                found += decoder.feed(data[i : i + 1])
    else:
        for start in range(0, len(sent), 5):
            found += decoder.feed(b"".join(sent[start : start + 5]))
    assert [f.encode() for f in found] == sent and decoder.buffered == 0 == decoder.discarded
    messages = [decode_reply(f) if f.reply else decode_request(f) for f in found]
    assert messages == [m for m, _ in GOLDEN_REQUESTS] + [m for m, _ in GOLDEN_REPLIES]


def test_fuzzed_frames_raise_only_the_declared_error() -> None:
    """Random bytes and mutated valid frames (half with a repaired CRC, to reach the payloads)."""
    rng = random.Random(20261124)
    seeds = _conversation()
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
