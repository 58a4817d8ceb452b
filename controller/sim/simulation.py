"""Simulated citizens and staff (the digital twin): a seeded day of arrivals and window habits."""

from __future__ import annotations

import datetime as dt
import functools
import heapq
import itertools
import random
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from controller.domain import commands as cmd
from controller.domain.hall_rules import WindowConfig
from controller.domain.state import Outcome
from controller.settings.hall_config import HallConfig
from controller.settings.simulation_habits import Behaviour
from controller.sim.arrivals import (
    Arrival,
    Visit,
    arrival_stream,
    draw_visits,
    generate_arrivals,
)

# (result, rejection reason or None) of one command.
Execute = Callable[[cmd.Command, dt.datetime], tuple[dict[str, Any], str | None]]
# What a window does right after a finish (invite a rating, ...); returns when to call next.
AfterFinish = Callable[["HallSimulation", WindowConfig, str, dt.datetime], dt.datetime]

POLL_SECONDS = 20.0
_OUTCOMES = [(Outcome.IMMEDIATE, 0.7), (Outcome.PROMISED, 0.2), (Outcome.SUPPLEMENT, 0.1)]


class HallSimulation:
    """An agenda of citizens and staff acting on the hall through `execute`, seeded.

    Three kinds of independent streams: arrivals (`arrival_stream`), each citizen's own service
    time and rolls (`draw_visits`), each window's staff habits; two scenarios with the same
    seed differ only by what changed.
    """

    def __init__(
        self,
        config: HallConfig,
        day: dt.date,
        execute: Execute,
        *,
        seed: int = 1,
        arrivals: Iterable[Arrival] | None = None,
        behaviour: Behaviour | None = None,
        after_finish: AfterFinish | None = None,
        staffing: Mapping[int, int] | None = None,
        start: dt.datetime | None = None,
    ) -> None:
        """`staffing`: windows on duty per local hour (the first N of the config's windows).

        `start`: the simulation joins a day already under way (a restarted demo) at this
        moment; staff due before it act at it, not in a replay of the hours before.
        """
        from controller.domain.calendar import HallCalendar

        self.config = config
        self.seed = seed
        self._after_finish = after_finish
        self.behaviour = (behaviour or config.simulation).in_effect()
        self._execute = execute
        self._agenda: list[tuple[dt.datetime, int, Callable[[dt.datetime], object]]] = []
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
            else generate_arrivals(config, day, arrival_stream(seed), behaviour=self.behaviour)
        )
        self.visits = draw_visits(planned, seed, self.behaviour.sigma_of)
        self._visit_of: dict[str, Visit] = {}  # ticket id -> its citizen's draws
        self._calls: dict[str, int] = {}
        self._transferred: set[str] = set()
        self._idle: dict[int, WindowConfig] = {}  # windows waiting for a ticket, longest first
        self._staff = {w.number: random.Random(f"{seed}-staff-{w.number}") for w in config.windows}
        for visit in self.visits:
            self._at(visit.arrival.at, functools.partial(self._arrive, visit))
        early, late = self.behaviour.sign_in_spread_minutes
        for window in config.windows:
            if window.staff:
                spread = dt.timedelta(minutes=self._staff[window.number].uniform(early, late))
                at = self.open_at + spread if start is None else max(self.open_at + spread, start)
                self._at(at, functools.partial(self._sign_in, window))
        self._staffing = dict(staffing or {})
        self._rank = {w.number: i for i, w in enumerate(config.windows)}
        changes = list(self._hour_starts()) if self._staffing else []
        if self.behaviour.idle_poll_seconds == 0:  # idle windows notice lunch, shifts, closing
            for moment in (*(self.lunch[:1] if self.lunch else ()), *changes, self.close_at):
                self._at(moment, lambda t: self._wake(t, None))

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

    def schedule(self, moment: dt.datetime, action: Callable[[dt.datetime], object]) -> None:
        """Run `action` when the simulated clock reaches `moment`."""
        heapq.heappush(self._agenda, (moment, next(self._counter), action))

    def execute(self, command: cmd.Command, now: dt.datetime) -> tuple[dict[str, Any], str | None]:
        """Run one command on the hall: (result, rejection reason or None)."""
        return self._execute(command, now)

    _at = schedule
    _run = execute

    def _arrive(self, visit: Visit, now: dt.datetime) -> None:
        arrival = visit.arrival
        result, refused = self._run(cmd.IssueTicket(arrival.service, arrival.lane), now)
        if refused:
            self.refused[refused] = self.refused.get(refused, 0) + 1
            return
        self.issued += 1
        self._visit_of[str(result.get("id"))] = visit
        self._wake(now, arrival.service)

    def _wake(self, now: dt.datetime, service: str | None) -> None:
        """Idle windows serving `service` (None: every idle window) call now."""
        for number, window in list(self._idle.items()):
            if service is None or service in window.services:
                del self._idle[number]
                self._at(now, functools.partial(self._next, window))

    def _sign_in(self, window: WindowConfig, now: dt.datetime) -> None:
        member = window.staff[0]
        result, _ = self._run(cmd.SignIn(window.number, member.id, member.role), now)
        state = result.get("state")
        staff = self._staff[window.number]
        if state == "serving":
            # A demo restarted mid-service: the citizen at the desk is served to the end and
            # invited to rate, not finished at once by the next call.
            rest = dt.timedelta(minutes=staff.uniform(1, 5))
            outcome = _outcome(staff.random()) if self._records_outcomes(window) else None
            self._at(now + rest, functools.partial(self._finish, window, outcome))
            return
        if state == "paused":  # paused before a restart: back at the end of lunch, or now
            back = self.lunch[1] if self.lunch and self.lunch[0] <= now < self.lunch[1] else now
            self._at(back, functools.partial(self._resume, window))
            return
        self._at(now, functools.partial(self._next, window))

    def _hour_starts(self) -> Iterable[dt.datetime]:
        moment = self.open_at.replace(minute=0, second=0, microsecond=0) + dt.timedelta(hours=1)
        while moment < self.close_at:
            yield moment
            moment += dt.timedelta(hours=1)

    def _on_duty(self, window: WindowConfig, moment: dt.datetime) -> bool:
        """Whether `window` is staffed at `moment`; hours after the last planned keep its count."""
        if not self._staffing:
            return True
        planned = [h for h in self._staffing if h <= moment.hour]
        count = self._staffing[max(planned)] if planned else len(self.config.windows)
        return self._rank[window.number] < count

    def _records_outcomes(self, window: WindowConfig) -> bool:
        """Whether a service of `window` needs the case outcome at finish."""
        services = (self.config.service(code) for code in window.services)
        return any(service is not None and service.outcome_required for service in services)

    def _next(self, window: WindowConfig, now: dt.datetime) -> None:
        if self.lunch and self.lunch[0] <= now < self.lunch[1]:
            self._run(cmd.Pause(window.number, "午间休息"), now)
            self._at(self.lunch[1], lambda t: self._resume(window, t))
            return
        if not self._on_duty(window, now):
            back = next(
                (t for t in self._hour_starts() if t > now and self._on_duty(window, t)), None
            )
            if back is None:
                self._run(cmd.SignOut(window.number), now)
                return
            self._run(cmd.Pause(window.number, "排班轮休"), now)
            self._at(back, lambda t: self._resume(window, t))
            return
        result, refused = self._run(cmd.CallNext(window.number), now)
        if refused == "queue_empty" and now >= self.close_at:
            self._run(cmd.SignOut(window.number), now)
            return
        poll = self.behaviour.idle_poll_seconds
        if refused == "queue_empty" and poll == 0:
            self._idle[window.number] = window
            return
        if refused == "outcome_required":
            # A citizen is still at the desk (a demo restarted mid-service): finish them first.
            self._finish(window, _outcome(self._staff[window.number].random()), now)
            return
        if refused == "window_paused":  # still paused from before a restart (lunch is over)
            self._at(now + dt.timedelta(seconds=POLL_SECONDS), lambda t: self._resume(window, t))
            return
        if refused:
            again = dt.timedelta(seconds=poll or POLL_SECONDS)
            self._at(now + again, functools.partial(self._next, window))
            return
        self._serve(window, str(result.get("id")), str(result.get("service")), now)

    def _serve(self, window: WindowConfig, ticket: str, code: str, now: dt.datetime) -> None:
        visit = (
            self._visit_of.get(ticket)
            or draw_visits([Arrival(now, code, ticket)], self.seed, self.behaviour.sigma_of)[0]
        )
        first = self._calls.get(ticket, 0) == 0
        self._calls[ticket] = self._calls.get(ticket, 0) + 1
        if first and visit.no_show_roll < self.behaviour.no_show_rate:
            self._at(
                now + dt.timedelta(minutes=1), lambda t: self._absent(window, t, recalled=False)
            )
            return
        service = self.config.service(code)
        mean = self.behaviour.minutes_of(code, service.average_service_minutes if service else 10.0)
        again = ticket in self._transferred
        minutes = mean * (visit.factor_after_transfer if again else visit.factor)
        if not again and visit.transfer_roll < self.behaviour.transfer_rate:
            self._transferred.add(ticket)
            self._at(
                now + dt.timedelta(minutes=min(minutes, 2.0)),
                lambda t: self._transfer(window, visit, code, t),
            )
            return
        outcome = _outcome(visit.outcome_roll) if service and service.outcome_required else None
        self._at(now + dt.timedelta(minutes=minutes), lambda t: self._finish(window, outcome, t))

    def _absent(self, window: WindowConfig, now: dt.datetime, *, recalled: bool) -> None:
        if not recalled:
            self._run(cmd.Recall(window.number), now)
            self._at(
                now + dt.timedelta(minutes=1), lambda t: self._absent(window, t, recalled=True)
            )
            return
        self._run(cmd.NoShow(window.number), now)
        self._wake(now, None)  # a 过号 ticket may go back in a queue
        self._at(now, functools.partial(self._next, window))

    def _transfer(self, window: WindowConfig, visit: Visit, code: str, now: dt.datetime) -> None:
        others = [s.code for s in self.config.services if s.code != code]
        refused: str | None = "nowhere_to_transfer"
        if others:  # the citizen's own need decides where they go, not the window
            target = others[min(int(visit.target_roll * len(others)), len(others) - 1)]
            _, refused = self._run(cmd.Transfer(window.number, to_service=target), now)
            if not refused:
                self._wake(now, target)
        if refused:
            self._run(cmd.Finish(window.number, Outcome.IMMEDIATE.value), now)
        self._at(now, functools.partial(self._next, window))

    def _finish(self, window: WindowConfig, outcome: str | None, now: dt.datetime) -> None:
        result, refused = self._run(cmd.Finish(window.number, outcome), now)
        if refused == "outcome_required":  # a citizen found at the desk after a restart
            outcome = _outcome(self._staff[window.number].random())
            result, refused = self._run(cmd.Finish(window.number, outcome), now)
        low, high = self.behaviour.post_finish_pause_seconds
        pause = dt.timedelta(seconds=self._staff[window.number].uniform(low, high))
        if self._after_finish is not None and refused is None:
            later = self._after_finish(self, window, str(result.get("id")), now)
            self._at(max(later, now + pause), functools.partial(self._next, window))
            return
        self._run(cmd.InviteRating(window.number), now)
        self._at(now + pause, functools.partial(self._next, window))

    def _resume(self, window: WindowConfig, now: dt.datetime) -> None:
        self._run(cmd.Resume(window.number), now)
        self._at(now, functools.partial(self._next, window))


def _outcome(roll: float) -> str:
    for outcome, share in _OUTCOMES:
        if roll < share:
            return outcome.value
        roll -= share
    return Outcome.IMMEDIATE.value
