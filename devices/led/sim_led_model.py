"""The inside of a simulated LED strip or board: the real codec from the display's side.

It executes requests the way docs/protocols/led-strip.md asks of a display (repeat filter,
NAKs, the BOOTED flag), keeps what it shows as text, draws it as a dot-matrix PNG and has the
fault switches the driver tests need. The line and its thread are in devices/rs485/sim_line.py.
"""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from PIL import Image, ImageDraw, ImageFont

from devices.printer.ticket_png import find_cjk_font
from devices.rs485.sim_faults import LineFaults, Refused, faulty_reply, read_request
from display.led_text import display_width
from firmware_protocols.hall_bus.hall_bus import (
    BROADCAST,
    FN_ACK,
    FN_NAK,
    PROTOCOL_VERSION,
    Ack,
    DeviceClass,
    Frame,
    IdentifyQuery,
    Identity,
    Nak,
    NakReason,
    RepeatFilter,
    reply_to,
)
from firmware_protocols.led.led_strip import (
    FN_STATUS,
    REQUEST_FUNCTIONS,
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
    decode_request,
)

DOT_PX = 6  # one LED of the matrix in the PNG
_LED_ON = (255, 48, 16)  # red-orange, the usual single-colour hall strip
_LED_OFF = (40, 12, 8)


@dataclass
class StripFaults(LineFaults):
    """Fault switches of one simulated display (the line's, and these); all off by default."""

    refuse: NakReason | None = None  # NAK every command with this reason
    busy_for: int = 0  # NAK the next N commands BUSY (a redraw in progress), then take them


@dataclass(frozen=True)
class Executed:
    """A request the display executed (not a resent repeat), when and under which seq.

    `at` is when its last byte arrived on the (paced) line, `handled` when the display's
    thread got to it; both are time.monotonic() readings.
    """

    at: float
    seq: int
    request: LedRequest
    broadcast: bool = False
    handled: float = 0.0


class SimLedStrip:
    """A simulated window strip (or, with `board=True`, a multi-line board) at one address."""

    def __init__(
        self,
        address: int,
        *,
        board: bool = False,
        lines: int = 1,
        columns: int = 16,
        firmware: str = "sim-led 1.0",
        seed: int = 0,
    ) -> None:
        self.address = address
        self.board = board
        self.lines_count = lines
        self.columns = columns
        self.firmware = firmware
        self.faults = StripFaults()
        self.executed: list[Executed] = []
        self.repeats = 0
        self.brightness = 100
        self.blink_until = 0.0
        self._rng = random.Random(seed)
        self._repeats = RepeatFilter()
        self._lines: list[str] = [""] * lines
        self._content, self._content_seq = 0, 0
        self._shown: LedRequest | None = None
        self.booted = True
        self._changed = threading.Condition()

    @property
    def text(self) -> str:
        """What the display shows: its lines joined by newlines, trailing blank lines dropped."""
        with self._changed:
            return "\n".join(self._lines).rstrip("\n")

    @property
    def content(self) -> LedRequest | None:
        """The last content command executed, or None while blank."""
        with self._changed:
            return self._shown

    def wait_until(self, check: Callable[[SimLedStrip], bool], timeout: float = 5.0) -> None:
        """Return once `check(self)` holds; TimeoutError (with the text shown) after `timeout`."""
        deadline = time.monotonic() + timeout
        with self._changed:
            while not check(self):
                left = deadline - time.monotonic()
                if left <= 0:
                    raise TimeoutError(f"display {self.address} shows {self.text!r}")
                self._changed.wait(min(left, 0.05))

    def wait_for_text(self, fragment: str, timeout: float = 5.0) -> str:
        """The text once it contains `fragment`; TimeoutError after `timeout`."""
        self.wait_until(lambda strip: fragment in strip.text, timeout)
        return self.text

    def power_cycle(self) -> None:
        """Power off and on: blank, full brightness, BOOTED set, the repeat memory forgotten."""
        with self._changed:
            self._lines = [""] * self.lines_count
            self._content, self._content_seq, self.brightness = 0, 0, 100
            self._shown = None
            self.booted, self.blink_until = True, 0.0
            self._repeats.forget()
            self._changed.notify_all()

    @property
    def reply_delay_seconds(self) -> float:
        """How long after a request's last byte its reply starts."""
        return self.faults.delay_seconds

    def handle(self, frame: Frame, at: float) -> bytes:
        """React to one frame heard on the line at time `at`; the bytes to send back (maybe none)."""
        faults = self.faults
        if faults.silent or frame.reply or frame.address not in (self.address, BROADCAST):
            return b""
        broadcast = frame.address == BROADCAST
        reply = self._execute(frame, at, broadcast)
        if reply is None or broadcast:
            return b""
        return faulty_reply(reply.encode(), faults, self._rng)

    def render_png(self, path: str | Path, *, font_path: str | Path | None = None) -> Path:
        """Draw the display as a dot matrix (8x16 LEDs per half-width column) to a PNG."""
        font = ImageFont.truetype(str(find_cjk_font(font_path)), 16)
        rows = _wrap(self.text.split("\n") if self.text else [""], self.columns, self.lines_count)
        width, height = self.columns * 8, 16 * len(rows)
        matrix = Image.new("1", (width, height), 0)
        draw = ImageDraw.Draw(matrix)
        for i, row in enumerate(rows):
            draw.text((0, 16 * i), row, font=font, fill=1)
        scale = self.brightness / 100
        lit = tuple(round(c * max(scale, 0.15)) for c in _LED_ON)
        picture = Image.new("RGB", (width * DOT_PX, height * DOT_PX), (0, 0, 0))
        dots = ImageDraw.Draw(picture)
        pixels = matrix.load()
        assert pixels is not None
        for y in range(height):
            for x in range(width):
                box = (x * DOT_PX + 1, y * DOT_PX + 1, (x + 1) * DOT_PX - 1, (y + 1) * DOT_PX - 1)
                dots.ellipse(box, fill=lit if pixels[x, y] and scale > 0 else _LED_OFF)
        target = Path(path)
        target.parent.mkdir(parents=True, exist_ok=True)
        picture.save(target, format="PNG")
        return target

    # --- the display's firmware ---

    def _execute(self, frame: Frame, at: float, broadcast: bool) -> Frame | None:
        request = read_request(frame, decode_request, REQUEST_FUNCTIONS)
        if isinstance(request, Refused):
            if broadcast:
                return None
            if request.reason is NakReason.UNSUPPORTED_VERSION:
                return request.reply  # in version 1, which every master reads
            return self._nak(frame, request.reason)  # the firmware's own NAK (a subclass's too)
        if isinstance(request, StatusQuery):
            return None if broadcast else reply_to(frame, FN_STATUS, self._status().encode())
        if isinstance(request, IdentifyQuery):
            kind = DeviceClass.LED_BOARD if self.board else DeviceClass.LED_STRIP
            identity = Identity(kind, PROTOCOL_VERSION, self.firmware)
            return None if broadcast else reply_to(frame, frame.function, identity.encode())
        if self.faults.refuse is not None:
            return self._nak(frame, self.faults.refuse)
        if self.faults.busy_for > 0 and not broadcast:
            self.faults.busy_for -= 1
            return self._nak(frame, NakReason.BUSY)
        if isinstance(request, BoardText) and not self.board:
            return self._nak(frame, NakReason.NOT_SUPPORTED)
        with self._changed:
            if self._repeats.is_repeat(frame):
                self.repeats += 1  # resent because our reply was lost: answer, do not redo
            else:
                self._apply(request, frame.seq, at)
                done = Executed(at, frame.seq, request, broadcast, time.monotonic())
                self.executed.append(done)
            self._changed.notify_all()
        return None if broadcast else reply_to(frame, FN_ACK, Ack(frame.function).encode())

    def _apply(self, request: LedRequest, seq: int, at: float) -> None:
        if isinstance(request, SetBrightness):
            self.brightness = request.percent
            return
        if isinstance(request, Blink):
            self.blink_until = at + request.seconds
            return
        lines = [""] * self.lines_count
        if isinstance(request, ShowCall):
            lines[0] = f"请{request.number}号到{request.window}"
            self.blink_until = at + request.blink_seconds
        elif isinstance(request, ShowPaused | ShowText):
            lines[0] = request.text
        elif isinstance(request, ShowIdle):
            lines[0] = " ".join(p for p in (request.window, request.staff_name, request.post) if p)
        elif isinstance(request, BoardText):
            lines = list(self._lines)
            for i, line in enumerate(request.lines):
                if request.first_line + i < self.lines_count:
                    lines[request.first_line + i] = line
            if request.blink_line is not None:
                self.blink_until = at + request.blink_seconds
        self._lines = lines
        self._content = 0 if isinstance(request, Clear) else request.function
        self._shown = None if isinstance(request, Clear) else request
        self._content_seq = seq
        self.booted = False

    def _status(self) -> StatusReply:
        flags = StatusFlags.BOOTED if self.booted else StatusFlags(0)
        return StatusReply(
            flags, self.brightness, self._content, self._content_seq, self.lines_count, self.columns
        )

    def _nak(self, frame: Frame, reason: NakReason, detail: int = 0) -> Frame:
        return reply_to(frame, FN_NAK, Nak(frame.function, reason, detail).encode())


def _wrap(lines: list[str], columns: int, minimum: int) -> list[str]:
    rows: list[str] = []
    for line in lines:
        row = ""
        for char in line:
            if display_width(row + char) > columns:
                rows.append(row)
                row = ""
            row += char
        rows.append(row)
    return rows + [""] * (minimum - len(rows))
