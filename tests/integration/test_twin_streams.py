"""Common random numbers: two twin scenarios differ only by what changed (issue 17, item 2)."""

from __future__ import annotations

import datetime as dt

from controller.settings.hall_config import HallConfig
from controller.sim.simulate_day import DayReport, day_arrivals, simulate_day
from controller.sim.twin_what_if import WhatIf, run_what_if
from tests.conftest import MONDAY


def _fates(report: DayReport) -> list[tuple[dt.datetime, bool, bool]]:
    """Each citizen, by arrival time: absent when called (过号)? sent on (转办)?"""
    return [(t.issued_at, t.no_shows > 0, t.transfers > 0) for t in report.tickets]


def _service_times(report: DayReport) -> dict[dt.datetime, dt.timedelta]:
    """Call to finish of each citizen served at one window, present at the first call."""
    return {
        t.issued_at: t.ended_at - t.called_at
        for t in report.tickets
        if t.called_at and t.ended_at and not t.no_shows and not t.transfers
    }


def test_the_same_citizens_keep_their_service_times_and_rolls_whatever_the_hall(
    hall_config: HallConfig,
) -> None:
    before, after = run_what_if(hall_config, MONDAY, WhatIf(extra_windows=2), seed=1)
    assert _fates(before) == _fates(after)
    assert any(no_show for _, no_show, _ in _fates(before))
    assert any(transfer for _, _, transfer in _fates(before))
    served = _service_times(before)
    assert len(served) > 300
    assert _service_times(after) == served


def test_a_staff_habit_changes_only_the_staff(hall_config: HallConfig) -> None:
    citizens = day_arrivals(hall_config, MONDAY, seed=4)
    quick = hall_config.model_copy(
        update={
            "simulation": hall_config.simulation.model_copy(
                update={"post_finish_pause_seconds": (0.0, 0.0)}
            )
        }
    )
    usual = simulate_day(hall_config, MONDAY, seed=4, arrivals=citizens)
    no_pause = simulate_day(quick, MONDAY, seed=4, arrivals=citizens)
    assert _fates(no_pause) == _fates(usual)
    assert _service_times(no_pause) == _service_times(usual)
    assert no_pause.kpis["average_wait_minutes"] < usual.kpis["average_wait_minutes"]


def test_shorter_service_times_keep_each_citizen_and_scale_their_own_time(
    hall_config: HallConfig,
) -> None:
    before, after = run_what_if(hall_config, MONDAY, WhatIf(service_time_scale=0.8), seed=2)
    assert _fates(after) == _fates(before)
    served, quicker = _service_times(before), _service_times(after)
    assert served.keys() == quicker.keys() and len(served) > 300
    assert all(
        abs(quicker[k].total_seconds() - 0.8 * served[k].total_seconds()) < 1e-3 for k in served
    )
    assert after.kpis["average_wait_minutes"] < before.kpis["average_wait_minutes"]
