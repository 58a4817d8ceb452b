"""ESC/POS interpreter: hand-written streams, any chunking, caps, and fuzzing with random bytes."""

from __future__ import annotations

import dataclasses
import os
import random

import pytest

from firmware_protocols.escpos.escpos_reader import (
    MAX_BUFFERED_BYTES,
    Cut,
    EscPosReader,
    Feed,
    PrintItem,
    QrCode,
    Raster,
    Reset,
    StatusQuery,
    TextLine,
    ticket_text,
)
from firmware_protocols.escpos.escpos_ticket import (
    EscPosError,
    RasterImage,
    TicketLayout,
    build_ticket,
    raster_texts,
)

# A stream written by hand, as a printer would receive it (not produced by the encoder).
HAND_STREAM = (
    b"\x1b\x40"  # ESC @
    b"\x1c\x26"  # FS &: Chinese mode
    b"\x1b\x61\x01"  # ESC a 1: centre
    b"\x1d\x21\x11"  # GS ! 0x11: 2x2
    b"\xc9\xe7\xb1\xa3\n"  # 社保
    b"\x1d\x21\x00\x1b\x45\x01"  # GS ! 0, ESC E 1
    b"A\xa3\xac\x95\x32\x82\x36\n"  # A，𠀀
    b"\x1b\x45\x00\x1b\x61\x00"  # ESC E 0, ESC a 0
    b"\x1b\x21\x30"  # ESC ! 0x30: double width and height
    b"x\n"
    b"\n"  # empty line: a blank feed
    b"\x1c\x2e"  # FS .: Chinese mode off
    b"\x1b\x21\x00plain\n"
    b"\x1d\x28\x6b\x03\x00\x31\x43\x05"  # QR module 5
    b"\x1d\x28\x6b\x03\x00\x31\x45\x32"  # QR level Q
    b"\x1d\x28\x6b\x05\x00\x31\x50\x30ab"  # QR store "ab"
    b"\x1d\x28\x6b\x03\x00\x31\x51\x30"  # QR print
    b"\x1d\x28\x6b\x04\x00\x30\x41\x00\x00"  # PDF417 (cn 48) function: skipped by length
    b"\x1d\x76\x30\x00\x01\x00\x02\x00\xf0\x0f"  # GS v 0: 8x2 dots
    b"\x10\x04\x04"  # DLE EOT 4
    b"\x1b\x64\x02"  # ESC d 2
    b"\x1d\x56\x00"  # GS V 0: full cut
)
HAND_ITEMS: list[PrintItem] = [
    Reset(),
    TextLine("社保", width=2, height=2, bold=False, align="center"),
    TextLine("A，𠀀", width=1, height=1, bold=True, align="center"),
    TextLine("x", width=2, height=2, bold=False, align="left"),
    Feed(1),
    TextLine("plain"),
    QrCode(b"ab", module_size=5, error_correction="Q"),
    Raster(RasterImage(8, 2, b"\xf0\x0f")),
    StatusQuery(4),
    Feed(2),
    Cut(partial=False),
]


def test_hand_written_stream_is_understood() -> None:
    assert EscPosReader().feed(HAND_STREAM) == HAND_ITEMS


def chunked(data: bytes, sizes: list[int]) -> list[PrintItem]:
    reader = EscPosReader()
    items: list[PrintItem] = []
    pos = 0
    for size in sizes:
        items += reader.feed(data[pos : pos + size])
        pos += size
    items += reader.feed(data[pos:])
    return items


def sample_layout(**changes: object) -> TicketLayout:
    layout = TicketLayout(
        hall_name="东湖区政务服务中心",
        service_name="不动产登记（二手房过户）",
        number="B042",
        ahead=9,
        estimated_wait_minutes=20,
        issued_at_text="2026-11-23 10:41",
        windows_text="5、6号窗口",
        materials=("买卖双方身份证原件", "不动产权证书", "《存量房买卖合同》“网签”备案表"),
        qr_url="https://hall.example.gov.cn/t/B042",
        footer="𠀀䶮：请保管好号票。",
        lane_text="绿色通道",
    )
    return dataclasses.replace(layout, **changes)  # type: ignore[arg-type]


def raster_ticket() -> bytes:
    layout = sample_layout(paper_mm=58)
    images = {
        text: RasterImage(8 * (i + 1), 3, bytes(range(i, i + 3 * (i + 1))))
        for i, text in enumerate(raster_texts(layout))
    }
    return build_ticket(dataclasses.replace(layout, raster_lines=images))


@pytest.mark.parametrize(
    "data",
    [HAND_STREAM, build_ticket(sample_layout()), raster_ticket()],
    ids=["hand", "text-ticket", "raster-ticket"],
)
def test_whole_byte_by_byte_and_glued_give_the_same_items(data: bytes) -> None:
    whole = EscPosReader().feed(data)
    assert chunked(data, [1] * len(data)) == whole
    rng = random.Random(7)
    assert chunked(data, [rng.randint(1, 9) for _ in range(len(data) // 5)]) == whole
    assert EscPosReader().feed(data * 5) == whole * 5
    assert chunked(data * 5, [1] * (len(data) * 5)) == whole * 5


def test_ticket_text_lists_the_printed_lines() -> None:
    lines = ticket_text(EscPosReader().feed(build_ticket(sample_layout())))
    assert lines[:5] == [
        "东湖区政务服务中心",
        "不动产登记（二手房过户）",
        "绿色通道",
        "B042",
        "您前面还有 9 人等候",
    ]
    assert "3. 《存量房买卖合同》“网签”备案表" in lines
    assert lines[-1] == "𠀀䶮：请保管好号票。"


def test_a_character_split_across_feeds_is_decoded_once_complete() -> None:
    reader = EscPosReader()
    assert reader.feed(b"\x1c\x26\x95\x32") == []
    assert reader.feed(b"\x82") == []
    assert reader.feed(b"\x36\n") == [TextLine("𠀀")]


def test_reset_discards_an_unprinted_line_and_leaves_chinese_mode() -> None:
    reader = EscPosReader()
    assert reader.feed(b"\x1c\x26lost\x1b\x40kept\n") == [Reset(), TextLine("kept")]
    with pytest.raises(EscPosError, match="outside Chinese mode"):
        reader.feed(b"\xc9\xe7\n")


@pytest.mark.parametrize(
    ("data", "cut"),
    [
        (b"\x1d\x56\x01", Cut(partial=True)),  # GS V 1
        (b"\x1d\x56\x30", Cut(partial=False)),  # GS V '0'
        (b"\x1d\x56\x42\x00", Cut(partial=True)),  # GS V 66 0
        (b"\x1d\x56\x41\x05", Cut(partial=False)),  # GS V 65 5
        (b"\x1b\x69", Cut(partial=True)),  # ESC i
    ],
)
def test_cut_variants(data: bytes, cut: Cut) -> None:
    assert EscPosReader().feed(b"line" + data) == [TextLine("line"), cut]


@pytest.mark.parametrize("n", [1, 2, 3, 4])
def test_status_queries_are_reported_without_ending_the_line(n: int) -> None:
    assert EscPosReader().feed(b"ab\x10\x04" + bytes([n]) + b"c\n") == [
        StatusQuery(n),
        TextLine("abc"),
    ]


def test_other_fixed_length_commands_are_skipped() -> None:
    data = (
        b"\x1b\x33\x40"  # ESC 3 n: line spacing
        b"\x1b\x74\x00"  # ESC t n: code table
        b"\x1b\x70\x00\x19\xfa"  # ESC p m t1 t2: drawer kick
        b"\x1d\x4c\x00\x00"  # GS L: left margin
        b"\x1c\x43\x00"  # FS C n: Kanji code system
        b"\x10\x05\x01"  # DLE ENQ 1
        b"ok\r\n"  # CR is ignored
    )
    assert EscPosReader().feed(data) == [TextLine("ok")]


@pytest.mark.parametrize(
    "data",
    [
        b"\x1b\x7f",  # unknown ESC command
        b"\x1d\x99",  # unknown GS command
        b"\x1b\x61\x07",  # ESC a 7
        b"\x1d\x21\x88",  # GS ! with bit 3 and 7
        b"\x1d\x56\x07",  # GS V 7
        b"\x1d\x76\x31\x00\x01\x00\x01\x00",  # GS v 1: not raster
        b"\x1d\x76\x30\x00\x00\x00\x01\x00",  # GS v 0 with zero width
        b"\x1d\x28\x6b\x03\x00\x31\x45\x07",  # QR level 7
        b"\x1d\x28\x6b\x04\x00\x31\x51\x30\x00",  # QR print of the wrong length
        b"\x10\x04\x09",  # DLE EOT 9
        b"\x00",  # NUL
        b"\xc9\xe7",  # GB18030 outside Chinese mode
        b"\x1c\x26\x80",  # 0x80 cannot start a character
        b"\x1c\x26\x81\x0a",  # bad trail byte
        b"\x1c\x26\x84\x31\xa5\x30",  # beyond the GB18030 four-byte range
    ],
)
def test_malformed_input_raises(data: bytes) -> None:
    with pytest.raises(EscPosError):
        EscPosReader().feed(data)


def test_after_an_error_the_reader_stays_failed() -> None:
    reader = EscPosReader()
    with pytest.raises(EscPosError) as first:
        reader.feed(b"abc\x00")
    assert first.value.offset == 3
    with pytest.raises(EscPosError):
        reader.feed(b"\x1b\x40")


def test_a_line_without_terminator_is_capped() -> None:
    reader = EscPosReader()
    reader.feed(b"a" * MAX_BUFFERED_BYTES)
    with pytest.raises(EscPosError, match="line longer"):
        reader.feed(b"a")


@pytest.mark.parametrize(
    "header",
    [
        b"\x1d\x28\x6b\xff\xff",  # GS ( k declaring 65535 bytes
        b"\x1d\x76\x30\x00\x00\x02\xc8\x00",  # GS v 0: 512 bytes x 200 rows
        b"\x1d\x76\x30\x00\x01\x00\x00\x10",  # GS v 0: 4096 rows
    ],
)
def test_oversized_commands_raise_at_their_header(header: bytes) -> None:
    with pytest.raises(EscPosError):
        EscPosReader().feed(header)


# --- fuzzing: random and mutated bytes may only ever raise EscPosError ---

_TRICKY = bytes(
    [0x1B, 0x1D, 0x1C, 0x10, 0x0A, 0x0D, 0x04, 0x40, 0x26, 0x2E, 0x21, 0x28, 0x6B, 0x76, 0x30, 0x56]
)
_TRICKY += bytes(
    [0x31, 0x50, 0x51, 0x61, 0x64, 0x81, 0x95, 0x32, 0x82, 0x36, 0xFE, 0x00, 0x01, 0x03, 0x42, 0xFF]
)


def _fuzz_case(rng: random.Random, samples: list[bytes]) -> bytes:
    kind = rng.randrange(3)
    length = rng.randrange(48)
    if kind == 0:
        return rng.randbytes(length)
    if kind == 1:
        return bytes(rng.choice(_TRICKY) for _ in range(length))
    sample = rng.choice(samples)
    start = rng.randrange(len(sample))
    case = bytearray(sample[start : start + rng.randrange(1, 120)])
    for _ in range(rng.randint(1, 3)):
        where = rng.randrange(len(case) + 1)
        action = rng.randrange(3)
        if action == 0:
            case.insert(where, rng.choice(_TRICKY))
        elif action == 1 and where < len(case):
            case[where] = rng.randrange(256)
        elif where < len(case):
            del case[where]
    return bytes(case)


def test_random_bytes_raise_only_escpos_error() -> None:
    iterations = int(os.environ.get("HALL_FUZZ_ITERATIONS", "100000"))
    rng = random.Random(20261123)
    samples = [HAND_STREAM, build_ticket(sample_layout()), raster_ticket()]
    outcomes = {"items": 0, "error": 0}
    for _ in range(iterations):
        case = _fuzz_case(rng, samples)
        reader = EscPosReader()
        split = rng.randrange(len(case) + 1)
        try:
            reader.feed(case[:split])
            reader.feed(case[split:])
        except EscPosError:
            outcomes["error"] += 1
        else:
            outcomes["items"] += 1
    assert outcomes["items"] > 0 and outcomes["error"] > 0
