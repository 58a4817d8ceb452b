"""The newest state snapshot the hub handed a subscriber, for devices that resync on their own."""

from __future__ import annotations

import threading
from typing import Any

from controller.app.hub import State


class LatestState:
    """Holds the last state handed with an event batch; a rebooted strip is resynced from it."""

    def __init__(self, initial: State) -> None:
        self._state = initial
        self._lock = threading.Lock()

    def set(self, state: State) -> None:
        """Remember the state handed with the newest batch."""
        with self._lock:
            self._state = state

    def get(self) -> State:
        """The newest state handed (the initial one before any batch)."""
        with self._lock:
            return self._state

    def __call__(self) -> State:
        """The same as `get`, for device drivers that take a plain snapshot source."""
        return self.get()


def windows_of(state: State) -> list[dict[str, Any]]:
    """The window views of a state snapshot."""
    return list(state["windows"])
