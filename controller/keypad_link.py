"""Keeps every window keypad's screen in step with the hall: a hub subscriber per keypad port."""

from __future__ import annotations

import logging
from collections.abc import Sequence

from controller import events as ev
from controller.runtime import HallRuntime
from devices.keypad import KeypadDisplay, KeypadPort
from display.keypad_text import keypad_display, windows_touched

log = logging.getLogger(__name__)


class KeypadLink:
    """Pushes a window's keypad display whenever an event concerns that window."""

    def __init__(self, runtime: HallRuntime, ports: Sequence[KeypadPort]) -> None:
        self.runtime = runtime
        self.ports = list(ports)

    def start(self) -> KeypadLink:
        """Show every window's current state, then follow the hub."""
        self.resync()
        self.runtime.hub.subscribe("keypads", self.on_events)
        return self

    def resync(self) -> None:
        """Send every window's keypad its current state (start-up, or a keypad back online)."""
        for window in self.runtime.snapshot()["windows"]:
            self._show(keypad_display(window))

    def on_events(self, batch: Sequence[ev.Event]) -> None:
        """Hub callback: one display per window the batch touched."""
        touched = windows_touched(list(batch))
        if not touched:
            return
        views = {w["number"]: w for w in self.runtime.snapshot()["windows"]}
        for number, event in touched.items():
            view = views.get(number)
            if view is not None:
                self._show(keypad_display(view, event))

    def _show(self, display: KeypadDisplay) -> None:
        for port in self.ports:
            port.show(display)
