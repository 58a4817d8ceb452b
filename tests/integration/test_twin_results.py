"""Twin results a director can trust: several seeds, percentiles, intervals, before/after (issue 17)."""

from __future__ import annotations

import datetime as dt
import json
import math
import statistics

import pytest

from controller.sim.simulate_day import DayReport, TicketWait
from controller.sim.twin_results import day_figures, paired_change, spread, summarise
from tests.conftest import MONDAY, hall_time
from tests.system.test_cli import hallctl


def _day(waits: dict[str, list[float]], hour: str = "09:00") -> DayReport:
    tickets = []
    for service, minutes in waits.items():
        for i, wait in enumerate(minutes):
            issued = hall_time(hour) + dt.timedelta(seconds=i)
            tickets.append(TicketWait(service, issued, issued + dt.timedelta(minutes=wait)))
    return DayReport(MONDAY, {}, len(tickets), {}, 0, 0.0, tuple(tickets))


def test_spread_is_the_mean_with_a_student_t_interval() -> None:
    figure = spread([1.0, 2.0, 3.0])
    half = 4.303 * 1.0 / math.sqrt(3)  # t(0.975, 2 df) * sd / sqrt(n)
    assert figure["mean"] == 2.0 and figure["seeds"] == 3
    assert figure["ci95"] == pytest.approx([2.0 - half, 2.0 + half], abs=1e-3)
    assert spread([0.1, 0.9], 0.0, 1.0)["ci95"] == [0.0, 1.0]  # a share stays a share
    assert spread([5.0])["ci95"] is None and spread([])["mean"] is None


def test_day_figures_give_percentiles_and_the_share_within_target() -> None:
    waits = [float(m) for m in range(1, 21)]  # 1..20 minutes
    figures = day_figures(_day({"SB": waits, "YB": [40.0]}), target_minutes=10)
    sb = figures["groups"]["SB"]
    assert sb["p50"] == pytest.approx(statistics.quantiles(waits, n=2, method="inclusive")[0])
    assert sb["p90"] == pytest.approx(statistics.quantiles(waits, n=10, method="inclusive")[-1])
    assert sb["mean"] == pytest.approx(10.5) and sb["within_target"] == pytest.approx(0.5)
    assert figures["groups"]["all"]["within_target"] == pytest.approx(10 / 21)
    assert figures["by_hour"] == {"09": pytest.approx(statistics.fmean([*waits, 40.0]))}


def test_a_what_if_change_is_paired_seed_by_seed() -> None:
    before = [day_figures(_day({"SB": [10.0 + s, 20.0 + s]}), 30) for s in range(4)]
    after = [day_figures(_day({"SB": [4.0 + s, 6.0 + s]}), 30) for s in range(4)]
    change = paired_change(before, after)["SB"]["mean"]
    assert change["mean"] == -10.0 and change["ci95"] == [-10.0, -10.0]  # no seed-to-seed noise
    assert summarise(before)["groups"]["SB"]["mean"]["ci95"][0] < 15.0  # the levels vary


def test_seeds_and_a_what_if_on_the_command_line() -> None:
    args = ("simulate-day", "--date", MONDAY.isoformat(), "--seeds", "3", "--extra-windows", "2")
    result = hallctl(*args, "--json")
    assert result.returncode == 0, result.stderr
    twin = json.loads(result.stdout)["twin"]
    assert twin["seeds"] == [1, 2, 3]
    for column in ("before", "after"):
        everyone = twin[column]["groups"]["all"]
        assert everyone["p50"]["mean"] <= everyone["mean"]["mean"] <= everyone["p90"]["mean"]
        assert len(everyone["p90"]["ci95"]) == 2 and everyone["p90"]["seeds"] == 3
        assert {"09", "10", "15"} <= set(twin[column]["by_hour"])
    change = twin["change"]["all"]
    assert change["mean"]["ci95"][1] < 0 and change["p90"]["mean"] < 0  # two more windows help
    table = hallctl(*args, "--seed", "7", "--no-habits")
    assert table.returncode == 0, table.stderr
    assert "seeds 7..9" in table.stdout and "变化 change (paired)" in table.stdout
    assert "p90" in table.stdout and "按时段" in table.stdout


def test_waiting_by_hour_is_the_time_average_of_citizens_waiting() -> None:
    tickets = (
        # 09:30 to 10:30: half an hour waiting in each of 09 and 10
        TicketWait("SB", hall_time("09:30"), hall_time("10:30")),
        # 09:00 to 09:15: a quarter of an hour in 09
        TicketWait("SB", hall_time("09:00"), hall_time("09:15")),
        # never called, expired at 11:30: the whole of 10, half of 11
        TicketWait("YB", hall_time("10:00"), None, hall_time("11:30")),
        # never called and never ended (still waiting when the day was cut): not counted
        TicketWait("YB", hall_time("10:00"), None),
    )
    report = DayReport(MONDAY, {}, len(tickets), {}, 0, 0.0, tickets)
    figures = day_figures(report, target_minutes=30)
    assert figures["waiting_by_hour"] == {
        "09": pytest.approx(0.75),
        "10": pytest.approx(1.5),
        "11": pytest.approx(0.5),
    }
    summary = summarise([figures, day_figures(_day({"SB": [5.0]}, hour="10:00"), 30)])
    # the second day has nobody waiting in 09: it counts as 0, not as missing
    assert summary["waiting_by_hour"]["09"]["mean"] == pytest.approx(0.375)


def test_a_citizen_never_called_counts_with_the_wait_until_the_end() -> None:
    served = TicketWait("SB", hall_time("09:00"), hall_time("09:10"))
    forgotten = TicketWait("QYKB", hall_time("16:00"), None)  # no window on duty for QYKB
    report = DayReport(MONDAY, {}, 2, {}, 0, 0.0, (served, forgotten), hall_time("18:00"))
    figures = day_figures(report, target_minutes=30)
    assert figures["groups"]["QYKB"]["mean"] == pytest.approx(120.0)
    assert figures["groups"]["QYKB"]["not_called"] == 1.0
    assert figures["groups"]["all"]["mean"] == pytest.approx(65.0)
    assert figures["groups"]["all"]["not_called"] == pytest.approx(0.5)
    assert figures["waiting_by_hour"]["16"] == pytest.approx(1.0)
    assert figures["waiting_by_hour"]["17"] == pytest.approx(1.0)


def test_fewer_windows_on_duty_never_hide_the_citizens_left_waiting() -> None:
    from controller.settings.config_loader import load_config
    from controller.sim.twin_what_if import WhatIf, run_what_if
    from tests.conftest import EXAMPLE_CONFIG

    # From 16:00 only windows 1-8 are on duty: nobody serves QYKB, SW or ZH any more.
    hall = load_config(EXAMPLE_CONFIG)
    before, after = run_what_if(hall, MONDAY, WhatIf(staffing={16: 8}), seed=1)
    left = [t for t in after.tickets if t.called_at is None]
    assert left and {t.service for t in left} <= {"QYKB", "SW", "ZH"}
    was, now = day_figures(before, 30)["groups"], day_figures(after, 30)["groups"]
    assert was["all"]["not_called"] == 0 and now["all"]["not_called"] > 0
    for code in {t.service for t in left}:
        assert now[code]["mean"] > was[code]["mean"]
        assert now[code]["p90"] > was[code]["p90"]
