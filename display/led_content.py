"""What an LED strip or board should show, in no device protocol's terms: a driver encodes it.

`display/led_text.py` computes it from the state snapshot and the events; each LED protocol's
driver turns it into its own frames (the hall bus: devices/led/hall_bus_content.py), cutting
texts to its own limits.
"""

from __future__ import annotations

from dataclasses import dataclass

DEFAULT_PAUSED_TEXT = "暂停服务"


@dataclass(frozen=True)
class CallShown:
    """A call: "请{number}号到{window}", blinking `blink_seconds` (0: steady, being served)."""

    number: str
    window: str  # the window's label, "3号窗口"
    blink_seconds: int = 0


@dataclass(frozen=True)
class IdleShown:
    """A window open and waiting: its label, the staff member's name and post."""

    window: str
    staff_name: str
    post: str


@dataclass(frozen=True)
class PausedShown:
    """A window that does not serve now (paused, or nobody signed in)."""

    text: str = DEFAULT_PAUSED_TEXT


@dataclass(frozen=True)
class BlankShown:
    """Nothing: the window is closed or not in the hall."""


@dataclass(frozen=True)
class BoardShown:
    """Every line of a board, top first; line 0 (the latest call) blinks `blink_seconds`."""

    lines: tuple[str, ...]
    blink_seconds: int = 0


StripContent = CallShown | IdleShown | PausedShown | BlankShown
LedContent = StripContent | BoardShown
