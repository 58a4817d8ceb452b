"""What the MQTT keypad driver knows of each keypad, and how it quotes a keypad's payloads."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

EXCERPT = 120  # characters of a bad payload quoted in the log
MAX_LOGGED_PAYLOAD = 512  # characters of a refused payload handed to the press log


@dataclass
class KeypadSeen:
    """One configured keypad as its retained state and events showed it."""

    device_id: str
    window: int
    online: bool | None = None  # None: no state heard yet
    last_seen: dt.datetime | None = None
    firmware: str | None = None
    boot_id: str | None = None
    model: str | None = None
    reasons_table: int | None = None  # the reason table its firmware ships, if it said


def payload_text(payload: bytes) -> str:
    """The payload as text for the press log: UTF-8 as is, anything else as hex; capped."""
    try:
        text = payload.decode("utf-8")
    except UnicodeDecodeError:
        text = "hex " + payload.hex(" ")
    return text[:MAX_LOGGED_PAYLOAD]


def excerpt(text: str) -> str:
    """A payload's text cut to a readable length for the log."""
    return f"payload {text[:EXCERPT]!r}{'…' if len(text) > EXCERPT else ''}"
