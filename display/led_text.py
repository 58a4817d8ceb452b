"""What an LED window strip or board shows, computed from the state snapshot (display/led_content.py)."""

from __future__ import annotations

import unicodedata
from collections.abc import Mapping
from typing import Any

from display.led_content import (
    BlankShown,
    BoardShown,
    CallShown,
    IdleShown,
    PausedShown,
    StripContent,
)
from firmware_protocols.led.led_strip import MAX_BOARD_LINE_CHARS

Snapshot = Mapping[str, Any]
_ENTRY_GAP = "  "


def window_label(window: int) -> str:
    """The window's text on strips and boards: "3号窗口"."""
    return f"{window}号窗口"


def call_content(number: str, window: int, blink_seconds: int) -> CallShown:
    """What a strip shows for a call (or recall) of `number` at `window`."""
    return CallShown(_printable(number), window_label(window), blink_seconds)


def window_content(view: Mapping[str, Any] | None, window: int) -> StripContent:
    """What window `window`'s strip shows for its snapshot view (None: not in the hall: blank)."""
    if view is None:
        return BlankShown()
    state = view.get("state")
    label = window_label(window)
    if state == "serving" and view.get("current"):
        return CallShown(_printable(str(view["current"]["number"])), label, 0)
    if state == "idle" and view.get("staff"):
        staff = view["staff"]
        name = _printable(str(staff.get("name") or ""))
        return IdleShown(label, name, _printable(str(staff.get("post") or "")))
    if state == "closed":
        return BlankShown()
    return PausedShown()  # paused, or nobody signed in: the window does not serve now


def strip_content(snapshot: Snapshot, window: int) -> StripContent:
    """What window `window`'s strip shows in the current state."""
    return window_content(find_window(snapshot, window), window)


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


def board_content(
    snapshot: Snapshot, *, lines: int, columns: int, blink_seconds: int = 0
) -> BoardShown:
    """What a board shows: `board_lines`, line 0 blinking `blink_seconds` after a call."""
    return BoardShown(tuple(board_lines(snapshot, lines=lines, columns=columns)), blink_seconds)


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


def _printable(text: str) -> str:
    return "".join(c for c in text if c.isprintable())


def _half_width(char: str) -> bool:
    return unicodedata.east_asian_width(char) in ("H", "Na", "N")
