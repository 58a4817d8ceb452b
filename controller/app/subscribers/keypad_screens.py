"""Keeps every window keypad's screen in step with the hall: a hub subscriber per keypad port.

A display a port cannot send (a value from an old journal the keypad protocol cannot carry)
never stops start-up, another window or another port: it is logged, replaced by a fallback
display with the offending texts fitted or left out, and raised as a floor alert until the
window's next display goes out whole.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Sequence

from controller.app.hub import State
from controller.domain import events as ev
from controller.domain.alerts import Alert, AlertKind
from devices.keypad.keypad import KeypadPort
from display.keypad_text import KeypadDisplay, fallback_display, keypad_display, windows_touched

log = logging.getLogger(__name__)


class KeypadLink:
    """Pushes a window's keypad display whenever an event concerns that window."""

    def __init__(self, ports: Sequence[KeypadPort]) -> None:
        self.ports = list(ports)
        self._lock = threading.Lock()
        self._fallbacks: dict[int, str] = {}  # window -> what could not be sent

    def resync(self, state: State) -> None:
        """Send every window's keypad its state in `state` (start-up, or a keypad back online)."""
        for window in state["windows"]:
            self._show(keypad_display(window))

    def on_events(self, batch: Sequence[ev.Event], state: State) -> None:
        """Hub callback: one display per window the batch touched, from the state handed with it."""
        touched = windows_touched(list(batch))
        if not touched:
            return
        views = {w["number"]: w for w in state["windows"]}
        for number, event in touched.items():
            view = views.get(number)
            if view is not None:
                self._show(keypad_display(view, event))

    def alerts(self) -> list[Alert]:
        """Floor alerts: windows whose keypad shows a fallback because a value could not be sent."""
        with self._lock:
            fallbacks = sorted(self._fallbacks.items())
        return [
            Alert(
                AlertKind.KEYPAD_DISPLAY_FALLBACK,
                f"{window}号窗口评价器无法显示部分内容（{detail}），已显示简化画面",
                window=window,
            )
            for window, detail in fallbacks
        ]

    def _show(self, display: KeypadDisplay) -> None:
        whole = True
        for port in self.ports:
            try:
                port.show(display)
            except Exception as err:  # the device boundary: one port or window never stops another
                whole = False
                self._fall_back(port, display, err)
        if whole:
            with self._lock:
                self._fallbacks.pop(display.window, None)

    def _fall_back(self, port: KeypadPort, display: KeypadDisplay, err: Exception) -> None:
        detail = getattr(err, "field", "") or type(err).__name__
        with self._lock:
            first = self._fallbacks.get(display.window) != detail
            self._fallbacks[display.window] = detail
        if first:
            log.error(
                "window %d keypad display cannot be sent (%s); showing a fallback",
                display.window,
                err,
            )
        try:
            port.show(fallback_display(display))
        except Exception:  # even the plain fallback failed: the alert stays, the hall goes on
            log.exception("window %d keypad fallback display failed", display.window)
