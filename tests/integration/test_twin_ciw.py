"""With habits on, the twin's waits agree with ciw, an independent queueing simulator (issue 17).

Both sides simulate the same one-service day (tests/twin_ciw.py says what ciw is given); the
twin over 30 seeds, ciw over 100 replications. Tolerance: for the day's mean wait and its 90th
percentile, averaged over the days, the twin and ciw differ by at most three combined standard
errors plus 0.25 minutes for what ciw is not given (the sign-in spread, the requeue of a 过号
ticket behind three others, the 30-minute escalation). The short form below runs with the tests
(c = 1, 2, 4 at a peak load of 0.9); HALL_TWIN_CIW_LONG=1 runs c = 1..8 at peak loads 0.6, 0.9
and 1.12 with 40 seeds and 300 replications.
"""

from __future__ import annotations

import math
import os
import statistics

import pytest

from controller.settings.hall_config import HallConfig
from controller.settings.simulation_habits import Behaviour
from tests.twin_ciw import ciw_day, twin_day

LONG = os.environ.get("HALL_TWIN_CIW_LONG") == "1"
CASES = (
    [(c, load) for c in range(1, 9) for load in (0.6, 0.9, 1.12)]
    if LONG
    else [(1, 0.9), (2, 0.9), (4, 0.9)]
)

pytestmark = pytest.mark.slow  # hundreds of simulated days against ciw
SEEDS, REPLICATIONS = (40, 300) if LONG else (30, 100)
SLACK_MINUTES = 0.25


def _mean_and_error(values: list[float]) -> tuple[float, float]:
    return statistics.fmean(values), statistics.stdev(values) / math.sqrt(len(values))


@pytest.mark.parametrize(("windows", "peak_load"), CASES)
def test_twin_waits_agree_with_ciw(hall_config: HallConfig, windows: int, peak_load: float) -> None:
    twin = [twin_day(hall_config, windows, peak_load, seed) for seed in range(1, SEEDS + 1)]
    ciw = [ciw_day(windows, peak_load, s, Behaviour()) for s in range(1, REPLICATIONS + 1)]
    for index, name in enumerate(("mean", "p90")):
        ours, our_error = _mean_and_error([day[index] for day in twin])
        theirs, their_error = _mean_and_error([day[index] for day in ciw])
        allowed = 3 * math.hypot(our_error, their_error) + SLACK_MINUTES
        print(
            f"c={windows} load={peak_load} {name}: twin {ours:.2f} ciw {theirs:.2f} ±{allowed:.2f}"
        )
        assert abs(ours - theirs) <= allowed, (name, ours, theirs, allowed)
    assert statistics.fmean(day[0] for day in ciw) > 0  # a queue formed in the reference
