"""What-ifs on the same citizens: extra windows, calling policies, staffing per hour, service times.

Every option but `arrival_scale` keeps the demand fixed: the base hall's citizens (generated or
recorded) arrive at the same moments with the same own draws; only the hall changes.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from tqdm import tqdm

from controller.domain.errors import HallError
from controller.domain.state import CallingPolicy
from controller.settings.hall_config import HallConfig
from controller.sim.arrivals import Arrival
from controller.sim.simulate_day import (
    DayReport,
    day_arrivals,
    simulate_day,
    with_extra_windows,
)
from controller.sim.twin_results import day_figures, paired_change, summarise

Policy = CallingPolicy
POLICIES: tuple[str, ...] = tuple(CallingPolicy)
EVERY_WINDOW = 0  # key of `WhatIf.policies` meaning every window


class WhatIfError(HallError):
    """A what-if option names something the hall does not have or a value out of range."""


@dataclass(frozen=True)
class WhatIf:
    """What the director changes; `arrival_scale` is the one option that changes the citizens."""

    extra_windows: int = 0
    policies: Mapping[int, Policy] = field(default_factory=dict)  # window (0: every) -> policy
    staffing: Mapping[int, int] = field(default_factory=dict)  # local hour -> windows on duty
    service_time_scale: float = 1.0
    service_minutes: Mapping[str, float] = field(default_factory=dict)  # code -> average
    arrival_scale: float = 1.0

    @property
    def changed(self) -> bool:
        """Whether anything differs from the base hall."""
        return self != WhatIf()

    def label(self) -> str:
        """A short English description, e.g. `+2 综合 windows, policy fifo`."""
        parts = []
        if self.extra_windows:
            parts.append(f"+{self.extra_windows} 综合 windows")
        for window, policy in self.policies.items():
            parts.append(f"policy {policy}" + (f" at window {window}" if window else ""))
        if self.staffing:
            plan = ",".join(f"{h:02d}h={n}" for h, n in sorted(self.staffing.items()))
            parts.append(f"staffing {plan}")
        if self.service_time_scale != 1.0:
            parts.append(f"service times x{self.service_time_scale:g}")
        for code, minutes in self.service_minutes.items():
            parts.append(f"{code} {minutes:g} min")
        if self.arrival_scale != 1.0:
            parts.append(f"arrivals x{self.arrival_scale:g}")
        return ", ".join(parts)

    def hall(self, base: HallConfig) -> HallConfig:
        """The base hall changed as asked; WhatIfError names an option the hall cannot take."""
        if not 0 <= self.extra_windows <= 50:
            raise WhatIfError(f"extra windows must be 0 to 50, got {self.extra_windows}")
        if self.arrival_scale < 0:
            raise WhatIfError(f"arrival scale must be 0 or more, got {self.arrival_scale}")
        if not 0 < self.service_time_scale <= 10:
            raise WhatIfError(
                f"service time scale must be above 0 and at most 10, got {self.service_time_scale}"
            )
        hall = with_extra_windows(base, self.extra_windows)
        hall = _with_policies(hall, self.policies)
        hall = _with_service_minutes(hall, self.service_minutes, self.service_time_scale)
        _check_staffing(hall, self.staffing)
        return hall


def run_what_if(
    base: HallConfig,
    day: dt.date,
    what_if: WhatIf,
    *,
    seed: int = 1,
    citizens: list[Arrival] | None = None,
) -> tuple[DayReport, DayReport]:
    """The base day and the what-if day on the same citizens (the base hall's, or `citizens`)."""
    scenario = what_if.hall(base)
    people = citizens if citizens is not None else day_arrivals(base, day, seed=seed)
    changed = people
    if what_if.arrival_scale != 1.0:
        changed = day_arrivals(base, day, seed=seed, scale=what_if.arrival_scale)
    before = simulate_day(base, day, seed=seed, arrivals=people)
    after = simulate_day(
        scenario, day, seed=seed, arrivals=changed, staffing=dict(what_if.staffing) or None
    )
    return before, after


def twin_figures(
    base: HallConfig,
    scenario: HallConfig,
    what_if: WhatIf,
    day: dt.date,
    seeds: list[int],
    *,
    progress: bool = False,
) -> tuple[dict[str, Any], DayReport]:
    """The twin's figures over `seeds` (before, and after / change for a what-if) and the first
    seed's (what-if) day."""
    target = float(base.alerts.max_wait_minutes)
    staffing = dict(what_if.staffing) or None
    before: list[dict[str, Any]] = []
    after: list[dict[str, Any]] = []
    shown: DayReport | None = None
    for seed in tqdm(seeds, disable=not progress or len(seeds) == 1, desc="孪生 / twin"):
        # What-ifs keep the base hall's citizens; only --arrival-scale changes them.
        citizens = day_arrivals(base, day, seed=seed)
        report = simulate_day(
            base, day, seed=seed, arrivals=citizens, progress=progress and len(seeds) == 1
        )
        before.append(day_figures(report, target))
        if what_if.changed:
            grown = day_arrivals(base, day, seed=seed, scale=what_if.arrival_scale)
            report = simulate_day(scenario, day, seed=seed, arrivals=grown, staffing=staffing)
            after.append(day_figures(report, target))
        shown = shown or report
    assert shown is not None
    twin: dict[str, Any] = {"seeds": seeds, "wait_target_minutes": target}
    twin["before"] = summarise(before)
    if what_if.changed:
        twin["what_if"] = what_if.label()
        twin["after"] = summarise(after)
        twin["change"] = paired_change(before, after)
    return twin, shown


def parse_pairs(text: str, what: str) -> dict[str, str]:
    """`K=V,K=V` into a dict; WhatIfError names a malformed or repeated item."""
    pairs: dict[str, str] = {}
    for item in filter(None, (part.strip() for part in text.split(","))):
        key, sep, value = item.partition("=")
        if not sep or not key.strip() or not value.strip():
            raise WhatIfError(f"{what}: expected KEY=VALUE items separated by commas, got {item!r}")
        if key.strip() in pairs:
            raise WhatIfError(f"{what}: {key.strip()} is given twice")
        pairs[key.strip()] = value.strip()
    return pairs


def parse_policies(text: str) -> dict[int, Policy]:
    """`fifo` (every window) or `7=fifo,8=order` into window -> policy."""
    if "=" not in text:
        return {EVERY_WINDOW: _policy(text.strip())}
    return {
        _whole(key, "window", 1, 999): _policy(value)
        for key, value in parse_pairs(text, "--policy").items()
    }


def parse_staffing(text: str) -> dict[int, int]:
    """`8=6,9=12,12=4` into local hour -> windows on duty."""
    return {
        _whole(key, "hour", 0, 23): _whole(value, "windows", 1, 999)
        for key, value in parse_pairs(text, "--staffing").items()
    }


def parse_service_minutes(text: str) -> dict[str, float]:
    """`SB=12,YB=7.5` into service code -> average service minutes."""
    minutes = {}
    for code, value in parse_pairs(text, "--service-minutes").items():
        try:
            minutes[code] = float(value)
        except ValueError:
            raise WhatIfError(f"--service-minutes: {code}={value} is not a number") from None
    return minutes


def _policy(text: str) -> Policy:
    if text not in POLICIES:
        raise WhatIfError(f"calling policy {text!r} is not one of {', '.join(POLICIES)}")
    return CallingPolicy(text)


def _whole(text: str, what: str, low: int, high: int) -> int:
    try:
        value = int(text)
    except ValueError:
        raise WhatIfError(f"{what} {text!r} is not a whole number") from None
    if not low <= value <= high:
        raise WhatIfError(f"{what} {value} is outside {low}..{high}")
    return value


def _with_policies(hall: HallConfig, policies: Mapping[int, Policy]) -> HallConfig:
    numbers = {w.number for w in hall.windows}
    unknown = sorted(set(policies) - numbers - {EVERY_WINDOW})
    if unknown:
        raise WhatIfError(f"--policy: the hall has no window {unknown[0]}")
    windows = [
        w.model_copy(
            update={"policy": policies.get(w.number, policies.get(EVERY_WINDOW, w.policy))}
        )
        for w in hall.windows
    ]
    return hall.model_copy(update={"windows": windows})


def _with_service_minutes(
    hall: HallConfig, minutes: Mapping[str, float], scale: float
) -> HallConfig:
    """The services named take `minutes` on average, then every service `scale` times as long:
    the config's average and the simulated visits' mean (a measured one included)."""
    codes = {s.code for s in hall.services}
    for code, value in minutes.items():
        if code not in codes:
            raise WhatIfError(f"--service-minutes: the hall has no service {code}")
        if not 0 < value <= 240:
            raise WhatIfError(f"--service-minutes: {code} must be above 0 and at most 240 minutes")
    services = [
        s.model_copy(
            update={
                "average_service_minutes": minutes.get(s.code, s.average_service_minutes) * scale
            }
        )
        for s in hall.services
    ]
    measured = hall.simulation.service_minutes_by_service
    visits = {c: minutes.get(c, m) * scale for c, m in measured.items()}
    habits = hall.simulation.model_copy(update={"service_minutes_by_service": visits})
    return hall.model_copy(update={"services": services, "simulation": habits})


def _check_staffing(hall: HallConfig, staffing: Mapping[int, int]) -> None:
    for hour, count in staffing.items():
        if count > len(hall.windows):
            raise WhatIfError(
                f"--staffing: {count} windows at {hour:02d}:00, the hall has {len(hall.windows)}"
            )
