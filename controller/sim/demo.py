"""`hallctl up --demo`: simulated citizens and staff acting on the running hall in its own time."""

from __future__ import annotations

import datetime as dt
import logging
import random
import threading
from typing import Any

from controller.app.runtime import HallRuntime, plain_words
from controller.app.ticket_machine import TicketMachine
from controller.domain import commands as cmd
from controller.domain.calendar import HallCalendar
from controller.domain.errors import PrinterUnavailable
from controller.sim.arrivals import generate_arrivals
from controller.sim.demo_keypads import DemoKeypads, KeypadSource
from controller.sim.simulation import HallSimulation

log = logging.getLogger(__name__)


class DemoDriver:
    """Feeds a seeded simulation's commands to the runtime as the hall clock reaches them."""

    def __init__(
        self,
        runtime: HallRuntime,
        *,
        seed: int = 7,
        machine: TicketMachine | None = None,
        keypads: KeypadSource | None = None,
    ) -> None:
        self.runtime = runtime
        self.machine = machine
        self.keypads = DemoKeypads(runtime, keypads, seed=seed) if keypads is not None else None
        self.seed = seed
        self.commands = 0
        self._calendar = HallCalendar(runtime.config.calendar)
        self._simulation: HallSimulation | None = None
        self._day: dt.date | None = None

    def step(self) -> int:
        """Run what is due at the hall's current time; returns how many agenda items ran."""
        now = self.runtime.clock.now()
        if now.date() != self._day:
            self._day = now.date()
            self._simulation = self._new_day(now)
        ran = self._simulation.run_until(now) if self._simulation else 0
        if self.keypads is not None:
            ran += self.keypads.rate_due(now)
        return ran

    def run(self, stop: threading.Event, interval: float = 0.1) -> None:
        """Step until `stop` is set; a failing step is logged, never fatal."""
        while not stop.wait(interval):
            try:
                self.step()
            except Exception:  # the demo must never take the hall down
                log.exception("demo step failed")

    def _new_day(self, now: dt.datetime) -> HallSimulation | None:
        day = now.date()
        if not self._calendar.is_working_day(day):
            return None
        config = self.runtime.config
        rng = random.Random(f"{self.seed}-{day}")
        arrivals = [a for a in generate_arrivals(config, day, rng) if a.at >= now]
        return HallSimulation(
            config, day, self._execute, seed=self.seed, arrivals=arrivals, start=now
        )

    def _execute(self, command: cmd.Command, _at: dt.datetime) -> tuple[dict[str, Any], str | None]:
        self.commands += 1
        if self.machine is not None and isinstance(command, cmd.IssueTicket):
            # Simulated citizens take paper tickets at the entrance machine, as real ones do.
            try:
                printed = self.machine.issue(
                    command.service, command.lane, command.priority_reason, render=plain_words
                )
            except PrinterUnavailable:
                return {}, "printer_unavailable"
            return printed.result, printed.reason
        if self.keypads is not None and (pressed := self.keypads.press(command)) is not None:
            return pressed
        outcome = self.runtime.execute(command)
        return outcome.result, outcome.reason
