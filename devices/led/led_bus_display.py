"""One display on an LED bus as the rest of the hall sees it: its handle and what is known of it.

The bus owner (`devices/led/led_bus.py`) serves every handle from its own thread; a handle only
queues work on it and reads its state under the bus's lock.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Literal

from devices.led.hall_bus_content import encode_all
from devices.led.led_config import BOARD, LedStripConfig
from devices.led.led_display import LedDisplayHealth, Target
from display.led_content import LedContent
from firmware_protocols.hall_bus.hall_bus import Identity
from firmware_protocols.led.led_strip import LedCommand

if TYPE_CHECKING:
    from devices.led.led_bus import LedBus


@dataclass
class BusJob:
    """Work for the bus thread: commands to send, a probe or a resync (`strip` None: broadcast)."""

    strip: BusDisplay | None  # None: broadcast
    kind: Literal["send", "probe", "resync"]
    commands: tuple[LedCommand, ...] = ()


@dataclass
class StripStats:
    """What the bus owner knows of one display: state, faults, identity and counters."""

    state: Literal["unknown", "online", "offline"] = "unknown"
    detail: str = "not asked yet"
    stale: bool = True  # must be brought to the current state when it next answers
    faults: tuple[str, ...] = ()
    identity: Identity | None = None
    counters: dict[str, int] = field(
        default_factory=lambda: {
            "frames_sent": 0,
            "retries": 0,
            "naks": 0,
            "resyncs": 0,
            "probes": 0,
        }
    )


class BusDisplay:
    """One display on a bus: the `LedDisplay` handle the subscriber talks to; the bus owns it."""

    def __init__(self, bus: LedBus, config: LedStripConfig) -> None:
        self.bus = bus
        self.config = config
        self.stats = StripStats()
        self.seq = random.randrange(256)  # a fresh start after a controller restart (doc §seq)

    @property
    def id(self) -> str:
        """ "BUS:ADDRESS"."""
        return f"{self.bus.config.id}:{self.config.address}"

    @property
    def target(self) -> Target:
        """The window number, or "board"."""
        return self.config.window

    @property
    def lines(self) -> int:
        """Text lines."""
        return self.config.lines

    @property
    def columns(self) -> int:
        """Half-width columns."""
        return self.config.columns

    @property
    def label(self) -> str:
        """Its name on the floor: "3号窗口条屏" or "综合屏"."""
        window = self.config.window
        return "综合屏" if window == BOARD else f"{window}号窗口条屏"

    def show(self, contents: Sequence[LedContent]) -> None:
        """Queue `contents` as hall bus commands, in order; dropped while unavailable."""
        commands = encode_all(contents)
        if commands:
            self.bus._enqueue(BusJob(self, "send", tuple(commands)))

    def resync(self) -> None:
        """Show the current state again as soon as possible."""
        self.bus._enqueue(BusJob(self, "resync"))

    def health(self) -> LedDisplayHealth:
        """What the bus owner knows of this display now."""
        with self.bus._cond:
            stats = self.stats
            available = {"unknown": None, "online": True, "offline": False}[stats.state]
            return LedDisplayHealth(
                available=available,
                detail=stats.detail,
                faults=stats.faults,
                firmware=stats.identity.firmware if stats.identity else "",
                **stats.counters,
            )

    def next_seq(self) -> int:
        """A new sequence number for a new frame (a resend keeps the old one)."""
        self.seq = (self.seq + 1) & 0xFF
        return self.seq
