"""ESC/POS ticket layout: hand-written golden bytes, GB18030 text, caps, raster mode, status bits."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from firmware_protocols.escpos.escpos_reader import (
    Cut,
    EscPosReader,
    QrCode,
    Raster,
    TextLine,
    status_reply,
    ticket_text,
)
from firmware_protocols.escpos.escpos_ticket import (
    MAX_FIELD_CHARS,
    MAX_MATERIALS,
    MAX_TICKET_BYTES,
    PAPER_COLUMNS,
    EscPosError,
    PrinterStatus,
    RasterImage,
    TicketLayout,
    build_ticket,
    decode_status,
    qr_command,
    raster_command,
    raster_texts,
    status_query,
)

MINIMAL = TicketLayout(
    hall_name="社保",
    service_name="中文",
    number="A001",
    ahead=2,
    issued_at_text="09:05",
    windows_text="1号窗口",
)

# Every byte below was typed from the ESC/POS command table and the GB18030 code chart.
MINIMAL_BYTES = (
    b"\x1b\x40"  # ESC @            initialise
    b"\x1c\x26"  # FS &             Chinese mode on
    b"\x1b\x61\x01"  # ESC a 1      centre
    b"\x1b\x45\x01"  # ESC E 1      bold
    b"\x1d\x21\x11"  # GS ! 0x11    double width, double height
    b"\xc9\xe7\xb1\xa3\n"  # 社 C9E7 保 B1A3, LF
    b"\x1b\x45\x00"  # ESC E 0
    b"\x1d\x21\x00"  # GS ! 0       normal size
    b"\xd6\xd0\xce\xc4\n"  # 中 D6D0 文 CEC4
    b"\x1b\x45\x01"  # ESC E 1
    b"\x1d\x21\x77"  # GS ! 0x77    8x8 on 80 mm paper
    b"A001\n"
    b"\x1b\x45\x00"
    b"\x1d\x21\x00"
    # 您 C4FA 前 C7B0 面 C3E6 还 BBB9 有 D3D0 " 2 " 人 C8CB 等 B5C8 候 BAF2
    b"\xc4\xfa\xc7\xb0\xc3\xe6\xbb\xb9\xd3\xd0 2 \xc8\xcb\xb5\xc8\xba\xf2\n"
    b"\x1b\x61\x00"  # ESC a 0      left
    b"\xc8\xa1\xba\xc5\xca\xb1\xbc\xe4\xa3\xba09:05\n"  # 取号时间： (： = A3BA)
    # 请 C7EB 留 C1F4 意 D2E2 叫 BDD0 号 BAC5 ， A3AC 到 B5BD " 1" 号窗口 BAC5 B4B0 BFDA " " 办理 B0EC C0ED
    b"\xc7\xeb\xc1\xf4\xd2\xe2\xbd\xd0\xba\xc5\xa3\xac\xb5\xbd 1\xba\xc5\xb4\xb0\xbf\xda \xb0\xec\xc0\xed\n"
    b"\x1b\x64\x03"  # ESC d 3      feed 3 lines
    b"\x1d\x56\x42\x00"  # GS V 66 0 feed to the cutter, partial cut
)


def test_minimal_ticket_golden_bytes() -> None:
    assert build_ticket(MINIMAL) == MINIMAL_BYTES


def test_qr_block_golden_bytes() -> None:
    assert qr_command(b"http://a.cn/A1", module_size=6) == (
        b"\x1d\x28\x6b\x04\x00\x31\x41\x32\x00"  # GS ( k pL=4 pH=0 cn=49 fn=65: model 2
        b"\x1d\x28\x6b\x03\x00\x31\x43\x06"  # fn 67: module 6 dots
        b"\x1d\x28\x6b\x03\x00\x31\x45\x31"  # fn 69: error correction M
        b"\x1d\x28\x6b\x11\x00\x31\x50\x30"  # fn 80: store, pL = 14 data + 3 = 0x11
        b"http://a.cn/A1"
        b"\x1d\x28\x6b\x03\x00\x31\x51\x30"  # fn 81: print
    )


def test_qr_and_footer_on_58mm_paper_golden_tail() -> None:
    layout = dataclasses.replace(MINIMAL, paper_mm=58, qr_url="http://a.cn/A1", footer="谢谢")
    data = build_ticket(layout)
    assert b"\x1d\x21\x55A001\n" in data  # GS ! 0x55: 6x6 on 58 mm
    tail = (
        b"\x1b\x61\x01"  # ESC a 1: centre the symbol
        b"\x1d\x28\x6b\x04\x00\x31\x41\x32\x00"
        b"\x1d\x28\x6b\x03\x00\x31\x43\x04"  # module 4 dots on 58 mm
        b"\x1d\x28\x6b\x03\x00\x31\x45\x31"
        b"\x1d\x28\x6b\x11\x00\x31\x50\x30http://a.cn/A1"
        b"\x1d\x28\x6b\x03\x00\x31\x51\x30"
        b"\xd0\xbb\xd0\xbb\n"  # 谢谢 D0BB D0BB
        b"\x1b\x64\x03\x1d\x56\x42\x00"  # feed, cut
    )
    assert data.endswith(tail)


def test_materials_are_numbered_and_wrapped_to_the_paper() -> None:
    material = "身份证原件" * 6  # 30 full-width characters, 60 columns
    layout = dataclasses.replace(MINIMAL, paper_mm=58, materials=(material, "户口簿 ID card"))
    lines = ticket_text(EscPosReader().feed(build_ticket(layout)))
    start = lines.index("请准备以下材料：")
    # 58 mm: 32 columns; "1. " takes 3, leaving 29: 14 full-width characters per line, and
    # continuation lines are indented by 3 so the text lines up under the first.
    assert lines[start + 1 :] == [
        "1. " + material[:14],
        "   " + material[14:28],
        "   " + material[28:],
        "2. 户口簿 ID card",
    ]


def test_raster_command_golden_bytes() -> None:
    image = RasterImage(16, 2, b"\xff\x00\x81\x18")
    assert raster_command(image) == b"\x1d\x76\x30\x00\x02\x00\x02\x00\xff\x00\x81\x18"
    # GS v 0 m=3 (double width and height) xL=2 xH=0 (bytes per row) yL=2 yH=0 (rows)
    assert raster_command(image, double_width=True, double_height=True)[:8] == (
        b"\x1d\x76\x30\x03\x02\x00\x02\x00"
    )


@pytest.mark.parametrize(
    ("width", "height", "data"),
    [(12, 1, b"\x00\x00"), (8, 0, b""), (8, 2, b"\x00"), (8, 2304, bytes(2304))],
)
def test_raster_image_rejects_bad_shapes(width: int, height: int, data: bytes) -> None:
    with pytest.raises(EscPosError):
        RasterImage(width, height, data)


PUNCTUATION = "，：（）、。“”"
RARE = "𠀀䶮"


def test_full_width_punctuation_and_rare_characters_are_gb18030_bytes() -> None:
    layout = dataclasses.replace(MINIMAL, service_name=PUNCTUATION + RARE)
    data = build_ticket(layout)
    # ， A3AC  ： A3BA  （ A3A8  ） A3A9  、 A1A2  。 A1A3  “ A1B0  ” A1B1
    # 𠀀 95 32 82 36 (four-byte GB18030)  䶮 FE9F (GB18030-2005 mapping)
    expected = bytes.fromhex("a3ac a3ba a3a8 a3a9 a1a2 a1a3 a1b0 a1b1 95328236 fe9f") + b"\n"
    assert expected in data
    assert b"?" not in data
    assert PUNCTUATION + RARE in ticket_text(EscPosReader().feed(data))


def test_lone_surrogate_raises_naming_the_field() -> None:
    with pytest.raises(EscPosError) as caught:
        dataclasses.replace(MINIMAL, footer="ok\ud800")
    assert caught.value.field == "footer"


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"hall_name": " "}, "hall_name"),
        ({"footer": "a\x1b@"}, "footer"),
        ({"number": "A" * (MAX_FIELD_CHARS + 1)}, "number"),
        ({"ahead": -1}, "ahead"),
        ({"estimated_wait_minutes": True}, "estimated_wait_minutes"),
        ({"materials": ("",)}, "materials[0]"),
        ({"materials": ("x",) * (MAX_MATERIALS + 1)}, "materials"),
        ({"qr_url": "http://中文"}, "qr_url"),
        ({"paper_mm": 76}, "paper_mm"),
    ],
)
def test_invalid_layouts_name_the_field(changes: dict[str, object], field: str) -> None:
    with pytest.raises(EscPosError) as caught:
        dataclasses.replace(MINIMAL, **changes)  # type: ignore[arg-type]
    assert caught.value.field == field


def realistic_layout(**changes: object) -> TicketLayout:
    layout = TicketLayout(
        hall_name="东湖区政务服务中心",
        service_name="社会保障卡补换领",
        number="A123",
        ahead=17,
        estimated_wait_minutes=35,
        issued_at_text="2026-11-23 09:05",
        windows_text="1、2、12号窗口",
        materials=tuple(f"申请人有效身份证件原件及复印件（第{i}项）" for i in range(1, 11)),
        qr_url="https://hall.example.gov.cn/t/2026-11-23/A123?k=8f3a2c9d",
        footer="请保管好您的号票，过号请重新取号。",
        lane_text="绿色通道",
    )
    return dataclasses.replace(layout, **changes)  # type: ignore[arg-type]


def test_realistic_ticket_is_under_two_kilobytes() -> None:
    assert len(build_ticket(realistic_layout())) < 2048


def test_oversize_ticket_raises() -> None:
    long = "很" * MAX_FIELD_CHARS
    layout = realistic_layout(materials=(long,) * MAX_MATERIALS)
    with pytest.raises(EscPosError) as caught:
        build_ticket(layout)
    assert caught.value.field == "ticket"
    assert str(MAX_TICKET_BYTES) in str(caught.value)


def fake_render(text: str) -> RasterImage:
    """A stand-in for the driver's Pillow renderer: 24 dots per full-width character."""
    width = 8 * max(1, (sum(24 if not ch.isascii() else 12 for ch in text) + 7) // 8)
    seed = text.encode("utf-8")
    row = (seed * (width // 8 // max(1, len(seed)) + 1))[: width // 8]
    return RasterImage(width, 24, row * 24)


def test_raster_mode_prints_chinese_lines_as_images_and_ascii_as_text() -> None:
    layout = realistic_layout(paper_mm=58)
    images = {text: fake_render(text) for text in raster_texts(layout)}
    data = build_ticket(dataclasses.replace(layout, raster_lines=images))
    assert b"\x1c\x26" not in data  # no FS &: the printer has no Chinese font
    by_image = {image: text for text, image in images.items()}
    items = EscPosReader().feed(data)
    lines = [
        by_image[item.image] if isinstance(item, Raster) else item.text
        for item in items
        if isinstance(item, Raster | TextLine)
    ]
    assert lines == ticket_text(EscPosReader().feed(build_ticket(layout)))
    hall = next(item for item in items if isinstance(item, Raster))
    assert (hall.width, hall.height, hall.align) == (2, 2, "center")  # hall name, 2x by GS v 0 m=3
    assert "A123" in lines  # ASCII stays text, big
    assert len(data) < 65_536


def test_raster_mode_needs_every_image() -> None:
    layout = realistic_layout(raster_lines={})
    with pytest.raises(EscPosError) as caught:
        build_ticket(layout)
    assert caught.value.field == "raster_lines"


def test_raster_image_wider_than_paper_raises() -> None:
    layout = realistic_layout(paper_mm=58)
    images = {text: RasterImage(392, 1, bytes(49)) for text in raster_texts(layout)}
    with pytest.raises(EscPosError, match="wider than the paper"):
        build_ticket(dataclasses.replace(layout, raster_lines=images))


def test_the_documented_example_is_what_build_ticket_sends() -> None:
    doc = Path(__file__).resolve().parents[2] / "docs" / "protocols" / "escpos-ticket.md"
    listing = doc.read_text(encoding="utf-8").split("<!-- example-ticket -->\n```text\n")[1]
    hex_columns = [line[:48] for line in listing.split("```")[0].splitlines()]
    layout = TicketLayout(
        hall_name="东湖区政务服务中心",
        service_name="社保卡补换领",
        number="A001",
        ahead=3,
        estimated_wait_minutes=15,
        issued_at_text="2026-11-23 09:05",
        windows_text="1、2、12号窗口",
        materials=("身份证原件", "社保卡（如有）"),
        qr_url="https://hall.example.gov.cn/t/A001",
        footer="请保管好号票，过号请重新取号。",
    )
    assert bytes.fromhex(" ".join(hex_columns)) == build_ticket(layout)


# --- generated tickets read back by the interpreter ---

_ALPHABET = "AZaz09 -./:社保医中心号窗口办理材料证件绿色通道" + PUNCTUATION + RARE + "€ー…"
_CJK = st.characters(min_codepoint=0x4E00, max_codepoint=0x9FFF)
_CHAR = st.sampled_from(_ALPHABET) | st.characters(codec="utf-8", exclude_categories=("Cs", "Cc"))


def texts(max_size: int, *, blank: bool = True) -> st.SearchStrategy[str]:
    """Mixed Chinese, ASCII, punctuation and any other Unicode text (never control characters)."""
    strategy = st.text(_CHAR, min_size=0 if blank else 1, max_size=max_size) | st.text(
        _CJK, min_size=max_size // 2, max_size=max_size
    )  # long runs of full-width text reach every wrap boundary
    return strategy if blank else strategy.filter(lambda s: s.strip() != "")


@st.composite
def layouts(draw: st.DrawFn) -> TicketLayout:
    url = st.text(st.characters(min_codepoint=0x21, max_codepoint=0x7E), min_size=1, max_size=200)
    return TicketLayout(
        hall_name=draw(texts(MAX_FIELD_CHARS, blank=False)),
        service_name=draw(texts(60, blank=False)),
        number=draw(texts(12, blank=False)),
        ahead=draw(st.integers(0, 99_999)),
        estimated_wait_minutes=draw(st.none() | st.integers(0, 999)),
        issued_at_text=draw(texts(40)),
        windows_text=draw(texts(40)),
        materials=tuple(draw(st.lists(texts(MAX_FIELD_CHARS, blank=False), max_size=6))),
        qr_url=draw(st.none() | url),
        footer=draw(texts(MAX_FIELD_CHARS)),
        paper_mm=draw(st.sampled_from((58, 80))),
        lane_text=draw(st.none() | texts(20)),
    )


def expected_logical_lines(layout: TicketLayout) -> list[tuple[str, int]]:
    """Each intended line before wrapping, with the indent of its continuation lines."""
    out = [(layout.hall_name, 0), (layout.service_name, 0)]
    if layout.lane_text:
        out.append((layout.lane_text, 0))
    out += [(layout.number, 0), (f"您前面还有 {layout.ahead} 人等候", 0)]
    if layout.estimated_wait_minutes is not None:
        out.append((f"预计等候约 {layout.estimated_wait_minutes} 分钟", 0))
    if layout.issued_at_text:
        out.append((f"取号时间：{layout.issued_at_text}", 0))
    windows = f"，到 {layout.windows_text} 办理" if layout.windows_text else ""
    out.append(("请留意叫号" + windows, 0))
    if layout.materials:
        out.append(("请准备以下材料：", 0))
    for index, material in enumerate(layout.materials, start=1):
        out.append((f"{index}. {material}", len(f"{index}. ")))
    if layout.footer:
        out.append((layout.footer, 0))
    return out


def columns(text: str) -> int:
    return sum(1 if ch.isascii() else 2 for ch in text)


@settings(max_examples=150, deadline=None)
@given(layouts())
def test_every_generated_ticket_reads_back_as_intended(layout: TicketLayout) -> None:
    try:
        data = build_ticket(layout)
    except EscPosError as err:
        assert err.field == "ticket"  # only the size cap may refuse a valid layout
        return
    items = EscPosReader().feed(data)
    text_items = [item for item in items if isinstance(item, TextLine)]
    for item in text_items:  # every line fits the paper at its print size
        assert columns(item.text) * item.width <= PAPER_COLUMNS[layout.paper_mm]
    lines = [item.text for item in text_items]
    for logical, indent in expected_logical_lines(layout):
        assert lines, f"missing {logical!r}"
        joined = lines.pop(0)
        while len(joined) < len(logical):
            continuation = lines.pop(0)
            assert continuation[:indent] == " " * indent
            joined += continuation[indent:]
        assert joined == logical
    assert lines == []
    qr = [item.data for item in items if isinstance(item, QrCode)]
    assert qr == ([layout.qr_url.encode("ascii")] if layout.qr_url else [])
    assert isinstance(items[-1], Cut) and items[-1].partial


# --- printer status ---


def test_status_query_bytes() -> None:
    assert [status_query(n) for n in (1, 2, 3, 4)] == [
        b"\x10\x04\x01",  # DLE EOT 1: printer
        b"\x10\x04\x02",  # DLE EOT 2: offline cause
        b"\x10\x04\x03",  # DLE EOT 3: error cause
        b"\x10\x04\x04",  # DLE EOT 4: roll paper sensor
    ]
    with pytest.raises(EscPosError):
        status_query(5)


@pytest.mark.parametrize(
    ("n", "byte", "expected"),
    [
        (1, 0x12, {"offline": False}),  # 0001 0010: fixed bits only
        (1, 0x1A, {"offline": True}),  # bit 3
        (1, 0x16, {"offline": False}),  # bit 2 is the drawer pin, not a fault
        (2, 0x12, {"cover_open": False, "paper_end": False, "error": False}),
        (2, 0x16, {"cover_open": True, "paper_end": False, "error": False}),  # bit 2
        (2, 0x32, {"cover_open": False, "paper_end": True, "error": False}),  # bit 5
        (2, 0x52, {"cover_open": False, "paper_end": False, "error": True}),  # bit 6
        (3, 0x12, {"error": False}),
        (3, 0x1A, {"error": True}),  # bit 3 autocutter
        (3, 0x32, {"error": True}),  # bit 5 unrecoverable
        (3, 0x52, {"error": True}),  # bit 6 auto-recoverable
        (4, 0x12, {"paper_end": False, "paper_near_end": False}),
        (4, 0x1E, {"paper_end": False, "paper_near_end": True}),  # bits 2-3
        (4, 0x72, {"paper_end": True, "paper_near_end": False}),  # bits 5-6
        (4, 0x52, {"paper_end": False, "paper_near_end": False}),  # bit 6 alone: presenter
    ],
)
def test_decode_status_bits(n: int, byte: int, expected: dict[str, bool]) -> None:
    bits = decode_status(n, bytes([byte]))
    for name in ("offline", "cover_open", "paper_end", "paper_near_end", "error"):
        assert getattr(bits, name) == expected.get(name), name
    assert decode_status(n, byte) == bits


@pytest.mark.parametrize("byte", [0x00, 0xFF, 0x13, 0x92, 0x10, 0x02])
def test_malformed_status_byte_raises(byte: int) -> None:
    with pytest.raises(EscPosError):
        decode_status(1, byte)


@pytest.mark.parametrize("reply", [b"", b"\x12\x12"])
def test_status_reply_must_be_one_byte(reply: bytes) -> None:
    with pytest.raises(EscPosError):
        decode_status(1, reply)


def test_printer_status_is_tri_state() -> None:
    healthy = {1: b"\x12", 2: b"\x12", 4: b"\x12"}
    assert PrinterStatus.from_replies(healthy).ready is True
    out = PrinterStatus.from_replies({1: b"\x1a", 2: b"\x32", 4: b"\x7e"})
    assert (out.ready, out.offline, out.paper_end, out.paper_near_end) == (False, True, True, True)
    silent = PrinterStatus.from_replies({1: None, 2: None, 4: None})
    assert silent.ready is None and silent.unanswered == (1, 2, 4)
    garbage = PrinterStatus.from_replies({1: b"\x12", 2: b"\xff", 4: b"\x12"})
    assert garbage.ready is None and garbage.unanswered == (2,)
    cover = PrinterStatus.from_replies({1: b"\x12", 2: b"\x16", 4: None})
    assert cover.ready is False  # a known fault wins over an unknown
    near = PrinterStatus.from_replies({1: b"\x12", 2: b"\x12", 4: b"\x1e"})
    assert near.ready is True and near.paper_near_end is True  # a warning, not a stop
    assert PrinterStatus().ready is None


@pytest.mark.parametrize("n", [1, 2, 3, 4])
@pytest.mark.parametrize(
    "condition", ["offline", "cover_open", "paper_end", "paper_near_end", "error", None]
)
def test_simulated_replies_decode_to_their_condition(n: int, condition: str | None) -> None:
    flags = {condition: True} if condition else {}
    bits = decode_status(n, status_reply(n, **flags))
    for name in ("offline", "cover_open", "paper_end", "paper_near_end", "error"):
        assert getattr(bits, name) in (None, name == condition)
