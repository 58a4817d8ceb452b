"""`hallctl simulate-day` and `hallctl replay`: a whole day through the real engine and journal."""

from __future__ import annotations

import datetime as dt
import random
import tempfile
import time
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tqdm import tqdm

from controller.app.journal import Journal
from controller.domain import commands as cmd
from controller.domain.calendar import HallCalendar
from controller.domain.engine import Engine
from controller.domain.events import TicketIssued
from controller.domain.hall_rules import WindowConfig
from controller.domain.kpis import compute_kpis
from controller.domain.state import CallingPolicy, Ticket
from controller.settings.hall_config import HallConfig
from controller.sim.arrivals import Arrival, arrival_stream, generate_arrivals
from controller.sim.simulation import HallSimulation

STEP = dt.timedelta(minutes=5)
LAST_CALL = dt.timedelta(hours=8)  # after closing, stop simulating even if people still wait


@dataclass(frozen=True)
class TicketWait:
    """One simulated ticket: when it was taken and first called (None: never called)."""

    service: str
    issued_at: dt.datetime
    called_at: dt.datetime | None
    ended_at: dt.datetime | None = None
    no_shows: int = 0
    transfers: int = 0

    @property
    def wait_minutes(self) -> float | None:
        """Minutes from ticket to first call, or None when never called."""
        if self.called_at is None:
            return None
        return (self.called_at - self.issued_at).total_seconds() / 60


@dataclass(frozen=True)
class DayReport:
    """The outcome of a simulated day."""

    day: dt.date
    kpis: dict[str, Any]
    issued: int
    refused: dict[str, int]
    events: int
    seconds: float
    tickets: tuple[TicketWait, ...] = ()
    until: dt.datetime | None = None  # when the simulation stopped (tickets never called wait on)

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {
            "day": self.day.isoformat(),
            "issued": self.issued,
            "refused": self.refused,
            "events": self.events,
            "seconds": round(self.seconds, 2),
            "kpis": self.kpis,
        }


def next_working_day(config: HallConfig, start: dt.date) -> dt.date:
    """The first working day on or after `start`."""
    calendar = HallCalendar(config.calendar)
    day = start
    for _ in range(366):
        if calendar.is_working_day(day):
            return day
        day += dt.timedelta(days=1)
    raise ValueError("the calendar has no working day within a year")


def with_extra_windows(config: HallConfig, extra: int) -> HallConfig:
    """What-if: the config plus `extra` 综合 windows serving every service in order."""
    if extra <= 0:
        return config
    top = max(w.number for w in config.windows)
    added = [
        WindowConfig(
            number=top + i + 1,
            name="综合窗口（模拟增设）",
            services=[s.code for s in config.services],
            policy=CallingPolicy.FIFO,
            staff=[{"id": f"SIMX{i + 1:02d}", "name": f"模拟{i + 1}", "role": "A"}],
        )
        for i in range(extra)
    ]
    return config.model_copy(update={"windows": [*config.windows, *added]})


def without_habits(config: HallConfig) -> HallConfig:
    """The config with every simulated habit off (`[simulation] habits = false`)."""
    habits = config.simulation.model_copy(update={"habits": False})
    return config.model_copy(update={"simulation": habits})


def simulate_day(
    config: HallConfig,
    day: dt.date,
    *,
    seed: int = 1,
    journal_path: Path | None = None,
    arrivals: list[Arrival] | None = None,
    progress: bool = False,
    staffing: dict[int, int] | None = None,
) -> DayReport:
    """Run one day of simulated citizens and staff through the engine and a journal."""
    started = time.perf_counter()
    with tempfile.TemporaryDirectory() as scratch:
        path = journal_path or Path(scratch) / "simulated.db"
        journal = Journal.at_path(path, durable=False)
        engine = Engine(config)

        def execute(command: cmd.Command, now: dt.datetime) -> tuple[dict[str, Any], str | None]:
            decision = engine.handle(command, now)
            if decision.events:
                assert engine.state.day is not None
                journal.append(decision.events, day=engine.state.day)
            return decision.result, decision.rejection.reason if decision.rejection else None

        sim = HallSimulation(config, day, execute, seed=seed, arrivals=arrivals, staffing=staffing)
        end = sim.close_at + LAST_CALL
        moment = sim.open_at - dt.timedelta(minutes=30)
        total = int((end - moment) / STEP)
        with tqdm(
            total=total, disable=not progress, unit="5min", desc=f"模拟 {day}", leave=False
        ) as bar:
            while sim.next_time is not None and moment < end:
                moment += STEP
                sim.run_until(moment)
                bar.update(1)
        kpis = compute_kpis(
            engine.state.tickets.values(),
            engine.state.attendance,
            day=day,
            now=min(moment, end),
            overtime_minutes=config.alerts.max_wait_minutes,
        )
        events = journal.count()
        journal.close()
    return DayReport(
        day,
        kpis,
        sim.issued,
        dict(sim.refused),
        events,
        time.perf_counter() - started,
        _ticket_waits(engine.state.tickets.values()),
        min(moment, end),
    )


def _ticket_waits(tickets: Iterable[Ticket]) -> tuple[TicketWait, ...]:
    rows = (
        TicketWait(
            t.service,
            t.issued_at,
            t.first_called_at,
            t.ended_at,
            t.no_show_count,
            t.transfer_count,
        )
        for t in tickets
    )
    return tuple(sorted(rows, key=lambda row: (row.issued_at, row.service)))


def day_arrivals(
    config: HallConfig, day: dt.date, *, seed: int, scale: float = 1.0
) -> list[Arrival]:
    """The base hall's generated citizens of `day`: every what-if of that day reuses them.

    `scale` above 1 adds citizens (a second, independent stream on top of the same ones);
    below 1 it keeps each citizen with probability `scale`.
    """
    if scale < 0:
        raise ValueError(f"arrival scale must be 0 or more, got {scale}")
    citizens = generate_arrivals(config, day, arrival_stream(seed))
    growth = random.Random(f"{seed}-growth")
    if scale < 1:
        return [a for a in citizens if growth.random() < scale]
    if scale > 1:
        citizens += generate_arrivals(config, day, growth, scale=scale - 1)
    return sorted(citizens)


def with_service_times(config: HallConfig, scale: float) -> HallConfig:
    """What-if: every service's average service time times `scale` (each citizen keeps theirs)."""
    if not 0 < scale <= 10:
        raise ValueError(f"service time scale must be above 0 and at most 10, got {scale}")
    services = [
        s.model_copy(update={"average_service_minutes": s.average_service_minutes * scale})
        for s in config.services
    ]
    return config.model_copy(update={"services": services})


def recorded_arrivals(journal: Journal, day: dt.date) -> list[Arrival]:
    """The walk-in arrivals of a recorded day (appointments replay as normal arrivals)."""
    lane = {"priority": "priority"}
    return [
        Arrival(e.at, e.service, lane.get(e.lane, "normal"))
        for e in journal.events_of_day(day)
        if isinstance(e, TicketIssued)
    ]
