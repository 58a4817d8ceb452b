"""What an LED window strip or board shows, as LED commands computed from the state snapshot."""

from __future__ import annotations

import unicodedata
from collections.abc import Mapping
from typing import Any

from firmware_protocols.hall_bus.hall_bus_fields import HallBusError
from firmware_protocols.led.led_strip import (
    MAX_BOARD_LINE_CHARS,
    MAX_LINES_PER_FRAME,
    MAX_NAME_CHARS,
    MAX_NUMBER_CHARS,
    MAX_POST_CHARS,
    MAX_WINDOW_CHARS,
    BoardText,
    Clear,
    ContentCommand,
    ShowCall,
    ShowIdle,
    ShowPaused,
)

Snapshot = Mapping[str, Any]
_ENTRY_GAP = "  "


def window_label(window: int) -> str:
    """The window's text on strips and boards: "3号窗口"."""
    return f"{window}号窗口"


def call_command(number: str, window: int, blink_seconds: int) -> ShowCall:
    """The strip command for a call (or recall) of `number` at `window`."""
    return ShowCall(_cut(number, MAX_NUMBER_CHARS), window_label(window), blink_seconds)


def window_command(view: Mapping[str, Any] | None, window: int) -> ContentCommand:
    """What window `window`'s strip shows for its snapshot view (None: not in the hall: blank)."""
    if view is None:
        return Clear()
    state = view.get("state")
    label = _cut(window_label(window), MAX_WINDOW_CHARS)
    if state == "serving" and view.get("current"):
        return ShowCall(_cut(str(view["current"]["number"]), MAX_NUMBER_CHARS), label, 0)
    if state == "idle" and view.get("staff"):
        staff = view["staff"]
        name = _cut(str(staff.get("name") or ""), MAX_NAME_CHARS)
        return ShowIdle(label, name, _cut(str(staff.get("post") or ""), MAX_POST_CHARS))
    if state == "closed":
        return Clear()
    return ShowPaused()  # paused, or nobody signed in: the window does not serve now


def strip_commands(snapshot: Snapshot, window: int) -> list[ContentCommand]:
    """The commands that bring window `window`'s strip to the current state."""
    return [window_command(find_window(snapshot, window), window)]


def board_lines(snapshot: Snapshot, *, lines: int, columns: int) -> list[str]:
    """The board's text: the latest call first, then every open window's state, packed."""
    width = min(columns, 2 * MAX_BOARD_LINE_CHARS)
    calls = snapshot.get("recent_calls") or []
    if calls:
        latest = calls[0]  # newest first
        head = f"请{latest['number']}号到{window_label(int(latest['window']))}"
    else:
        head = str(snapshot.get("hall", {}).get("name") or "")
    out = [fit(head, width)]
    row = ""
    for view in snapshot.get("windows") or []:
        entry = _board_entry(view)
        if entry is None:
            continue
        joined = f"{row}{_ENTRY_GAP}{entry}" if row else entry
        if display_width(joined) <= width:
            row = joined
            continue
        out.append(fit(row, width))
        row = entry
    if row:
        out.append(fit(row, width))
    out = out[:lines]
    return out + [""] * (lines - len(out))


def board_commands(
    snapshot: Snapshot, *, lines: int, columns: int, blink_seconds: int = 0
) -> list[BoardText]:
    """Every board line as BOARD_TEXT frames (as few as fit); line 0 blinks `blink_seconds`."""
    texts = board_lines(snapshot, lines=lines, columns=columns)
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


def find_window(snapshot: Snapshot, window: int) -> Mapping[str, Any] | None:
    """The snapshot's view of window `window`, or None."""
    for view in snapshot.get("windows") or []:
        if view.get("number") == window:
            return dict(view)
    return None


def display_width(text: str) -> int:
    """Columns `text` takes on an LED display: 1 for ASCII and half-width, 2 for the rest."""
    return sum(1 if char.isascii() or _half_width(char) else 2 for char in text)


def fit(text: str, columns: int, max_chars: int = MAX_BOARD_LINE_CHARS) -> str:
    """`text` cut to `columns` display columns and `max_chars` characters."""
    out: list[str] = []
    used = 0
    for char in text[:max_chars]:
        used += display_width(char)
        if used > columns:
            break
        out.append(char)
    return "".join(out)


def _board_entry(view: Mapping[str, Any]) -> str | None:
    state, number = view.get("state"), view.get("number")
    if state == "closed":
        return None
    if state == "serving" and view.get("current"):
        return f"{number}号{view['current']['number']}"
    if state == "idle":
        return f"{number}号空闲"
    return f"{number}号暂停"


def _cut(text: str, max_chars: int) -> str:
    return "".join(c for c in text if c.isprintable())[:max_chars]


def _half_width(char: str) -> bool:
    return unicodedata.east_asian_width(char) in ("H", "Na", "N")
