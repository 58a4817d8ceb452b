"""Simulated citizens and staff: a seeded day of arrivals and window behaviour, as commands."""

from __future__ import annotations

import datetime as dt
import functools
import heapq
import itertools
import math
import random
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from controller import commands as cmd
from controller.hall_config import HallConfig, WindowConfig
from controller.state import Outcome

# (result, rejection reason or None) of one command.
Execute = Callable[[cmd.Command, dt.datetime], tuple[dict[str, Any], str | None]]

# Relative arrival intensity by local hour: morning peak 9-10:30, afternoon peak 14:30-16.
_HOURLY_INTENSITY = {
    8: 0.8,
    9: 1.6,
    10: 1.4,
    11: 0.9,
    12: 0.4,
    13: 0.7,
    14: 1.2,
    15: 1.4,
    16: 0.8,
    17: 0.2,
}
POLL_SECONDS = 20.0
_OUTCOMES = [(Outcome.IMMEDIATE, 0.7), (Outcome.PROMISED, 0.2), (Outcome.SUPPLEMENT, 0.1)]


@dataclass(frozen=True, order=True)
class Arrival:
    """A citizen taking a ticket at `at` for `service` in `lane`."""

    at: dt.datetime
    service: str
    lane: str = "normal"


@dataclass(frozen=True)
class Behaviour:
    """Staff and citizen habits the simulation draws from."""

    no_show_rate: float = 0.04
    transfer_rate: float = 0.03
    priority_share: float = 0.05
    service_time_sigma: float = 0.45
    utilisation: float = 0.7


def generate_arrivals(
    config: HallConfig,
    day: dt.date,
    rng: random.Random,
    *,
    scale: float = 1.0,
    behaviour: Behaviour = Behaviour(),
) -> list[Arrival]:
    """Seeded arrivals for one day, sized to the hall's capacity, with two daily peaks."""
    from controller.calendar import HallCalendar

    hours = HallCalendar(config.calendar).hours_on(day)
    if hours is None:
        return []
    zone = config.zone
    open_at = dt.datetime.combine(day, hours.open, tzinfo=zone)
    close_at = dt.datetime.combine(day, hours.close, tzinfo=zone) - dt.timedelta(
        minutes=config.calendar.ticketing_cutoff_minutes
    )
    minutes = (close_at - open_at).total_seconds() / 60
    demand: dict[str, float] = {}
    for window in config.windows:
        for code in window.services:
            service = config.service(code)
            assert service is not None
            share = minutes / len(window.services) / service.average_service_minutes
            demand[code] = demand.get(code, 0.0) + share * behaviour.utilisation * scale
    arrivals: list[Arrival] = []
    peak = max(_HOURLY_INTENSITY.values())
    for code, expected in demand.items():
        rate_per_minute = expected / minutes
        moment = open_at
        while True:
            # Thinning (Lewis–Shedler) of a Poisson process at the peak rate.
            moment += dt.timedelta(minutes=rng.expovariate(rate_per_minute * peak))
            if moment >= close_at:
                break
            if rng.random() * peak <= _HOURLY_INTENSITY.get(moment.hour, 0.0):
                lane = "priority" if rng.random() < behaviour.priority_share else "normal"
                arrivals.append(Arrival(moment, code, lane))
    arrivals.sort()
    return arrivals


class HallSimulation:
    """An agenda of citizens and staff acting on the hall through `execute`, seeded."""

    def __init__(
        self,
        config: HallConfig,
        day: dt.date,
        execute: Execute,
        *,
        seed: int = 1,
        arrivals: Iterable[Arrival] | None = None,
        behaviour: Behaviour = Behaviour(),
        start: dt.datetime | None = None,
    ) -> None:
        """`start`: the simulation joins a day already under way (a restarted demo) at this
        moment; staff due before it act at it, not in a replay of the hours before."""
        from controller.calendar import HallCalendar

        self.config = config
        self.rng = random.Random(seed)
        self.behaviour = behaviour
        self._execute = execute
        self._agenda: list[tuple[dt.datetime, int, Callable[[dt.datetime], None]]] = []
        self._counter = itertools.count()
        self.issued = 0
        self.refused: dict[str, int] = {}
        hours = HallCalendar(config.calendar).hours_on(day)
        if hours is None:
            raise ValueError(f"{day} is not a working day in this hall's calendar")
        zone = config.zone
        self.open_at = dt.datetime.combine(day, hours.open, tzinfo=zone)
        self.close_at = dt.datetime.combine(day, hours.close, tzinfo=zone)
        self.lunch = (
            (
                dt.datetime.combine(day, hours.lunch.start, tzinfo=zone),
                dt.datetime.combine(day, hours.lunch.end, tzinfo=zone),
            )
            if hours.lunch
            else None
        )
        planned = (
            list(arrivals)
            if arrivals is not None
            else generate_arrivals(config, day, self.rng, behaviour=behaviour)
        )
        for arrival in planned:
            self._at(arrival.at, functools.partial(self._arrive, arrival))
        for window in config.windows:
            if window.staff:
                late = dt.timedelta(minutes=self.rng.uniform(-5, 3))
                at = self.open_at + late if start is None else max(self.open_at + late, start)
                self._at(at, functools.partial(self._sign_in, window))

    @property
    def next_time(self) -> dt.datetime | None:
        """When the next agenda item is due, or None when the day is over."""
        return self._agenda[0][0] if self._agenda else None

    def run_until(self, moment: dt.datetime) -> int:
        """Run every agenda item due by `moment`; returns how many ran."""
        ran = 0
        while self._agenda and self._agenda[0][0] <= moment:
            at, _, action = heapq.heappop(self._agenda)
            action(at)
            ran += 1
        return ran

    def _at(self, moment: dt.datetime, action: Callable[[dt.datetime], None]) -> None:
        heapq.heappush(self._agenda, (moment, next(self._counter), action))

    def _run(self, command: cmd.Command, now: dt.datetime) -> tuple[dict[str, Any], str | None]:
        return self._execute(command, now)

    def _arrive(self, arrival: Arrival, now: dt.datetime) -> None:
        _, refused = self._run(cmd.IssueTicket(arrival.service, arrival.lane), now)
        if refused:
            self.refused[refused] = self.refused.get(refused, 0) + 1
        else:
            self.issued += 1

    def _sign_in(self, window: WindowConfig, now: dt.datetime) -> None:
        member = window.staff[0]
        result, _ = self._run(cmd.SignIn(window.number, member.id, member.role), now)
        state = result.get("state")
        if state == "serving":
            # A demo restarted mid-service: the citizen at the desk is served to the end and
            # invited to rate, not finished at once by the next call.
            rest = dt.timedelta(minutes=self.rng.uniform(1, 5))
            outcome = self._outcome() if self._records_outcomes(window) else None
            self._at(now + rest, lambda t: self._finish(window, outcome, t))
            return
        if state == "paused":  # paused before a restart: back at the end of lunch, or now
            back = self.lunch[1] if self.lunch and self.lunch[0] <= now < self.lunch[1] else now
            self._at(back, lambda t: self._resume(window, t))
            return
        self._at(now, lambda t: self._next(window, t))

    def _records_outcomes(self, window: WindowConfig) -> bool:
        """Whether a service of `window` needs the case outcome at finish."""
        services = (self.config.service(code) for code in window.services)
        return any(service is not None and service.outcome_required for service in services)

    def _next(self, window: WindowConfig, now: dt.datetime) -> None:
        if self.lunch and self.lunch[0] <= now < self.lunch[1]:
            self._run(cmd.Pause(window.number, "午间休息"), now)
            self._at(self.lunch[1], lambda t: self._resume(window, t))
            return
        result, refused = self._run(cmd.CallNext(window.number), now)
        if refused == "queue_empty":
            if now >= self.close_at:
                self._run(cmd.SignOut(window.number), now)
                return
            self._at(now + dt.timedelta(seconds=POLL_SECONDS), lambda t: self._next(window, t))
            return
        if refused == "outcome_required":
            # A citizen is still at the desk (a demo restarted mid-service): finish them first.
            self._finish(window, self._outcome(), now)
            return
        if refused == "window_paused":  # still paused from before a restart (lunch is over)
            self._at(now + dt.timedelta(seconds=POLL_SECONDS), lambda t: self._resume(window, t))
            return
        if refused:
            self._at(now + dt.timedelta(seconds=POLL_SECONDS), lambda t: self._next(window, t))
            return
        if self.rng.random() < self.behaviour.no_show_rate:
            self._at(
                now + dt.timedelta(minutes=1), lambda t: self._absent(window, t, recalled=False)
            )
            return
        service = self.config.service(str(result.get("service")))
        mean = service.average_service_minutes if service else 10.0
        sigma = self.behaviour.service_time_sigma
        minutes = self.rng.lognormvariate(math.log(mean) - sigma**2 / 2, sigma)
        if self.rng.random() < self.behaviour.transfer_rate:
            self._at(
                now + dt.timedelta(minutes=min(minutes, 2.0)), lambda t: self._transfer(window, t)
            )
            return
        outcome = self._outcome() if service and service.outcome_required else None
        self._at(now + dt.timedelta(minutes=minutes), lambda t: self._finish(window, outcome, t))

    def _absent(self, window: WindowConfig, now: dt.datetime, *, recalled: bool) -> None:
        if not recalled:
            self._run(cmd.Recall(window.number), now)
            self._at(
                now + dt.timedelta(minutes=1), lambda t: self._absent(window, t, recalled=True)
            )
            return
        self._run(cmd.NoShow(window.number), now)
        self._at(now, lambda t: self._next(window, t))

    def _transfer(self, window: WindowConfig, now: dt.datetime) -> None:
        others = [s.code for s in self.config.services if s.code not in window.services]
        refused: str | None = "nowhere_to_transfer"
        if others:
            _, refused = self._run(
                cmd.Transfer(window.number, to_service=self.rng.choice(others)), now
            )
        if refused:
            self._run(cmd.Finish(window.number, Outcome.IMMEDIATE.value), now)
        self._at(now, lambda t: self._next(window, t))

    def _finish(self, window: WindowConfig, outcome: str | None, now: dt.datetime) -> None:
        _, refused = self._run(cmd.Finish(window.number, outcome), now)
        if refused == "outcome_required":  # a citizen found at the desk after a restart
            self._run(cmd.Finish(window.number, self._outcome()), now)
        self._run(cmd.InviteRating(window.number), now)
        pause = dt.timedelta(seconds=self.rng.uniform(5, 40))
        self._at(now + pause, lambda t: self._next(window, t))

    def _resume(self, window: WindowConfig, now: dt.datetime) -> None:
        self._run(cmd.Resume(window.number), now)
        self._at(now, lambda t: self._next(window, t))

    def _outcome(self) -> str:
        roll = self.rng.random()
        for outcome, share in _OUTCOMES:
            if roll < share:
                return outcome.value
            roll -= share
        return Outcome.IMMEDIATE.value
