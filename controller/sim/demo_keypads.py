"""The demo's staff and citizens pressing real (simulated) keypads instead of calling the engine.

A staff command at a window with a simulated keypad becomes a key press over the keypad's real
protocol; the ack it gets back is the command's answer. Invited citizens rate a few seconds later
on the same keypad, as the 好差评 rules expect (never sooner than the self-rating threshold).
"""

from __future__ import annotations

import datetime as dt
import heapq
import itertools
import logging
import random
from typing import Any, Protocol

from controller.app.runtime import HallRuntime
from controller.domain import commands as cmd
from controller.settings.simulation_habits import citizen_level
from devices.keypad.keypad_twin import KeypadTwin

log = logging.getLogger(__name__)
ACK_SECONDS = 5.0
RATE_SHARE = 0.85  # citizens who press a key at all
# Codes of the keypad spec's reason table 1 (firmware_protocols/keypad/keypad_codes.py), the one table
# the keypads, the rules and the satisfaction API share; R10/R11 exist since that table.
BAD_REASONS = ("R01", "R02", "R03", "R05", "R06", "R10", "R11")


class KeypadSource(Protocol):
    """Where the demo finds the simulated keypad of a window."""

    def simulated_keypad(self, window: int) -> KeypadTwin | None:
        """The simulated keypad at `window`, or None."""
        ...


class DemoKeypads:
    """Turns window commands into key presses and schedules the citizens' ratings."""

    def __init__(self, runtime: HallRuntime, source: KeypadSource, *, seed: int = 7) -> None:
        self.runtime = runtime
        self.source = source
        self.presses = 0
        self.ratings = 0
        self._rng = random.Random(seed)
        self._due: list[tuple[dt.datetime, int, int]] = []
        self._counter = itertools.count()

    def press(self, command: cmd.Command) -> tuple[dict[str, Any], str | None] | None:
        """Press the key for `command` on its window's keypad; None when there is no keypad."""
        key = _key_of(command)
        if key is None or not isinstance(command, cmd.WindowCommand):
            return None
        keypad = self.source.simulated_keypad(command.window)
        if keypad is None or not keypad.connected:
            return None
        if isinstance(command, cmd.CallNext) and not self._anyone_waiting(command.window):
            # Staff glance at the screen before pressing NEXT; a simulated one polling an empty
            # queue through a polled RS-485 keypad would fall behind a fast demo clock.
            return {"error": "queue_empty"}, "queue_empty"
        ack = keypad.wait_acked(keypad.press(key, argument=_argument(command)), ACK_SECONDS)
        self.presses += 1
        if not ack.accepted:
            return {"error": ack.code, "message": ack.message}, ack.code
        result: dict[str, Any] = {"number": ack.ticket}
        if isinstance(command, cmd.CallNext):
            result["service"] = self._service_of(command.window)
        elif isinstance(command, cmd.InviteRating) and self._rng.random() < RATE_SHARE:
            seconds = self._rng.uniform(3, 10)  # before the staff call the next citizen
            due = self.runtime.clock.now() + dt.timedelta(seconds=seconds)
            heapq.heappush(self._due, (due, next(self._counter), command.window))
        return result, None

    def rate_due(self, now: dt.datetime) -> int:
        """Let the citizens whose moment has come press a rating key; how many pressed."""
        pressed = 0
        while self._due and self._due[0][0] <= now:
            _, _, window = heapq.heappop(self._due)
            keypad = self.source.simulated_keypad(window)
            if keypad is None:
                continue
            level = self._level()
            reasons = (self._rng.choice(BAD_REASONS),) if level.endswith("dissatisfied") else ()
            ack = keypad.wait_acked(
                keypad.press("rate", rating=level, reasons=reasons), ACK_SECONDS
            )
            if ack.accepted:
                self.ratings += 1
                log.info("demo rating at window %d acknowledged: ticket %s", window, ack.ticket)
            else:
                log.info("demo rating at window %d refused: %s", window, ack.code)
            pressed += 1
        return pressed

    def _level(self) -> str:
        return citizen_level(self._rng.random())

    def _anyone_waiting(self, window: int) -> bool:
        config = self.runtime.config.window(window)
        served = set(config.services) if config else set()
        services = self.runtime.snapshot()["services"]
        return any(s["waiting"] > 0 for s in services if s["code"] in served)

    def _service_of(self, window: int) -> str | None:
        state = self.runtime.engine.state
        ticket_id = state.windows[window].current
        ticket = state.tickets.get(ticket_id) if ticket_id else None
        return ticket.service if ticket else None


def _key_of(command: cmd.Command) -> str | None:
    keys: dict[type[cmd.Command], str] = {
        cmd.CallNext: "next",
        cmd.Recall: "recall",
        cmd.NoShow: "no_show",
        cmd.Pause: "pause",
        cmd.Resume: "resume",
        cmd.Transfer: "transfer",
        cmd.Finish: "finish",
        cmd.InviteRating: "invite_rating",
    }
    return keys.get(type(command))


def _argument(command: cmd.Command) -> str | None:
    if isinstance(command, cmd.Pause):
        return command.reason
    if isinstance(command, cmd.Finish):
        return command.outcome
    if isinstance(command, cmd.Transfer):
        if command.to_window is not None:
            return f"window:{command.to_window}"
        return f"service:{command.to_service}"
    return None
