"""The twin's one-service day as an independent ciw model, and both sides' daily wait figures.

ciw (an open-source discrete-event queueing simulator) is given what the twin documents in
docs/simulation.md, for a one-service hall with `windows` fifo windows and no lunch break:
Poisson arrivals at the hall's hourly intensity, a 绿色通道 class served first, and each citizen
holding a window for a log-normal service time plus the staff's pause after a finish; a
transferred citizen (nowhere to go in a one-service hall) for min(service, 2 min); a citizen absent
at the call for 2 minutes (recall, then 过号) and then, approximately, for their service at once
(the twin requeues them behind three tickets). Not modelled: the sign-in spread (-5..3 min at
opening) and the 30-minute escalation of long waits over the 绿色通道.
"""

from __future__ import annotations

import math
import random
import statistics
from typing import Any

import ciw

from controller.settings.hall_config import HallConfig
from controller.settings.simulation_habits import Behaviour
from controller.sim.arrivals import _HOURLY_INTENSITY
from tests.unit.test_twin_textbook import one_service_hall, run_twin

MEAN_SERVICE = 8.0  # SB, minutes
OPEN_HOUR, OPEN_MINUTE, TICKETING_MINUTES = 8, 30, 510  # 08:30, tickets until 17:00
PEAK = max(_HOURLY_INTENSITY.values())


def day_figures(waits: list[float]) -> tuple[float, float]:
    """Mean and 90th percentile (closest-ranks interpolation) of one day's waits, minutes."""
    ordered = sorted(waits)
    position = 0.9 * (len(ordered) - 1)
    low = math.floor(position)
    high = min(low + 1, len(ordered) - 1)
    return statistics.fmean(ordered), ordered[low] + (ordered[high] - ordered[low]) * (
        position - low
    )


def twin_day(config: HallConfig, windows: int, peak_load: float, seed: int) -> tuple[float, float]:
    """The twin's (mean, p90) wait of one day, habits on, at `peak_load` in the peak hour."""
    hall = one_service_hall(config, windows, peak_load / PEAK)
    hall = hall.model_copy(update={"simulation": Behaviour(utilisation=peak_load / PEAK)})
    _, engine = run_twin(hall, seed)
    waits = [
        (t.first_called_at - t.issued_at).total_seconds() / 60
        for t in engine.state.tickets.values()
        if t.first_called_at is not None
    ]
    return day_figures(waits)


class _Occupancy(ciw.dists.Distribution):  # type: ignore[misc]
    """How long one citizen holds a window, habits as documented (see the module docstring)."""

    def __init__(self, habits: Behaviour) -> None:
        self.habits = habits
        sigma = habits.service_time_sigma
        self.mu, self.sigma = math.log(MEAN_SERVICE) - sigma**2 / 2, sigma

    def sample(self, t: Any = None, ind: Any = None) -> float:
        served = random.lognormvariate(self.mu, self.sigma)
        pause = random.uniform(*self.habits.post_finish_pause_seconds) / 60
        if random.random() < self.habits.no_show_rate:
            return 2.0 + served + pause
        if random.random() < self.habits.transfer_rate:
            return min(served, 2.0)
        return served + pause


def ciw_day(windows: int, peak_load: float, seed: int, habits: Behaviour) -> tuple[float, float]:
    """ciw's (mean, p90) wait of one replication of the same day."""
    per_window = peak_load / PEAK / MEAN_SERVICE  # citizens a minute per window at intensity 1
    edges, rates = [], []
    for minute in range(30, TICKETING_MINUTES + 60, 60):
        end = min(minute, TICKETING_MINUTES)
        hour = OPEN_HOUR + (OPEN_MINUTE + end - 1) // 60
        edges.append(end)
        rates.append(windows * per_window * _HOURLY_INTENSITY[hour])
        if end == TICKETING_MINUTES:
            break
    share = habits.priority_share

    def arrivals(part: float) -> ciw.dists.PoissonIntervals:
        return ciw.dists.PoissonIntervals(
            [r * part for r in rates], edges, max_sample_date=TICKETING_MINUTES
        )

    network = ciw.create_network(
        arrival_distributions={"priority": [arrivals(share)], "normal": [arrivals(1 - share)]},
        service_distributions={"priority": [_Occupancy(habits)], "normal": [_Occupancy(habits)]},
        number_of_servers=[windows],
        priority_classes={"priority": 0, "normal": 1},
    )
    ciw.seed(seed)
    simulation = ciw.Simulation(network)
    simulation.simulate_until_max_time(TICKETING_MINUTES * 20)
    waits = [r.waiting_time for r in simulation.get_all_records()]
    return day_figures(waits)
