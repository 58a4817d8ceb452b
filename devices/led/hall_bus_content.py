"""The hall bus LED driver's encoder: protocol-neutral display content -> hall bus LED commands.

Texts are cut to the codec's caps here (docs/protocols/led-strip.md); a board's lines go in as
few BOARD_TEXT frames as fit the frame size.
"""

from __future__ import annotations

from collections.abc import Sequence

from display.led_content import (
    BlankShown,
    BoardShown,
    CallShown,
    IdleShown,
    LedContent,
    PausedShown,
)
from firmware_protocols.hall_bus.hall_bus_fields import HallBusError
from firmware_protocols.led.led_strip import (
    MAX_LINES_PER_FRAME,
    MAX_NAME_CHARS,
    MAX_NUMBER_CHARS,
    MAX_POST_CHARS,
    MAX_STATE_TEXT_CHARS,
    MAX_WINDOW_CHARS,
    BoardText,
    Clear,
    LedCommand,
    ShowCall,
    ShowIdle,
    ShowPaused,
)


def encode_content(content: LedContent) -> list[LedCommand]:
    """The hall bus commands that make a display show `content`, in order."""
    if isinstance(content, CallShown):
        number = content.number[:MAX_NUMBER_CHARS]
        return [ShowCall(number, content.window[:MAX_WINDOW_CHARS], content.blink_seconds)]
    if isinstance(content, IdleShown):
        window = content.window[:MAX_WINDOW_CHARS]
        name, post = content.staff_name[:MAX_NAME_CHARS], content.post[:MAX_POST_CHARS]
        return [ShowIdle(window, name, post)]
    if isinstance(content, PausedShown):
        return [ShowPaused(content.text[:MAX_STATE_TEXT_CHARS])]
    if isinstance(content, BlankShown):
        return [Clear()]
    return list(board_frames(content))


def encode_all(contents: Sequence[LedContent]) -> list[LedCommand]:
    """The commands for several contents, in order."""
    return [command for content in contents for command in encode_content(content)]


def board_frames(board: BoardShown) -> list[BoardText]:
    """Every board line as BOARD_TEXT frames (as few as fit); line 0 blinks `blink_seconds`."""
    texts = board.lines
    blink_seconds = board.blink_seconds
    frames: list[BoardText] = []
    first = 0
    while first < len(texts):
        count = min(MAX_LINES_PER_FRAME, len(texts) - first)
        blink = 0 if first == 0 and blink_seconds else None
        while True:
            try:
                frame = BoardText(
                    tuple(texts[first : first + count]),
                    first,
                    blink,
                    blink_seconds if blink == 0 else 0,
                )
                break
            except HallBusError:  # over the frame size (long Chinese lines): fewer per frame
                if count == 1:
                    raise
                count -= 1
        frames.append(frame)
        first += count
    return frames
