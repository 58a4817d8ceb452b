"""The staffing answer: how many windows per hour keep a share of waits under the target.

Found by the twin itself on the same citizens (a recorded day's or the base hall's generated
ones), hour by hour, and checked by running the whole day on the answer.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from controller.domain.state import CallingPolicy
from controller.settings.hall_config import HallConfig
from controller.sim.arrivals import Arrival
from controller.sim.simulate_day import DayReport, simulate_day, with_extra_windows
from controller.sim.twin_results import waited_minutes

Progress = Callable[[str], None]


@dataclass(frozen=True)
class HourStaffing:
    """One hour of the answer: windows on duty and how its citizens' waits came out."""

    hour: int
    windows: int
    citizens: int
    within_target: float  # share of this hour's arrivals called within the target
    reached: bool


@dataclass(frozen=True)
class StaffingPlan:
    """Windows per hour, checked over every seed's day; `reached` when every hour meets it."""

    hours: tuple[HourStaffing, ...]
    target_minutes: float
    share: float
    max_windows: int
    seeds: tuple[int, ...]

    @property
    def reached(self) -> bool:
        """Whether every hour keeps the share of waits under the target."""
        return all(h.reached for h in self.hours)


def comprehensive(config: HallConfig, windows: int) -> HallConfig:
    """The hall with `windows` 综合 windows, each serving every service first come first served."""
    wider = with_extra_windows(config, max(0, windows - len(config.windows)))
    every = [s.code for s in config.services]
    staffed = [
        w.model_copy(update={"services": every, "policy": CallingPolicy.FIFO, "weights": {}})
        for w in wider.windows[:windows]
    ]
    return wider.model_copy(update={"windows": staffed})


def _share(reports: Sequence[DayReport], hour: int, target: float) -> tuple[int, float]:
    waits = [
        wait
        for r in reports
        for t in r.tickets
        if t.issued_at.hour == hour and (wait := waited_minutes(t, r.until)) is not None
    ]
    within = sum(1 for w in waits if w <= target)
    return len(waits), (within / len(waits) if waits else 1.0)


def plan_staffing(
    config: HallConfig,
    day: dt.date,
    citizens: dict[int, list[Arrival]],
    *,
    target_minutes: float,
    share: float = 0.9,
    max_windows: int,
    progress: Progress | None = None,
) -> StaffingPlan:
    """Fewest 综合 windows per hour keeping `share` of each hour's waits within the target.

    `citizens` maps each seed to that day's arrivals (the same ones in every trial). Hours are
    settled in order with the later hours fully staffed; then the whole day is run on the answer
    and the first hour that falls short gets a window more (or, when it has `max_windows`, the
    latest earlier hour that can, whose backlog it waits behind) until every hour holds or
    nothing can be added; when every hour holds, each hour gives back the windows it can spare.
    """
    hall = comprehensive(config, max_windows)

    def run(plan: dict[int, int]) -> list[DayReport]:
        return [
            simulate_day(hall, day, seed=seed, arrivals=arrivals, staffing=plan)
            for seed, arrivals in citizens.items()
        ]

    def holds(plan: dict[int, int], hour: int) -> bool:
        return _share(run(plan), hour, target_minutes)[1] >= share

    full = run({})
    hours = sorted({t.issued_at.hour for r in full for t in r.tickets})  # hours with tickets
    plan = dict.fromkeys(hours, max_windows)
    for hour in hours:
        low, high = 1, max_windows
        while low < high:
            middle = (low + high) // 2
            if holds(plan | {hour: middle}, hour):
                high = middle
            else:
                low = middle + 1
        plan[hour] = low
        if progress:
            progress(f"{hour:02d}:00 -> {low}")
    checked = run(plan)
    for _ in range(len(hours) * max_windows):
        short = [h for h in hours if _share(checked, h, target_minutes)[1] < share]
        # A full hour still short waits behind an earlier hour's backlog: staff that one.
        more = [h for h in hours if short and h <= short[0] and plan[h] < max_windows]
        if not more:
            break
        plan[more[-1]] += 1
        checked = run(plan)
    if all(_share(checked, h, target_minutes)[1] >= share for h in hours):
        for hour in hours:  # backlog fixes may leave an hour a window more than it needs
            while plan[hour] > 1:
                trial = run(plan | {hour: plan[hour] - 1})
                if any(_share(trial, h, target_minutes)[1] < share for h in hours):
                    break
                plan[hour] -= 1
                checked = trial
    rows = []
    for hour in hours:
        count, within = _share(checked, hour, target_minutes)
        rows.append(HourStaffing(hour, plan[hour], count, within, within >= share))
    return StaffingPlan(tuple(rows), target_minutes, share, max_windows, tuple(citizens))
