"""ESC/POS ticket layout and printer status (Epson ESC/POS command reference, TM-T88 level).

Text is GB18030 (Python's codec, GB18030-2005 mapping) sent in Chinese mode (`FS &`); printers
without a Chinese font get the Chinese lines as `GS v 0` raster images the caller rendered.
Wire format, limits and an annotated example: docs/protocols/escpos-ticket.md.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Literal

PaperWidth = Literal[58, 80]

MAX_TICKET_BYTES = 4096  # text mode: twice the 2 KB a realistic ticket needs (~900 B)
MAX_RASTER_TICKET_BYTES = 65_536  # raster mode: ~30 B per dot row; a ticket is ~40 rows of text
MAX_FIELD_CHARS = 120
MAX_MATERIALS = 20
MAX_QR_BYTES = 256  # QR model 2 at level M holds 287 bytes in version 12 (65 modules)
MAX_RASTER_HEIGHT_PX = 2303  # GS v 0: 1 <= yL + yH*256 <= 2303 on Epson TM printers
MAX_RASTER_IMAGE_BYTES = 65_528  # one GS v 0 with its 8-byte header fits a 64 KiB buffer

PAPER_COLUMNS: Mapping[int, int] = MappingProxyType({58: 32, 80: 48})  # 12-dot font A
PAPER_DOTS: Mapping[int, int] = MappingProxyType({58: 384, 80: 576})  # 203 dpi heads
_NUMBER_MAX_SIZE = {58: 6, 80: 8}  # GS ! 0x55 on 58 mm, 0x77 on 80 mm
# Worst case 65 modules (MAX_QR_BYTES) + 8 quiet-zone modules: 73*4 = 292 <= 384, 73*6 = 438 <= 576.
_QR_MODULE = {58: 4, 80: 6}

ESC, GS, FS, DLE, LF = 0x1B, 0x1D, 0x1C, 0x10, 0x0A
_LEFT, _CENTER = 0, 1
_FEED_LINES = 3


class EscPosError(ValueError):
    """An ESC/POS layout, stream or status byte is malformed; names the field or offset."""

    def __init__(self, detail: str, *, field: str = "", offset: int | None = None) -> None:
        self.detail = detail
        self.field = field
        self.offset = offset
        where = f"{field}: " if field else ""
        at = f" (at byte {offset})" if offset is not None else ""
        super().__init__(f"{where}{detail}{at}")


@dataclass(frozen=True)
class RasterImage:
    """A 1-bit image: rows top to bottom, MSB = leftmost dot, 1 = black, width a multiple of 8."""

    width_px: int
    height_px: int
    data: bytes

    def __post_init__(self) -> None:
        check_raster_size(self.width_px, self.height_px)
        if len(self.data) != self.width_px // 8 * self.height_px:
            raise EscPosError(
                f"{len(self.data)} data bytes for {self.width_px}x{self.height_px} dots",
                field="raster",
            )


@dataclass(frozen=True, kw_only=True)
class TicketLayout:
    """Everything printed on one ticket; raster_lines set = printer without a Chinese font."""

    hall_name: str
    service_name: str
    number: str
    ahead: int
    issued_at_text: str
    windows_text: str
    estimated_wait_minutes: int | None = None
    materials: tuple[str, ...] = ()
    qr_url: str | None = None
    footer: str = ""
    paper_mm: PaperWidth = 80
    lane_text: str | None = None
    raster_lines: Mapping[str, RasterImage] | None = field(default=None, hash=False)

    def __post_init__(self) -> None:
        _validate(self)


def build_ticket(layout: TicketLayout) -> bytes:
    """The bytes of one ticket, init to cut; EscPosError if over its cap or an image is missing."""
    raster = layout.raster_lines
    out = bytearray(b"\x1b\x40")  # ESC @ initialise
    if raster is None:
        out += b"\x1c\x26"  # FS & Chinese (Kanji) mode on
    align, bold, size = _LEFT, False, 1  # the state ESC @ leaves
    for item in _plan(layout):
        if item.align != align:
            out += bytes((ESC, 0x61, item.align))  # ESC a n
            align = item.align
        if isinstance(item, _Qr):
            out += qr_command(item.data, module_size=item.module)
            continue
        if raster is not None and not item.text.isascii():
            out += _raster_line(layout, item)
            continue
        if item.bold != bold:
            out += bytes((ESC, 0x45, int(item.bold)))  # ESC E n
            bold = item.bold
        if item.size != size:
            out += bytes((GS, 0x21, (item.size - 1) * 0x11))  # GS ! n: width, height nibbles
            size = item.size
        out += item.text.encode("gb18030") + b"\n"
    out += bytes((ESC, 0x64, _FEED_LINES))  # ESC d n: feed clear of the cutter
    out += b"\x1d\x56\x42\x00"  # GS V 66 0: feed to the cut position, partial cut
    cap = MAX_TICKET_BYTES if raster is None else MAX_RASTER_TICKET_BYTES
    if len(out) > cap:
        raise EscPosError(f"{len(out)} bytes, more than {cap}", field="ticket")
    return bytes(out)


def raster_texts(layout: TicketLayout) -> tuple[str, ...]:
    """The distinct non-ASCII lines a raster-mode caller must render, in print order."""
    seen: dict[str, None] = {}
    for item in _plan(layout):
        if isinstance(item, _Line) and not item.text.isascii():
            seen.setdefault(item.text)
    return tuple(seen)


def raster_command(
    image: RasterImage, *, double_width: bool = False, double_height: bool = False
) -> bytes:
    """`GS v 0 m xL xH yL yH d1..dk` printing `image`, optionally scaled 2x by the printer."""
    m = int(double_width) | int(double_height) << 1
    x, y = image.width_px // 8, image.height_px
    return bytes((GS, 0x76, 0x30, m, x & 0xFF, x >> 8, y & 0xFF, y >> 8)) + image.data


def qr_command(data: bytes, *, module_size: int = 6) -> bytes:
    """Native QR (`GS ( k`, cn 49): model 2, module size, level M, store `data`, print."""
    if not 1 <= len(data) <= MAX_QR_BYTES or not 1 <= module_size <= 16:
        raise EscPosError(f"{len(data)} bytes at module size {module_size}", field="qr_url")
    store = len(data) + 3  # pL pH count cn, fn, m and the data
    return (
        b"\x1d\x28\x6b\x04\x00\x31\x41\x32\x00"  # fn 65: model 2
        + b"\x1d\x28\x6b\x03\x00\x31\x43"
        + bytes((module_size,))  # fn 67: module size in dots
        + b"\x1d\x28\x6b\x03\x00\x31\x45\x31"  # fn 69: error correction M (49)
        + b"\x1d\x28\x6b"
        + bytes((store & 0xFF, store >> 8))
        + b"\x31\x50\x30"  # fn 80: store the symbol data
        + data
        + b"\x1d\x28\x6b\x03\x00\x31\x51\x30"  # fn 81: print the stored symbol
    )


def check_raster_size(width_px: int, height_px: int) -> None:
    """Raise EscPosError unless a raster image of this size is within the codec's caps."""
    if width_px <= 0 or width_px % 8 or height_px <= 0 or height_px > MAX_RASTER_HEIGHT_PX:
        raise EscPosError(f"bad raster size {width_px}x{height_px} dots", field="raster")
    if width_px // 8 * height_px > MAX_RASTER_IMAGE_BYTES:
        raise EscPosError(f"raster {width_px}x{height_px} over the size cap", field="raster")


# --- printer status (DLE EOT n, real-time status transmission) ---

STATUS_QUERIES = (1, 2, 3, 4)  # printer, offline cause, error cause, roll paper sensor
_FIXED_MASK, _FIXED_BITS = 0x93, 0x12  # bits 0 and 7 clear, bits 1 and 4 set in every reply


@dataclass(frozen=True)
class PrinterStatusBits:
    """One DLE EOT reply decoded; None = this query does not report that condition."""

    query: int
    raw: int
    offline: bool | None = None
    cover_open: bool | None = None
    paper_end: bool | None = None
    paper_near_end: bool | None = None
    error: bool | None = None


@dataclass(frozen=True)
class PrinterStatus:
    """A printer's condition from its replies; None = unknown (no or malformed reply)."""

    offline: bool | None = None
    cover_open: bool | None = None
    paper_end: bool | None = None
    paper_near_end: bool | None = None
    error: bool | None = None
    unanswered: tuple[int, ...] = ()

    @property
    def ready(self) -> bool | None:
        """False if any blocking condition is reported, True only if all are known clear."""
        blocking = (self.offline, self.cover_open, self.paper_end, self.error)
        if any(flag is True for flag in blocking):
            return False
        return None if any(flag is None for flag in blocking) else True

    @classmethod
    def combine(
        cls, parts: Iterable[PrinterStatusBits], unanswered: Iterable[int] = ()
    ) -> PrinterStatus:
        """Merge decoded replies: a condition is True if any reply says so, None if none reports it."""
        parts = tuple(parts)

        def any_of(name: str) -> bool | None:
            known = [value for part in parts if (value := getattr(part, name)) is not None]
            return any(known) if known else None

        return cls(
            offline=any_of("offline"),
            cover_open=any_of("cover_open"),
            paper_end=any_of("paper_end"),
            paper_near_end=any_of("paper_near_end"),
            error=any_of("error"),
            unanswered=tuple(sorted(set(unanswered))),
        )

    @classmethod
    def from_replies(cls, replies: Mapping[int, bytes | int | None]) -> PrinterStatus:
        """Decode {query n: reply}; a missing (None) or malformed reply leaves its bits unknown."""
        parts: list[PrinterStatusBits] = []
        unanswered: list[int] = []
        for n, reply in replies.items():
            try:
                if reply is None:
                    raise EscPosError("no reply", field=f"DLE EOT {n}")
                parts.append(decode_status(n, reply))
            except EscPosError:
                unanswered.append(n)
        return cls.combine(parts, unanswered)


def status_query(n: int) -> bytes:
    """`DLE EOT n`: ask for real-time status n (1 printer, 2 offline, 3 error, 4 paper sensor)."""
    if n not in STATUS_QUERIES:
        raise EscPosError(f"unknown status query {n}", field="DLE EOT")
    return bytes((DLE, 0x04, n))


def decode_status(n: int, reply: bytes | int) -> PrinterStatusBits:
    """Decode one reply byte to `DLE EOT n`; EscPosError if it breaks the fixed bits."""
    if isinstance(reply, bytes):
        if len(reply) != 1:
            raise EscPosError(
                f"expected 1 status byte, got {reply.hex(' ')!r}", field=f"DLE EOT {n}"
            )
        reply = reply[0]
    if n not in STATUS_QUERIES:
        raise EscPosError(f"unknown status query {n}", field="DLE EOT")
    if not 0 <= reply <= 0xFF or reply & _FIXED_MASK != _FIXED_BITS:
        raise EscPosError(f"malformed status byte 0x{reply:02x}", field=f"DLE EOT {n}")
    if n == 1:  # bit 3: offline
        return PrinterStatusBits(n, reply, offline=bool(reply & 0x08))
    if n == 2:  # bit 2: cover open, bit 5: stopped by paper end, bit 6: error
        return PrinterStatusBits(
            n,
            reply,
            cover_open=bool(reply & 0x04),
            paper_end=bool(reply & 0x20),
            error=bool(reply & 0x40),
        )
    if n == 3:  # bit 3: autocutter, bit 5: unrecoverable, bit 6: auto-recoverable (head heat)
        return PrinterStatusBits(n, reply, error=bool(reply & 0x68))
    # n == 4: near-end sensor bits 2-3 (0x0C, either may be a separate sensor); end sensor bits
    # 5-6 (0x60), but bit 6 is a presenter sensor on some Citizen models, so only bit 5 counts.
    return PrinterStatusBits(
        n, reply, paper_end=bool(reply & 0x20), paper_near_end=bool(reply & 0x0C)
    )


# --- private helpers ---

_TEXT_FIELDS = ("hall_name", "service_name", "number", "issued_at_text", "windows_text", "footer")


@dataclass(frozen=True)
class _Line:
    text: str
    size: int = 1
    bold: bool = False
    align: int = _CENTER


@dataclass(frozen=True)
class _Qr:
    data: bytes
    module: int
    align: int = _CENTER


def _plan(layout: TicketLayout) -> list[_Line | _Qr]:
    columns = PAPER_COLUMNS[layout.paper_mm]
    plan: list[_Line | _Qr] = []

    def add(text: str, *, size: int = 1, bold: bool = False, align: int = _CENTER) -> None:
        plan.extend(_Line(part, size, bold, align) for part in _wrap(text, columns // size))

    add(layout.hall_name, size=2, bold=True)
    add(layout.service_name)
    if layout.lane_text:
        add(layout.lane_text, bold=True)
    fit = columns // _columns(layout.number)
    add(layout.number, size=max(1, min(_NUMBER_MAX_SIZE[layout.paper_mm], fit)), bold=True)
    add(f"您前面还有 {layout.ahead} 人等候")
    if layout.estimated_wait_minutes is not None:
        add(f"预计等候约 {layout.estimated_wait_minutes} 分钟")
    if layout.issued_at_text:
        add(f"取号时间：{layout.issued_at_text}", align=_LEFT)
    windows = f"，到 {layout.windows_text} 办理" if layout.windows_text else ""
    add(f"请留意叫号{windows}", align=_LEFT)
    if layout.materials:
        add("请准备以下材料：", align=_LEFT)
    for index, material in enumerate(layout.materials, start=1):
        prefix = f"{index}. "
        first, *rest = _wrap(prefix + material, columns, indent=len(prefix))
        plan.append(_Line(first, align=_LEFT))
        plan.extend(_Line(" " * len(prefix) + part, align=_LEFT) for part in rest)
    if layout.qr_url:
        plan.append(_Qr(layout.qr_url.encode("ascii"), _QR_MODULE[layout.paper_mm]))
    if layout.footer:
        add(layout.footer)
    return plan


def _raster_line(layout: TicketLayout, line: _Line) -> bytes:
    image = (layout.raster_lines or {}).get(line.text)
    if image is None:
        raise EscPosError(f"no image for line {line.text!r}", field="raster_lines")
    scale = min(line.size, 2)  # GS v 0 scales by 1 or 2 only
    if image.width_px * scale > PAPER_DOTS[layout.paper_mm]:
        raise EscPosError(f"image for {line.text!r} wider than the paper", field="raster_lines")
    return raster_command(image, double_width=scale == 2, double_height=scale == 2)


def _columns(text: str) -> int:
    """Printed width in half-width columns: one byte of GB18030 is ANK, more is a full-width Kanji."""
    return sum(1 if ch.isascii() else 2 for ch in text)


def _wrap(text: str, columns: int, *, indent: int = 0) -> list[str]:
    """Greedy character wrap; continuation lines get `columns - indent`."""
    lines: list[str] = []
    current, used, limit = "", 0, columns
    for ch in text:
        width = 1 if ch.isascii() else 2
        if current and used + width > limit:
            lines.append(current)
            current, used, limit = "", 0, columns - indent
        current += ch
        used += width
    lines.append(current)
    return lines


def _validate(layout: TicketLayout) -> None:
    for name in _TEXT_FIELDS:
        _check_text(
            name, getattr(layout, name), required=name in {"hall_name", "service_name", "number"}
        )
    if layout.lane_text is not None:
        _check_text("lane_text", layout.lane_text)
    if not isinstance(layout.materials, tuple) or len(layout.materials) > MAX_MATERIALS:
        raise EscPosError(f"a tuple of at most {MAX_MATERIALS} lines", field="materials")
    for index, material in enumerate(layout.materials):
        _check_text(f"materials[{index}]", material, required=True)
    _check_count("ahead", layout.ahead)
    if layout.estimated_wait_minutes is not None:
        _check_count("estimated_wait_minutes", layout.estimated_wait_minutes)
    if layout.qr_url is not None:
        url = layout.qr_url
        if not (url.isascii() and url.isprintable() and 0 < len(url) <= MAX_QR_BYTES):
            raise EscPosError(f"printable ASCII of 1..{MAX_QR_BYTES} bytes", field="qr_url")
    if layout.paper_mm not in PAPER_COLUMNS:
        raise EscPosError(f"paper must be 58 or 80 mm, got {layout.paper_mm!r}", field="paper_mm")
    if layout.raster_lines is not None:
        images = dict(layout.raster_lines)
        if not all(isinstance(k, str) and isinstance(v, RasterImage) for k, v in images.items()):
            raise EscPosError("expected {line text: RasterImage}", field="raster_lines")
        object.__setattr__(layout, "raster_lines", MappingProxyType(images))


def _check_count(name: str, value: object) -> None:
    if not isinstance(value, int) or isinstance(value, bool) or not 0 <= value <= 99_999:
        raise EscPosError(f"expected a whole number 0..99999, got {value!r}", field=name)


def _check_text(name: str, value: object, *, required: bool = False) -> None:
    if not isinstance(value, str) or len(value) > MAX_FIELD_CHARS:
        raise EscPosError(f"expected text of at most {MAX_FIELD_CHARS} characters", field=name)
    if required and not value.strip():
        raise EscPosError("must not be blank", field=name)
    # A control byte would become an ESC/POS command on the wire (a "\x1b@" in a footer resets).
    if any(ord(ch) < 0x20 or ord(ch) == 0x7F for ch in value):
        raise EscPosError("control characters are not allowed", field=name)
    try:
        value.encode("gb18030")
    except UnicodeEncodeError as err:  # only lone surrogates: GB18030 covers all of Unicode
        raise EscPosError(f"cannot encode {value[err.start]!r} as GB18030", field=name) from err
