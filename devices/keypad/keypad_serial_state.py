"""What a keypad bus owner knows of each keypad on its line, as rows and floor alerts."""

from __future__ import annotations

import datetime as dt
import random
from dataclasses import dataclass, field
from typing import Literal

from controller.domain.alerts import Alert, AlertKind
from firmware_protocols.hall_bus.hall_bus import Identity
from firmware_protocols.keypad.keypad_serial import DisplayState, PollAnswer, Press

COUNTERS = (
    "polls",
    "frames_sent",
    "retries",
    "presses",
    "resends",
    "bad_presses",
    "bad_replies",
    "handler_errors",
    "displays",
    "resyncs",
    "reboots",
    "naks",
    "held",
)
_ONLINE = {"unknown": None, "online": True, "offline": False}


@dataclass
class KeypadOnBus:
    """One keypad as its bus owner sees it; changed by the bus thread, read under the bus lock."""

    address: int
    window: int
    device_id: str
    seq: int = field(default_factory=lambda: random.randrange(256))  # fresh after a restart
    state: Literal["unknown", "online", "offline"] = "unknown"
    detail: str = "not asked yet"
    next_poll: float = 0.0
    last_seen: dt.datetime | None = None
    boot_id: int | None = None
    identity: Identity | None = None
    needs_identify: bool = True
    version: int = 1  # the keypad-serial version spoken to it: version 1 until IDENTIFY says more
    shown: DisplayState | None = None  # the state it acknowledged last; None: to be resynced
    answer: PollAnswer | None = None  # rides on the next poll
    last_answer: PollAnswer | None = None  # the answer to the press handled last
    last_press: Press | None = None  # that press: a resend repeats it byte for byte (section 4)
    counters: dict[str, int] = field(default_factory=lambda: dict.fromkeys(COUNTERS, 0))

    @property
    def offline(self) -> bool:
        """Whether it stopped answering."""
        return self.state == "offline"

    def next_seq(self) -> int:
        """A new hall bus sequence number for a new frame (a resend keeps the old one)."""
        self.seq = (self.seq + 1) & 0xFF
        return self.seq

    def row(self, bus: str) -> dict[str, object]:
        """Its line in `keypads()`: device_id, window, online (None: not asked yet), last_seen, ..."""
        return {
            "device_id": self.device_id,
            "window": self.window,
            "online": _ONLINE[self.state],
            "last_seen": self.last_seen,
            "firmware": self.identity.firmware if self.identity else None,
            "boot_id": f"{self.boot_id:08x}" if self.boot_id is not None else None,
            "bus": bus,
            "address": self.address,
            "detail": self.detail,
        }

    def alert(self, bus: str) -> Alert:
        """The floor alert while it is offline."""
        return Alert(
            AlertKind.KEYPAD_OFFLINE,
            f"{self.window}号窗口评价器离线（{self.device_id}）",
            bus=bus,
            address=self.address,
            window=self.window,
            device=self.device_id,
        )
