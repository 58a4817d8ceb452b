"""The ticket printer role: what the ticket machine needs from any printer, real or simulated."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from controller.domain.errors import HallError


@dataclass(frozen=True)
class PrinterHealth:
    """A printer's state from its own status replies; `ready` None means unknown (no reply)."""

    ready: bool | None
    paper_near_end: bool = False
    detail: str = ""

    @classmethod
    def unknown(cls, detail: str) -> PrinterHealth:
        """No reply, or a reply that made no sense: never treated as OK."""
        return cls(ready=None, detail=detail)


class PrinterError(HallError):
    """A printer could not take or finish a ticket; `device` names the printer."""

    def __init__(self, device: str, reason: str) -> None:
        self.device = device
        self.reason = reason
        super().__init__(f"printer {device}: {reason}")


class TicketPrinter(Protocol):
    """One thermal printer at a ticket machine."""

    @property
    def id(self) -> str:
        """The printer's configured id."""
        ...

    def health(self) -> PrinterHealth:
        """Ask the printer itself (DLE EOT); unknown when it does not answer in time."""
        ...

    def print_bytes(self, data: bytes) -> None:
        """Send a whole ticket; PrinterError if the transport fails or times out."""
        ...

    def close(self) -> None:
        """Release the transport."""
        ...
