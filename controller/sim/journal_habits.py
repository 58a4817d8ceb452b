"""Staff and citizen habits measured from a hall's own journal: the twin's defaults for that hall.

What is measured, from the journaled events only (docs/simulation.md, "Habits measured"):
the pause between a finish and the next call when a citizen was already waiting, how long an
idle window takes to call a new ticket, the 过号 / 转办 / 绿色通道 rates, staff sign-in around
opening, and per service the log-normal law (mean and spread) of call-to-finish times.
"""

from __future__ import annotations

import datetime as dt
import math
import statistics
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from controller.app.journal import Journal
from controller.domain import events as ev
from controller.domain.calendar import HallCalendar
from controller.domain.errors import HallError
from controller.settings.hall_config import HallConfig

MIN_SAMPLES = 20  # fewer measurements of a habit keep the config's value
MIN_SERVICE_SAMPLES = 10
_INSTANT_SECONDS = 1.0  # an idle window calling within a second on average reacts at once


@dataclass(frozen=True)
class ServiceLaw:
    """One service's call-to-finish times: log-normal with this mean and spread of the log."""

    samples: int
    mean_minutes: float
    sigma: float


@dataclass(frozen=True)
class MeasuredHabits:
    """Habits measured from journaled days; None where there were too few measurements."""

    days: tuple[dt.date, ...]
    tickets: int
    post_finish_pause_seconds: tuple[float, float] | None
    pause_samples: int
    idle_poll_seconds: float | None
    reaction_samples: int
    no_show_rate: float | None
    transfer_rate: float | None
    priority_share: float | None
    sign_in_spread_minutes: tuple[float, float] | None
    sign_in_samples: int
    services: dict[str, ServiceLaw] = field(default_factory=dict)

    def apply(self, config: HallConfig) -> HallConfig:
        """`config` with its [simulation] habits and service times replaced by the measured ones."""
        laws = {c: law for c, law in self.services.items() if law.samples >= MIN_SERVICE_SAMPLES}
        measured = {
            "post_finish_pause_seconds": self.post_finish_pause_seconds,
            "idle_poll_seconds": self.idle_poll_seconds,
            "no_show_rate": self.no_show_rate,
            "transfer_rate": self.transfer_rate,
            "priority_share": self.priority_share,
            "sign_in_spread_minutes": self.sign_in_spread_minutes,
        }
        update: dict[str, Any] = {k: v for k, v in measured.items() if v is not None}
        sigmas = dict(config.simulation.service_time_sigma_by_service)
        sigmas.update({code: law.sigma for code, law in laws.items()})
        update["service_time_sigma_by_service"] = sigmas
        # The simulated visits take the measured means; the services' average_service_minutes
        # (what the hall plans with: generated demand, the ticket's wait estimate) stay.
        minutes = dict(config.simulation.service_minutes_by_service)
        minutes.update({code: law.mean_minutes for code, law in laws.items()})
        update["service_minutes_by_service"] = minutes
        return config.model_copy(update={"simulation": config.simulation.model_copy(update=update)})

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        out = asdict(self)
        out["days"] = [d.isoformat() for d in self.days]
        return out


def measure_habits(config: HallConfig, days: Iterable[Sequence[ev.Event]]) -> MeasuredHabits:
    """The habits shown by each day's journaled events (`config` gives windows and hours)."""
    counts = _Counts()
    pauses: list[float] = []
    offsets: list[float] = []
    durations: dict[str, list[float]] = {}
    dates = []
    kept = [list(events) for events in days]
    for events in kept:
        if not events:
            continue
        dates.append(events[0].at.date())
        pauses += _pauses(events)
        offsets += _sign_in_offsets(config, events)
        for code, minutes in _service_minutes(events, counts).items():
            durations.setdefault(code, []).extend(minutes)
    pause = _uniform(pauses, 0.0, 600.0)
    reactions = [r for events in kept for r in _reactions(config, events, pause)]
    exact = sum(1 for _, seen in reactions if seen)
    spread = _uniform(offsets, -120.0, 120.0)
    return MeasuredHabits(
        days=tuple(sorted(set(dates))),
        tickets=counts.issued,
        post_finish_pause_seconds=pause if len(pauses) >= MIN_SAMPLES else None,
        pause_samples=len(pauses),
        idle_poll_seconds=_poll(reactions),
        reaction_samples=exact,
        no_show_rate=_rate(counts.no_shows, counts.called),
        transfer_rate=_rate(counts.transferred, counts.served),
        priority_share=_rate(counts.priority, counts.walk_ins),
        sign_in_spread_minutes=spread if len(offsets) >= MIN_SAMPLES else None,
        sign_in_samples=len(offsets),
        services={code: _law(minutes) for code, minutes in sorted(durations.items())},
    )


def habits_of_journal(
    config: HallConfig, journal: Journal, days: Iterable[dt.date] | None = None
) -> MeasuredHabits:
    """The habits of `days` (default: every day in the journal)."""
    chosen = list(days) if days is not None else journal.days()
    return measure_habits(config, (journal.events_of_day(day) for day in chosen))


def habits_of_data_dir(
    data: Path, config: HallConfig, days: Iterable[dt.date] | None = None
) -> MeasuredHabits:
    """The habits in the journal of the data directory `data`; HallError when it has none."""
    from controller.app.backup import DB_NAME

    path = data / DB_NAME
    if not path.exists():
        raise HallError(f"no hall journal at {path} to measure habits from")
    journal = Journal.at_path(path)
    try:
        habits = habits_of_journal(config, journal, days)
    finally:
        journal.close()
    if habits.tickets == 0:
        raise HallError(f"no tickets in the journal at {path} to measure habits from")
    return habits


@dataclass
class _Counts:
    issued: int = 0
    walk_ins: int = 0
    priority: int = 0
    called: int = 0
    no_shows: int = 0
    served: int = 0
    transferred: int = 0


def _service_minutes(events: Sequence[ev.Event], counts: _Counts) -> dict[str, list[float]]:
    """Call-to-finish minutes per service; counts tickets, calls, 过号, 转办 as it goes."""
    service: dict[str, str] = {}
    called_at: dict[str, dt.datetime] = {}
    called, no_show, served, moved = set(), set(), set(), set()
    minutes: dict[str, list[float]] = {}
    for event in events:
        if isinstance(event, ev.TicketIssued):
            service[event.ticket_id] = event.service
            counts.issued += 1
            if event.appointment_code is None:
                counts.walk_ins += 1
                counts.priority += event.lane == "priority"
        elif isinstance(event, ev.TicketCalled):
            called.add(event.ticket_id)
            called_at[event.ticket_id] = event.at
        elif isinstance(event, ev.TicketNoShow):
            no_show.add(event.ticket_id)
        elif isinstance(event, ev.TicketTransferred):
            moved.add(event.ticket_id)
            served.add(event.ticket_id)
            service[event.ticket_id] = event.to_service
        elif isinstance(event, ev.TicketFinished) and event.ticket_id in called_at:
            served.add(event.ticket_id)
            took = (event.at - called_at[event.ticket_id]).total_seconds() / 60
            if took > 0 and event.ticket_id in service:
                minutes.setdefault(service[event.ticket_id], []).append(took)
    counts.called += len(called)
    counts.no_shows += len(no_show & called)
    counts.served += len(served)
    counts.transferred += len(moved)
    return minutes


def _pauses(events: Sequence[ev.Event]) -> list[float]:
    """Seconds from a finish to the window's next call, when that citizen was already waiting."""
    entered: dict[str, dt.datetime] = {}  # ticket -> when it last joined a queue
    finished: dict[int, dt.datetime] = {}  # window -> its last finish, while nothing else happened
    pauses = []
    for event in events:
        if isinstance(event, ev.TicketIssued):
            entered[event.ticket_id] = event.queue_at
        elif isinstance(event, ev.TicketNoShow | ev.TicketTransferred):
            entered[event.ticket_id] = event.at
            finished.pop(
                event.window if isinstance(event, ev.TicketNoShow) else event.from_window, None
            )
        elif isinstance(event, ev.TicketFinished):
            finished[event.window] = event.at
        elif isinstance(event, ev.WindowPaused | ev.StaffSignedOut | ev.WindowClosed):
            finished.pop(event.window, None)
        elif isinstance(event, ev.TicketCalled):
            since = finished.pop(event.window, None)
            joined = entered.get(event.ticket_id)
            if since is not None and joined is not None and joined <= since:
                pauses.append((event.at - since).total_seconds())
    return pauses


def _reactions(
    config: HallConfig, events: Sequence[ev.Event], pause: tuple[float, float]
) -> list[tuple[float, bool]]:
    """Seconds from a ticket joining a queue to its call, when exactly one window was idle for it:
    (seconds, True) when that window called it, (seconds, False) when the wait for it was cut
    short (another window called the ticket, or the window paused, left or called another).

    Idle: signed in, not paused, nobody at the desk, and past its longest post-finish pause.
    """
    watch = _IdleWatch(config, dt.timedelta(seconds=pause[1]))
    for event in events:
        watch.on(event)
    return watch.reactions


class _IdleWatch:
    """Which windows are idle for which service, following a day's events."""

    def __init__(self, config: HallConfig, longest_pause: dt.timedelta) -> None:
        self.services = {w.number: set(w.services) for w in config.windows}
        self.longest = longest_pause
        self.signed: set[int] = set()
        self.paused: set[int] = set()
        self.busy: set[int] = set()
        self.free_from: dict[int, dt.datetime] = {}  # when a window is surely idle
        self.awaited: dict[int, tuple[str, dt.datetime]] = {}  # idle window -> (ticket, since)
        self.service_now: dict[str, str] = {}  # ticket -> its service (after any 转办)
        self.reactions: list[tuple[float, bool]] = []

    def on(self, event: ev.Event) -> None:
        """Follow one event."""
        if isinstance(event, ev.WindowServicesChanged):
            self.services[event.window] = set(event.services)
        elif isinstance(event, ev.StaffSignedIn | ev.WindowResumed):
            self.signed.add(event.window)
            self.paused.discard(event.window)
            self.free_from[event.window] = event.at
        elif isinstance(event, ev.StaffSignedOut | ev.WindowClosed):
            self.signed.discard(event.window)
            self._cut(event.window, event.at)
        elif isinstance(event, ev.WindowPaused):
            self.paused.add(event.window)
            self._cut(event.window, event.at)
        elif isinstance(event, ev.TicketIssued):
            self.service_now[event.ticket_id] = event.service
            self._joined(event.ticket_id, event.service, event.queue_at)
        elif isinstance(event, ev.TicketCalled):
            self._called(event)
        elif isinstance(event, ev.TicketFinished):
            self.busy.discard(event.window)
            self.free_from[event.window] = event.at + self.longest
        elif isinstance(event, ev.TicketNoShow):
            self.busy.discard(event.window)
            self.free_from[event.window] = event.at
            if event.requeue_at is not None:
                self._joined(event.ticket_id, self.service_now.get(event.ticket_id, ""), event.at)
        elif isinstance(event, ev.TicketTransferred):
            self.busy.discard(event.from_window)
            self.free_from[event.from_window] = event.at
            self.service_now[event.ticket_id] = event.to_service
            self._joined(event.ticket_id, event.to_service, event.at)

    def _joined(self, ticket: str, code: str, at: dt.datetime) -> None:
        idle = [
            w
            for w in self.signed - self.paused - self.busy
            if code in self.services.get(w, set()) and self.free_from.get(w, at) <= at
        ]
        if len(idle) == 1 and idle[0] not in self.awaited:
            self.awaited[idle[0]] = (ticket, at)

    def _called(self, event: ev.TicketCalled) -> None:
        self.busy.add(event.window)
        waited = self.awaited.pop(event.window, None)
        if waited is not None:
            seen = waited[0] == event.ticket_id
            self.reactions.append(((event.at - waited[1]).total_seconds(), seen))
        for other, (ticket, _) in list(self.awaited.items()):
            if ticket == event.ticket_id:  # taken by another window first
                self._cut(other, event.at)

    def _cut(self, window: int, at: dt.datetime) -> None:
        waited = self.awaited.pop(window, None)
        if waited is not None:
            self.reactions.append(((at - waited[1]).total_seconds(), False))


def _sign_in_offsets(config: HallConfig, events: Sequence[ev.Event]) -> list[float]:
    """Minutes from opening to each window's first sign-in of the day."""
    hours = HallCalendar(config.calendar).hours_on(events[0].at.astimezone(config.zone).date())
    if hours is None:
        return []
    first: dict[int, dt.datetime] = {}
    for event in events:
        if isinstance(event, ev.StaffSignedIn):
            first.setdefault(event.window, event.at)
    offsets = []
    for at in first.values():
        local = at.astimezone(config.zone)
        opening = dt.datetime.combine(local.date(), hours.open, tzinfo=config.zone)
        offsets.append((local - opening).total_seconds() / 60)
    return offsets


def _uniform(values: Sequence[float], low: float, high: float) -> tuple[float, float]:
    """A uniform law's ends fitted by its 10th and 90th percentiles (a few strays move them
    little), kept within [low, high]."""
    if len(values) < 2:
        return (max(low, 0.0), max(low, 0.0))
    q10, q90 = (statistics.quantiles(values, n=10, method="inclusive")[i] for i in (0, -1))
    width = (q90 - q10) / 0.8
    start = max(low, min(high, q10 - 0.1 * width))
    return round(start, 1), round(max(start, min(high, start + width)), 1)


def _poll(reactions: Sequence[tuple[float, bool]]) -> float | None:
    """N of an idle window that looks every N seconds: a new ticket then waits uniformly 0..N.

    Maximum likelihood over N in 0.5 s steps, waits cut short counting as "longer than this"
    (otherwise only the quick reactions would be seen); a reaction longer than N counts as a
    rare stray (likelihood 0.001/N) rather than ruling N out. Instant (0) when they average
    under a second.
    """
    seen = [seconds for seconds, exact in reactions if exact]
    if len(seen) < MIN_SAMPLES:
        return None
    if statistics.fmean(seen) < _INSTANT_SECONDS:
        return 0.0
    cut = [seconds for seconds, exact in reactions if not exact]

    def likelihood(n: float) -> float:
        inside = sum(-math.log(n) if s <= n else math.log(1e-3 / n) for s in seen)
        return inside + sum(math.log(1 - c / n) for c in cut if c < n)

    grid = [step / 2 for step in range(2, 1201)]
    return max(grid, key=likelihood)


def _rate(part: int, whole: int) -> float | None:
    return round(part / whole, 4) if whole >= MIN_SAMPLES else None


def _law(minutes: Sequence[float]) -> ServiceLaw:
    logs = [math.log(m) for m in minutes]
    sigma = statistics.stdev(logs) if len(logs) > 1 else 0.0
    return ServiceLaw(len(minutes), round(statistics.fmean(minutes), 3), round(min(sigma, 2.0), 3))
