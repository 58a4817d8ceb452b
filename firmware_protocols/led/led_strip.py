"""LED window strip (窗口条屏) and board (综合屏) commands on the hall bus, protocol version 1.

Function codes 0x40-0x48 of the hall bus LED range; text is GB18030 (Python's `gb18030`
codec). Payload layouts, what a strip shows for each and annotated example frames:
docs/protocols/led-strip.md; the framing under them: docs/protocols/hall-bus.md.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import ClassVar, Final

from firmware_protocols.hall_bus.hall_bus import (
    BROADCAST,
    FN_ACK,
    FN_IDENTIFY,
    FN_NAK,
    MAX_PAYLOAD_BYTES,
    Ack,
    Frame,
    IdentifyQuery,
    Identity,
    Nak,
)
from firmware_protocols.hall_bus.hall_bus_fields import (
    HallBusError,
    PayloadReader,
    encode_text,
    u8_field,
)

FN_SHOW_CALL: Final = 0x40
FN_SHOW_PAUSED: Final = 0x41
FN_SHOW_IDLE: Final = 0x42
FN_SHOW_TEXT: Final = 0x43
FN_BOARD_TEXT: Final = 0x44
FN_BRIGHTNESS: Final = 0x45
FN_BLINK: Final = 0x46
FN_CLEAR: Final = 0x47
FN_STATUS: Final = 0x48

MAX_NUMBER_CHARS: Final = 8  # "A001", "VIP0012"
MAX_WINDOW_CHARS: Final = 16  # "12号窗口"
MAX_NAME_CHARS: Final = 8  # Chinese names are 2-4 characters; minority names run longer
MAX_POST_CHARS: Final = 16
MAX_STATE_TEXT_CHARS: Final = 16  # "暂停服务"
MAX_TEXT_CHARS: Final = 64
MAX_BOARD_LINES: Final = 16  # board line numbers 0-15
MAX_LINES_PER_FRAME: Final = 8
MAX_BOARD_LINE_CHARS: Final = 32
MAX_BLINK_SECONDS: Final = 60
MAX_BRIGHTNESS: Final = 100
MAX_REPLY_BYTES: Final = 64  # the longest LED reply (IDENTIFY, 32-character firmware) is 46
NO_LINE: Final = 0xFF
DEFAULT_PAUSED_TEXT: Final = "暂停服务"
_SCROLL: Final = 0x01


class StatusFlags(enum.IntFlag):
    """Bits of the STATUS reply's flags byte; bits 3-7 are reserved (0)."""

    BOOTED = 0x01  # powered up and shown nothing since: the master must resend the content
    MODULE_FAULT = 0x02  # a dead LED module or driver chip
    OVER_TEMPERATURE = 0x04


@dataclass(frozen=True)
class ShowCall:
    """Show a called ticket: its number and the window's text, blinking `blink_seconds`."""

    function: ClassVar[int] = FN_SHOW_CALL
    number: str
    window: str
    blink_seconds: int = 0

    def __post_init__(self) -> None:
        _check_blink(self.blink_seconds)
        encode_text(self.number, "number", MAX_NUMBER_CHARS)
        if not self.number.strip():  # led-strip.md: a call always shows its number
            raise HallBusError("a called number must not be empty or blank", field="number")
        encode_text(self.window, "window", MAX_WINDOW_CHARS)

    def encode(self) -> bytes:
        """Payload: blink seconds, number text, window text."""
        return (
            bytes((self.blink_seconds,))
            + encode_text(self.number, "number", MAX_NUMBER_CHARS)
            + encode_text(self.window, "window", MAX_WINDOW_CHARS)
        )

    @classmethod
    def decode(cls, payload: bytes) -> ShowCall:
        """A SHOW_CALL payload; HallBusError if malformed."""
        reader = PayloadReader(payload)
        blink = reader.u8("blink_seconds")
        number = reader.text("number", MAX_NUMBER_CHARS)
        window = reader.text("window", MAX_WINDOW_CHARS)
        reader.end()
        return cls(number, window, blink)


@dataclass(frozen=True)
class ShowPaused:
    """Show that the window does not serve now (暂停服务)."""

    function: ClassVar[int] = FN_SHOW_PAUSED
    text: str = DEFAULT_PAUSED_TEXT

    def __post_init__(self) -> None:
        encode_text(self.text, "text", MAX_STATE_TEXT_CHARS)

    def encode(self) -> bytes:
        """Payload: the text."""
        return encode_text(self.text, "text", MAX_STATE_TEXT_CHARS)

    @classmethod
    def decode(cls, payload: bytes) -> ShowPaused:
        """A SHOW_PAUSED payload; HallBusError if malformed."""
        reader = PayloadReader(payload)
        text = reader.text("text", MAX_STATE_TEXT_CHARS)
        reader.end()
        return cls(text)


@dataclass(frozen=True)
class ShowIdle:
    """Show the staff member on duty (亮牌上岗): window text, name, post."""

    function: ClassVar[int] = FN_SHOW_IDLE
    window: str
    staff_name: str
    post: str = ""

    def __post_init__(self) -> None:
        self.encode()

    def encode(self) -> bytes:
        """Payload: window text, staff name, post."""
        return (
            encode_text(self.window, "window", MAX_WINDOW_CHARS)
            + encode_text(self.staff_name, "staff_name", MAX_NAME_CHARS)
            + encode_text(self.post, "post", MAX_POST_CHARS)
        )

    @classmethod
    def decode(cls, payload: bytes) -> ShowIdle:
        """A SHOW_IDLE payload; HallBusError if malformed."""
        reader = PayloadReader(payload)
        window = reader.text("window", MAX_WINDOW_CHARS)
        name = reader.text("staff_name", MAX_NAME_CHARS)
        post = reader.text("post", MAX_POST_CHARS)
        reader.end()
        return cls(window, name, post)


@dataclass(frozen=True)
class ShowText:
    """Show free text (a notice, 窗口关闭); `scroll` when it is wider than the display."""

    function: ClassVar[int] = FN_SHOW_TEXT
    text: str
    scroll: bool = False

    def __post_init__(self) -> None:
        encode_text(self.text, "text", MAX_TEXT_CHARS)

    def encode(self) -> bytes:
        """Payload: flags (bit 0 scroll), text."""
        flags = _SCROLL if self.scroll else 0
        return bytes((flags,)) + encode_text(self.text, "text", MAX_TEXT_CHARS)

    @classmethod
    def decode(cls, payload: bytes) -> ShowText:
        """A SHOW_TEXT payload; HallBusError if malformed or a reserved flag is set."""
        reader = PayloadReader(payload)
        flags = reader.u8("flags")
        if flags & ~_SCROLL:
            raise HallBusError(f"reserved flag bits {flags:#04x}", field="flags", offset=0)
        text = reader.text("text", MAX_TEXT_CHARS)
        reader.end()
        return cls(text, bool(flags & _SCROLL))


@dataclass(frozen=True)
class BoardText:
    """Replace board lines first_line.. with `lines`; other lines stay; one may blink."""

    function: ClassVar[int] = FN_BOARD_TEXT
    lines: tuple[str, ...]
    first_line: int = 0
    blink_line: int | None = None
    blink_seconds: int = 0

    def __post_init__(self) -> None:
        count, first = len(self.lines), self.first_line
        if not 1 <= count <= MAX_LINES_PER_FRAME:
            raise HallBusError(f"{count} lines, 1-{MAX_LINES_PER_FRAME} a frame", field="lines")
        if first < 0 or first + count > MAX_BOARD_LINES:
            raise HallBusError(f"lines {first}-{first + count - 1} outside 0-15", field="lines")
        blink = self.blink_line
        if blink is not None and not first <= blink < first + count:
            raise HallBusError(f"line {blink} is not among those sent", field="blink_line")
        _check_blink(self.blink_seconds)
        if len(self.encode()) > MAX_PAYLOAD_BYTES:
            raise HallBusError(f"over {MAX_PAYLOAD_BYTES} bytes: send fewer lines", field="lines")

    def encode(self) -> bytes:
        """Payload: first line, blink line (0xFF none), blink seconds, count, the line texts."""
        blink = NO_LINE if self.blink_line is None else self.blink_line
        head = bytes((self.first_line, blink, self.blink_seconds, len(self.lines)))
        return head + b"".join(
            encode_text(line, f"lines[{i}]", MAX_BOARD_LINE_CHARS)
            for i, line in enumerate(self.lines)
        )

    @classmethod
    def decode(cls, payload: bytes) -> BoardText:
        """A BOARD_TEXT payload; HallBusError if malformed."""
        reader = PayloadReader(payload)
        first, blink = reader.u8("first_line"), reader.u8("blink_line")
        seconds, count = reader.u8("blink_seconds"), reader.u8("count")
        if count > MAX_LINES_PER_FRAME:
            raise HallBusError(f"{count} lines", field="count", offset=3)
        lines = tuple(reader.text(f"lines[{i}]", MAX_BOARD_LINE_CHARS) for i in range(count))
        reader.end()
        return cls(lines, first, None if blink == NO_LINE else blink, seconds)


@dataclass(frozen=True)
class SetBrightness:
    """Brightness in percent of the display's maximum; 0 darkens it and keeps the content."""

    function: ClassVar[int] = FN_BRIGHTNESS
    percent: int

    def __post_init__(self) -> None:
        u8_field(self.percent, "percent", 0, MAX_BRIGHTNESS)

    def encode(self) -> bytes:
        """Payload: one byte, 0-100."""
        return bytes((self.percent,))

    @classmethod
    def decode(cls, payload: bytes) -> SetBrightness:
        """A BRIGHTNESS payload; HallBusError if malformed."""
        reader = PayloadReader(payload)
        percent = reader.u8("percent")
        reader.end()
        return cls(percent)


@dataclass(frozen=True)
class Blink:
    """Blink what is shown for `seconds` (0 stops blinking)."""

    function: ClassVar[int] = FN_BLINK
    seconds: int

    def __post_init__(self) -> None:
        _check_blink(self.seconds)

    def encode(self) -> bytes:
        """Payload: one byte, 0-60."""
        return bytes((self.seconds,))

    @classmethod
    def decode(cls, payload: bytes) -> Blink:
        """A BLINK payload; HallBusError if malformed."""
        reader = PayloadReader(payload)
        seconds = reader.u8("seconds")
        reader.end()
        return cls(seconds)


@dataclass(frozen=True)
class Clear:
    """Blank the display (every board line)."""

    function: ClassVar[int] = FN_CLEAR

    def encode(self) -> bytes:
        """The empty payload."""
        return b""

    @classmethod
    def decode(cls, payload: bytes) -> Clear:
        """A CLEAR payload (empty)."""
        PayloadReader(payload).end()
        return cls()


@dataclass(frozen=True)
class StatusQuery:
    """STATUS request (empty payload): what the display shows and whether it is healthy."""

    function: ClassVar[int] = FN_STATUS

    def encode(self) -> bytes:
        """The empty payload."""
        return b""

    @classmethod
    def decode(cls, payload: bytes) -> StatusQuery:
        """A STATUS request payload (empty)."""
        PayloadReader(payload).end()
        return cls()


@dataclass(frozen=True)
class StatusReply:
    """STATUS reply: flags, brightness, the function and seq that set the content, geometry."""

    function: ClassVar[int] = FN_STATUS
    flags: StatusFlags
    brightness: int
    content: int  # 0 = blank, else the content function (0x40-0x44) last executed
    content_seq: int
    lines: int
    columns: int

    def __post_init__(self) -> None:
        if self.flags & ~0x07:
            raise HallBusError(f"reserved flag bits {int(self.flags):#04x}", field="flags")
        u8_field(self.brightness, "brightness", 0, MAX_BRIGHTNESS)
        if self.content not in (0, *CONTENT_FUNCTIONS):
            raise HallBusError(f"content {self.content:#04x} is not a content function")
        u8_field(self.content_seq, "content_seq")
        u8_field(self.lines, "lines", 1, MAX_BOARD_LINES)
        u8_field(self.columns, "columns", 1, 0xFF)

    def encode(self) -> bytes:
        """Payload: flags, brightness, content, content seq, lines, columns (6 bytes)."""
        values = (self.flags, self.brightness, self.content, self.content_seq)
        return bytes((*values, self.lines, self.columns))

    @classmethod
    def decode(cls, payload: bytes) -> StatusReply:
        """A STATUS reply payload; HallBusError if malformed."""
        reader = PayloadReader(payload)
        fields = [reader.u8(name) for name in ("flags", "brightness", "content", "content_seq")]
        lines, columns = reader.u8("lines"), reader.u8("columns")
        reader.end()
        flags, brightness, content, seq = fields
        return cls(StatusFlags(flags), brightness, content, seq, lines, columns)


ContentCommand = ShowCall | ShowPaused | ShowIdle | ShowText | BoardText | Clear
LedCommand = ContentCommand | SetBrightness | Blink
LedRequest = LedCommand | StatusQuery | IdentifyQuery
LedReply = Ack | Nak | StatusReply | Identity
CONTENT_FUNCTIONS: Final = (
    FN_SHOW_CALL,
    FN_SHOW_PAUSED,
    FN_SHOW_IDLE,
    FN_SHOW_TEXT,
    FN_BOARD_TEXT,
    FN_CLEAR,
)
_REQUESTS: Final[dict[int, type[LedRequest]]] = {
    cls.function: cls
    for cls in (
        ShowCall,
        ShowPaused,
        ShowIdle,
        ShowText,
        BoardText,
        SetBrightness,
        Blink,
        Clear,
        StatusQuery,
        IdentifyQuery,
    )
}

REQUEST_FUNCTIONS: Final = frozenset(_REQUESTS)


def request_frame(request: LedRequest, address: int, seq: int) -> Frame:
    """The frame carrying `request` to `address`; queries cannot be broadcast."""
    if address == BROADCAST and isinstance(request, StatusQuery | IdentifyQuery):
        raise HallBusError("a query needs a reply: it cannot be broadcast", field="address")
    return Frame(address, request.function, seq, request.encode())


def decode_request(frame: Frame) -> LedRequest:
    """What the controller asked a display to do; HallBusError if it is not an LED request."""
    if frame.reply:
        raise HallBusError("a reply, not a request", field="control")
    cls = _REQUESTS.get(frame.function)
    if cls is None:
        raise HallBusError(f"function {frame.function:#04x} is not an LED request")
    return cls.decode(frame.payload)


def decode_reply(frame: Frame) -> LedReply:
    """What a display answered: ACK, NAK, STATUS or IDENTIFY reply; HallBusError otherwise."""
    if not frame.reply:
        raise HallBusError("a request, not a reply", field="control")
    if frame.function == FN_ACK:
        return Ack.decode(frame.payload)
    if frame.function == FN_NAK:
        return Nak.decode(frame.payload)
    if frame.function == FN_STATUS:
        return StatusReply.decode(frame.payload)
    if frame.function == FN_IDENTIFY:
        return Identity.decode(frame.payload)
    raise HallBusError(f"function {frame.function:#04x} is not an LED reply")


def _check_blink(seconds: int) -> None:
    u8_field(seconds, "blink_seconds", 0, MAX_BLINK_SECONDS)
