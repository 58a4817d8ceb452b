"""ESC/POS interpreter: the printer's side of the wire, for the simulated printer and tests.

Understands the subset in docs/protocols/escpos-ticket.md (Epson ESC/POS, TM-T88 level) and
skips other fixed-length commands by their documented lengths; text is GB18030 in Chinese mode
(`FS &`) and ASCII otherwise.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from firmware_protocols.escpos.escpos_ticket import (
    DLE,
    ESC,
    FS,
    GS,
    LF,
    EscPosError,
    RasterImage,
    check_raster_size,
)

Align = Literal["left", "center", "right"]

MAX_BUFFERED_BYTES = 65_536  # one command, or one line of text, without its terminator

_ALIGN: dict[int, Align] = {
    0: "left",
    1: "center",
    2: "right",
    48: "left",
    49: "center",
    50: "right",
}
_QR_LEVELS = {48: "L", 49: "M", 50: "Q", 51: "H"}
# Parameter bytes of fixed-length commands the reader accepts and ignores (Epson command table).
_ESC_SKIP = {
    0x20: 1, 0x24: 2, 0x2D: 1, 0x32: 0, 0x33: 1, 0x4A: 1, 0x4C: 0, 0x4D: 1, 0x47: 1, 0x52: 1,
    0x53: 0, 0x54: 1, 0x55: 1, 0x56: 1, 0x57: 8, 0x5C: 2, 0x63: 2, 0x65: 1, 0x70: 3, 0x72: 1,
    0x74: 1, 0x7B: 1,
}  # fmt: skip
_GS_SKIP = {
    0x24: 2, 0x42: 1, 0x48: 1, 0x49: 1, 0x4C: 2, 0x50: 2, 0x57: 2, 0x5C: 2, 0x61: 1, 0x62: 1,
    0x66: 1, 0x68: 1, 0x72: 1, 0x77: 1,
}  # fmt: skip
_FS_SKIP = {0x21: 1, 0x2D: 1, 0x43: 1, 0x53: 2, 0x57: 1, 0x70: 2}


@dataclass(frozen=True)
class TextLine:
    """One printed line of text with the size, emphasis and alignment of its first character."""

    text: str
    width: int = 1
    height: int = 1
    bold: bool = False
    align: Align = "left"


@dataclass(frozen=True)
class QrCode:
    """A printed QR symbol (`GS ( k` fn 81) with the data stored before it."""

    data: bytes
    module_size: int
    error_correction: str
    align: Align = "left"


@dataclass(frozen=True)
class Raster:
    """A printed `GS v 0` raster image, scaled 1 or 2 times by the printer."""

    image: RasterImage
    width: int = 1
    height: int = 1
    align: Align = "left"


@dataclass(frozen=True)
class Feed:
    """Blank paper: an empty LF or `ESC d n`."""

    lines: int


@dataclass(frozen=True)
class Cut:
    """`GS V` (or `ESC i` / `ESC m`): the ticket is cut off."""

    partial: bool


@dataclass(frozen=True)
class StatusQuery:
    """`DLE EOT n`: the host waits for one status byte."""

    n: int


@dataclass(frozen=True)
class Reset:
    """`ESC @`: the printer is initialised; an unprinted line is discarded."""


PrintItem = TextLine | QrCode | Raster | Feed | Cut | StatusQuery | Reset


class EscPosReader:
    """Feed bytes in any chunking, get what the printer does; after an EscPosError it stays failed."""

    def __init__(self) -> None:
        self._buf = bytearray()
        self._offset = 0  # stream offset of _buf[0], for error messages
        self._failed: EscPosError | None = None
        self._line: list[str] = []
        self._line_bytes = 0
        self._line_style = TextLine("")
        self._handlers = {ESC: self._esc, GS: self._gs, FS: self._fs, DLE: self._dle}
        self._reset_modes()

    def feed(self, data: bytes) -> list[PrintItem]:
        """Interpret `data` after what came before; EscPosError on malformed or oversized input."""
        if self._failed is not None:
            raise self._failed
        self._buf += data
        items: list[PrintItem] = []
        pos = 0
        try:
            while pos < len(self._buf):
                used = self._step(pos, items)
                if used == 0:
                    break
                pos += used
        except EscPosError as err:
            self._failed = err
            raise
        finally:
            del self._buf[:pos]
            self._offset += pos
        return items

    def _reset_modes(self) -> None:
        self._chinese = False
        self._bold = False
        self._width = self._height = 1
        self._align: Align = "left"
        self._qr_data: bytes | None = None
        self._qr_size = 3
        self._qr_level = "L"

    def _fail(self, detail: str, pos: int) -> EscPosError:
        return EscPosError(detail, field="escpos", offset=self._offset + pos)

    def _need(self, pos: int, count: int) -> bool:
        """Whether `count` bytes from `pos` are buffered; EscPosError if they never may be."""
        if count > MAX_BUFFERED_BYTES:
            raise self._fail(f"command of {count} bytes exceeds {MAX_BUFFERED_BYTES}", pos)
        return len(self._buf) - pos >= count

    def _step(self, pos: int, items: list[PrintItem]) -> int:
        """Interpret one command or run of text at `pos`; 0 = wait for more bytes."""
        byte = self._buf[pos]
        if byte == LF:
            self._flush(items, blank=Feed(1))
            return 1
        if byte == 0x0D:  # CR: ignored, as with auto line feed off
            return 1
        if byte in (ESC, GS, FS, DLE):
            if not self._need(pos, 2):
                return 0
            return self._handlers[byte](pos, self._buf[pos + 1], items)
        if byte < 0x20:
            raise self._fail(f"unexpected control byte 0x{byte:02x}", pos)
        return self._text(pos)

    def _esc(self, pos: int, cmd: int, items: list[PrintItem]) -> int:
        if cmd == 0x40:  # ESC @: initialise, discarding the unprinted line
            self._line, self._line_bytes = [], 0
            self._reset_modes()
            items.append(Reset())
            return 2
        if cmd in (0x69, 0x6D):  # ESC i / ESC m: obsolete partial cuts
            self._flush(items)
            items.append(Cut(partial=True))
            return 2
        params = 1 if cmd in (0x61, 0x45, 0x21, 0x64) else _ESC_SKIP.get(cmd)
        if params is None:
            raise self._fail(f"unknown command ESC 0x{cmd:02x}", pos)
        if not self._need(pos, 2 + params):
            return 0
        n = self._buf[pos + 2] if params else 0
        if cmd == 0x61:  # ESC a n: justification
            if n not in _ALIGN:
                raise self._fail(f"ESC a {n}: no such justification", pos)
            self._align = _ALIGN[n]
        elif cmd == 0x45:  # ESC E n: emphasis on the low bit
            self._bold = bool(n & 1)
        elif cmd == 0x21:  # ESC ! n: bit 3 emphasis, bit 4 double height, bit 5 double width
            self._bold = bool(n & 0x08)
            self._height, self._width = 1 + (n >> 4 & 1), 1 + (n >> 5 & 1)
        elif cmd == 0x64:  # ESC d n: print the line, then feed n lines
            self._flush(items)
            if n:
                items.append(Feed(n))
        return 2 + params

    def _gs(self, pos: int, cmd: int, items: list[PrintItem]) -> int:
        if cmd == 0x28:  # GS ( fn pL pH ...: every GS ( function carries its length
            return self._gs_paren(pos, items)
        if cmd == 0x76:  # GS v 0 m xL xH yL yH d1..dk
            return self._raster(pos, items)
        if cmd == 0x56:  # GS V m [n]
            if not self._need(pos, 3):
                return 0
            m = self._buf[pos + 2]
            if m in (0, 1, 48, 49):
                size = 3
            elif m in (65, 66, 97, 98, 103, 104):
                size = 4
            else:
                raise self._fail(f"GS V {m}: no such cut", pos)
            if not self._need(pos, size):
                return 0
            self._flush(items)
            items.append(Cut(partial=m in (1, 49, 66, 98, 104)))
            return size
        params = 1 if cmd == 0x21 else _GS_SKIP.get(cmd)
        if params is None:
            raise self._fail(f"unknown command GS 0x{cmd:02x}", pos)
        if not self._need(pos, 2 + params):
            return 0
        if cmd == 0x21:  # GS ! n: width-1 in the high nibble, height-1 in the low
            n = self._buf[pos + 2]
            if n & 0x88:
                raise self._fail(f"GS ! 0x{n:02x}: size out of range", pos)
            self._width, self._height = (n >> 4) + 1, (n & 0x07) + 1
        return 2 + params

    def _gs_paren(self, pos: int, items: list[PrintItem]) -> int:
        if not self._need(pos, 5):
            return 0
        fn, p = self._buf[pos + 2], self._buf[pos + 3] | self._buf[pos + 4] << 8
        if not self._need(pos, 5 + p):
            return 0
        if fn != 0x6B or p < 2 or self._buf[pos + 5] != 0x31:
            return 5 + p  # not a QR code function: skipped by its length
        qr_fn, args = self._buf[pos + 6], bytes(self._buf[pos + 7 : pos + 5 + p])
        if qr_fn == 0x50:  # store data: m = 48, then the data
            if not args or args[0] != 0x30:
                raise self._fail("GS ( k store: bad m", pos)
            self._qr_data = args[1:]
        elif qr_fn in (0x41, 0x43, 0x45, 0x51) and len(args) != (2 if qr_fn == 0x41 else 1):
            raise self._fail(f"GS ( k fn {qr_fn}: wrong length {p}", pos)
        elif qr_fn == 0x43:  # module size 1..16 dots
            if not 1 <= args[0] <= 16:
                raise self._fail(f"QR module size {args[0]}", pos)
            self._qr_size = args[0]
        elif qr_fn == 0x45:  # error correction level
            if args[0] not in _QR_LEVELS:
                raise self._fail(f"QR error correction {args[0]}", pos)
            self._qr_level = _QR_LEVELS[args[0]]
        elif qr_fn == 0x51 and self._qr_data:  # print the stored symbol
            self._flush(items)
            items.append(QrCode(self._qr_data, self._qr_size, self._qr_level, self._align))
        return 5 + p

    def _raster(self, pos: int, items: list[PrintItem]) -> int:
        if not self._need(pos, 8):
            return 0
        b = self._buf
        if b[pos + 2] != 0x30 or b[pos + 3] not in (0, 1, 2, 3, 48, 49, 50, 51):
            raise self._fail("GS v: expected 0 and m in 0..3", pos)
        x, y = b[pos + 4] | b[pos + 5] << 8, b[pos + 6] | b[pos + 7] << 8
        try:
            check_raster_size(x * 8, y)
        except EscPosError as err:
            raise self._fail(f"GS v 0: {err.detail}", pos) from err
        if not self._need(pos, 8 + x * y):
            return 0
        m = b[pos + 3] & 0x03
        self._flush(items)
        image = RasterImage(x * 8, y, bytes(b[pos + 8 : pos + 8 + x * y]))
        items.append(Raster(image, 1 + (m & 1), 1 + (m >> 1), self._align))
        return 8 + x * y

    def _fs(self, pos: int, cmd: int, items: list[PrintItem]) -> int:
        if cmd in (0x26, 0x2E):  # FS & / FS .: Chinese mode on / off
            self._chinese = cmd == 0x26
            return 2
        params = _FS_SKIP.get(cmd)
        if params is None:
            raise self._fail(f"unknown command FS 0x{cmd:02x}", pos)
        return 2 + params if self._need(pos, 2 + params) else 0

    def _dle(self, pos: int, cmd: int, items: list[PrintItem]) -> int:
        if cmd not in (0x04, 0x05):  # DLE EOT n, DLE ENQ n
            raise self._fail(f"unknown command DLE 0x{cmd:02x}", pos)
        if not self._need(pos, 3):
            return 0
        n = self._buf[pos + 2]
        if cmd == 0x05:
            return 3
        if 1 <= n <= 4:
            items.append(StatusQuery(n))
            return 3
        if n in (7, 8):  # DLE EOT 7 a / 8 a: ink and paper sensors, one more byte
            return 4 if self._need(pos, 4) else 0
        raise self._fail(f"DLE EOT {n}: no such status", pos)

    def _text(self, pos: int) -> int:
        b = self._buf
        end = pos
        while end < len(b) and 0x20 <= b[end] < 0x80:
            end += 1
        if end > pos:
            self._add_text(b[pos:end].decode("ascii"), end - pos, pos)
            return end - pos
        if not self._chinese:
            raise self._fail(f"byte 0x{b[pos]:02x} outside Chinese mode", pos)
        if not 0x81 <= b[pos] <= 0xFE:
            raise self._fail(f"byte 0x{b[pos]:02x} cannot start a GB18030 character", pos)
        if not self._need(pos, 2):
            return 0
        size = 4 if 0x30 <= b[pos + 1] <= 0x39 else 2
        if not self._need(pos, size):
            return 0
        raw = bytes(b[pos : pos + size])
        try:
            self._add_text(raw.decode("gb18030"), size, pos)
        except UnicodeDecodeError as err:
            raise self._fail(f"invalid GB18030 {raw.hex(' ')}", pos) from err
        return size

    def _add_text(self, text: str, size: int, pos: int) -> None:
        if not self._line:
            self._line_style = TextLine("", self._width, self._height, self._bold, self._align)
        self._line.append(text)
        self._line_bytes += size
        if self._line_bytes > MAX_BUFFERED_BYTES:
            raise self._fail(f"line longer than {MAX_BUFFERED_BYTES} bytes", pos)

    def _flush(self, items: list[PrintItem], blank: Feed | None = None) -> None:
        if self._line:
            style = self._line_style
            items.append(
                TextLine("".join(self._line), style.width, style.height, style.bold, style.align)
            )
            self._line, self._line_bytes = [], 0
        elif blank is not None:
            items.append(blank)


def ticket_text(items: list[PrintItem]) -> list[str]:
    """The text lines printed, in order (raster images, QR codes and feeds left out)."""
    return [item.text for item in items if isinstance(item, TextLine)]


def status_reply(
    n: int,
    *,
    offline: bool = False,
    cover_open: bool = False,
    paper_end: bool = False,
    paper_near_end: bool = False,
    error: bool = False,
) -> bytes:
    """The byte a printer in this condition answers to `DLE EOT n` (fixed bits 1 and 4 set)."""
    bits = {
        1: 0x08 * offline,
        2: 0x04 * cover_open | 0x20 * paper_end | 0x40 * error,
        3: 0x40 * error,
        4: 0x0C * paper_near_end | 0x60 * paper_end,
    }
    if n not in bits:
        raise EscPosError(f"unknown status query {n}", field="DLE EOT")
    return bytes((0x12 | bits[n],))
