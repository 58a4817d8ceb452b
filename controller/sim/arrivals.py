"""Simulated citizens before the day: seeded arrivals with two daily peaks, and each citizen's
own draws (service time, 过号, 转办, outcome) from their own random stream."""

from __future__ import annotations

import datetime as dt
import math
import random
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from statistics import NormalDist

from controller.settings.hall_config import HallConfig
from controller.settings.simulation_habits import Behaviour

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
_NORMAL = NormalDist()


@dataclass(frozen=True, order=True)
class Arrival:
    """A citizen taking a ticket at `at` for `service` in `lane`."""

    at: dt.datetime
    service: str
    lane: str = "normal"


@dataclass(frozen=True)
class Visit:
    """What one citizen brings to the windows, drawn from their own stream before the day."""

    arrival: Arrival
    factor: float  # service time / the service's average, at the first window
    factor_after_transfer: float
    no_show_roll: float
    transfer_roll: float
    outcome_roll: float
    target_roll: float  # which other service a transfer sends the citizen to


def arrival_stream(seed: int) -> random.Random:
    """The stream citizens' arrival times (and lanes) are drawn from."""
    return random.Random(f"{seed}-arrivals")


def draw_visits(
    arrivals: Iterable[Arrival], seed: int, sigma: float | Callable[[str], float]
) -> list[Visit]:
    """Each citizen's service-time factors and rolls, from a stream of their own.

    A citizen's draws depend only on who they are (arrival time, service, lane), so a what-if
    with the same citizens gives every one of them the same service times and rolls. `sigma`:
    the log-normal spread, or the spread of each service (the citizen's first service's spread
    is used after a 转办 too).
    """
    spread = sigma if callable(sigma) else (lambda _code: sigma)
    seen: dict[Arrival, int] = {}
    visits = []
    for arrival in arrivals:
        seen[arrival] = seen.get(arrival, -1) + 1
        key = f"{arrival.at.isoformat()}-{arrival.service}-{arrival.lane}-{seen[arrival]}"
        visits.append(_draw_visit(arrival, f"{seed}-service-{key}", spread(arrival.service)))
    return visits


def _draw_visit(arrival: Arrival, stream: str, sigma: float) -> Visit:
    rng = random.Random(stream)
    first, after_transfer = (_lognormal_factor(rng.random(), sigma) for _ in range(2))
    no_show, transfer, outcome, target = (rng.random() for _ in range(4))
    return Visit(arrival, first, after_transfer, no_show, transfer, outcome, target)


def _lognormal_factor(u: float, sigma: float) -> float:
    """Log-normal with mean 1 by inversion: exactly one uniform per draw."""
    if sigma == 0:
        return 1.0
    z = _NORMAL.inv_cdf(min(max(u, 1e-12), 1 - 1e-12))
    return math.exp(sigma * z - sigma**2 / 2)


def generate_arrivals(
    config: HallConfig,
    day: dt.date,
    rng: random.Random,
    *,
    scale: float = 1.0,
    behaviour: Behaviour | None = None,
) -> list[Arrival]:
    """Seeded arrivals for one day, sized to the hall's capacity, with two daily peaks."""
    from controller.domain.calendar import HallCalendar

    behaviour = (behaviour or config.simulation).in_effect()
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
