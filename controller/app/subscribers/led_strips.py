"""Hub subscriber for the LED displays: each event batch becomes content for the right strips.

A call (or recall) is shown from the event itself, so that two calls at one window in quick
succession both appear, in order, blinking; every other change is shown from the state
snapshot, so a strip always ends on what its window is doing now.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

from controller.app.hub import State, SubscriberHealth
from controller.app.subscribers.latest_state import LatestState
from controller.domain import events as ev
from devices.led.led_display import LedDisplay
from display.led_content import LedContent
from display.led_text import board_content, call_content, strip_content

log = logging.getLogger(__name__)

CALL_EVENTS = (ev.TicketCalled, ev.TicketRecalled)
WINDOW_EVENTS = (
    ev.StaffSignedIn,
    ev.StaffSignedOut,
    ev.TicketNoShow,
    ev.TicketFinished,
    ev.WindowPaused,
    ev.WindowResumed,
    ev.WindowOpened,
    ev.WindowClosed,
)
HALL_EVENTS = (ev.DayOpened, ev.DayClosed)


class LedStripSubscriber:
    """Turns hub event batches into strip and board content; pass `handle` to subscribe_with_state.

    The state handed with each batch is kept in `latest`, where the LED buses resync a rebooted
    display from.
    """

    def __init__(
        self,
        displays: Sequence[LedDisplay],
        latest: LatestState,
        *,
        blink_seconds: int = 5,
    ) -> None:
        self.displays = list(displays)
        self.blink_seconds = blink_seconds
        self.latest = latest
        self._health: SubscriberHealth | None = None

    def watch(self, health: SubscriberHealth) -> None:
        """Resync every display when the hub reports that this subscriber lost events."""
        self._health = health

    def handle(self, batch: Sequence[ev.Event], state: State) -> None:
        """Queue the commands for one batch of events (in order); never blocks on a display."""
        self.latest.set(state)
        if self._health is not None and self._health.needs_resync:
            self._health.needs_resync = False
            self.resync_all()
        plan: dict[int, list[ev.Event]] = {}
        board_changed = board_call = False
        for event in batch:
            if isinstance(event, HALL_EVENTS):
                self.resync_all()
                return
            window = _window_of(event)
            if window is None:
                continue
            plan.setdefault(window, []).append(event)
            board_changed = True
            board_call = board_call or isinstance(event, CALL_EVENTS)
        for window, events in plan.items():
            strips = [d for d in self.displays if d.target == window]
            if not strips:
                continue
            contents: list[LedContent] = []
            for event in events:
                if isinstance(event, CALL_EVENTS):
                    contents.append(call_content(event.number, window, self.blink_seconds))
            if not isinstance(events[-1], CALL_EVENTS):  # the window moved on after its calls
                contents.append(strip_content(state, window))
            for strip in strips:
                strip.show(contents)
        boards = [d for d in self.displays if d.target == "board"]
        if board_changed and boards:
            blink = self.blink_seconds if board_call else 0
            for board in boards:
                shown = board_content(
                    state, lines=board.lines, columns=board.columns, blink_seconds=blink
                )
                board.show([shown])

    def resync_all(self) -> None:
        """Every display shows the current state again (day change, lost events)."""
        for display in self.displays:
            display.resync()


def _window_of(event: ev.Event) -> int | None:
    if isinstance(event, CALL_EVENTS + WINDOW_EVENTS):
        return event.window
    if isinstance(event, ev.TicketTransferred):
        return event.from_window
    return None
