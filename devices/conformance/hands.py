"""Who presses the keys and switches the power while a kit runs: a person, a simulated twin, nobody.

Some clauses need something done to the device (a key pressed, a power cycle). Against a real
device a person does it when the kit asks (`OperatorHands`); against a simulated twin the kit
does it itself; with no hands (an unattended run) those clauses are skipped, never guessed.
"""

from __future__ import annotations

import sys
from typing import Protocol, TextIO


class Hands(Protocol):
    """Acts on the device under test; each call returns at once, the kit watches for the effect."""

    def press(self, key: str, *, rating: str | None = None) -> None:
        """Press `key` once (`rate` with `rating`)."""

    def power_cycle(self) -> None:
        """Switch the device off and on again (a new boot)."""


_KEY_NAMES = {
    "next": "NEXT (叫号)",
    "rate": "the rating key",
}
_RATING_NAMES = {
    "very_satisfied": "非常满意 (very satisfied)",
    "very_dissatisfied": "非常不满意 (very dissatisfied)",
}


class OperatorHands:
    """Asks the person at the bench to act, on `out` (the terminal)."""

    def __init__(self, out: TextIO | None = None) -> None:
        self._out = out or sys.stdout

    def press(self, key: str, *, rating: str | None = None) -> None:
        """Ask for one key press."""
        name = _KEY_NAMES.get(key, key)
        if rating is not None:
            name = f"{name} {_RATING_NAMES.get(rating, rating)}"
        self._say(f"ACTION: press {name} once on the device now")

    def power_cycle(self) -> None:
        """Ask for a power cycle."""
        self._say("ACTION: switch the device off, wait 3 seconds, switch it on again")

    def _say(self, text: str) -> None:
        print(text, file=self._out, flush=True)
