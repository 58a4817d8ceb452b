"""The LED display role: what the hall needs from a window strip or board and from its bus owner."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal, Protocol

from controller.domain.alerts import Alert
from controller.domain.errors import HallError
from devices.led.led_config import LedBusConfig
from display.led_content import LedContent

Target = int | Literal["board"]


@dataclass(frozen=True)
class LedDisplayHealth:
    """A display's state as its bus owner sees it; `available` None = not asked yet."""

    available: bool | None
    detail: str = ""
    faults: tuple[str, ...] = ()
    firmware: str = ""
    frames_sent: int = 0
    retries: int = 0
    naks: int = 0
    resyncs: int = 0
    probes: int = 0  # STATUS probes sent (first tries)


class LedBusError(HallError):
    """An LED bus cannot be used (port missing, bad URL); `bus` names it."""

    def __init__(self, bus: str, reason: str) -> None:
        self.bus = bus
        self.reason = reason
        super().__init__(f"LED bus {bus}: {reason}")


class LedDisplay(Protocol):
    """One LED window strip or board; never blocks the caller, never raises for a dead display."""

    @property
    def id(self) -> str:
        """ "BUS:ADDRESS", unique in the hall."""
        ...

    @property
    def target(self) -> Target:
        """The window number it hangs above, or "board"."""
        ...

    @property
    def lines(self) -> int:
        """Text lines it shows."""
        ...

    @property
    def columns(self) -> int:
        """Half-width columns per line (a Chinese character takes 2)."""
        ...

    def show(self, contents: Sequence[LedContent]) -> None:
        """Show `contents` in turn; dropped while unavailable (a resync follows its return)."""
        ...

    def resync(self) -> None:
        """Show the hall's current state again as soon as possible (after lost events)."""
        ...

    def health(self) -> LedDisplayHealth:
        """What the bus owner knows of it now."""
        ...


class LedDriver(Protocol):
    """The owner of one LED bus (a port and its displays), whatever protocol it speaks."""

    @property
    def config(self) -> LedBusConfig:
        """The bus it owns, as configured."""
        ...

    @property
    def displays(self) -> list[LedDisplay]:
        """Every display on the bus, in configured order."""
        ...

    def alerts(self) -> list[Alert]:
        """Floor alerts: displays not answering or reporting a fault, a port that will not open."""
        ...

    def start(self) -> object:
        """Start serving (probe, then resync, every display)."""
        ...

    def stop(self) -> None:
        """Stop serving and close the port; safe to call twice."""
        ...
