"""The digital twin's what-ifs keep the citizens fixed (issue 17, item 1)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from controller.domain.state import CallingPolicy
from controller.settings.hall_config import HallConfig
from controller.sim.twin_what_if import WhatIf, run_what_if
from tests.conftest import MONDAY
from tests.system.test_cli import hallctl


def _day(*extra: str) -> dict[str, object]:
    result = hallctl("simulate-day", "--seed", "1", "--date", MONDAY.isoformat(), "--json", *extra)
    assert result.returncode == 0, result.stderr
    report: dict[str, object] = json.loads(result.stdout)
    return report


def test_extra_windows_on_the_command_line_keep_the_same_citizens() -> None:
    base, more = _day(), _day("--extra-windows", "2")
    assert more["issued"] == base["issued"]  # not more citizens for a bigger hall


def test_a_what_if_with_extra_windows_keeps_ticket_count_and_arrival_times(
    hall_config: HallConfig,
) -> None:
    from controller.sim.twin_what_if import WhatIf, run_what_if

    before, after = run_what_if(hall_config, MONDAY, WhatIf(extra_windows=2), seed=1)
    assert len(before.tickets) == len(after.tickets) > 100
    assert [t.issued_at for t in before.tickets] == [t.issued_at for t in after.tickets]
    assert after.kpis["average_wait_minutes"] < before.kpis["average_wait_minutes"]


def test_arrival_growth_is_its_own_explicit_option(hall_config: HallConfig) -> None:
    from controller.sim.twin_what_if import WhatIf, run_what_if

    before, after = run_what_if(hall_config, MONDAY, WhatIf(arrival_scale=1.3), seed=1)
    assert 1.15 * len(before.tickets) < len(after.tickets) < 1.45 * len(before.tickets)
    grown = {t.issued_at for t in after.tickets}
    assert {t.issued_at for t in before.tickets} <= grown  # the same citizens, and more


WHAT_IFS = {
    "extra windows": WhatIf(extra_windows=2),
    "every window first come first served": WhatIf(policies={0: CallingPolicy.FIFO}),
    "window 7 by weights": WhatIf(policies={7: CallingPolicy.WEIGHTED, 12: CallingPolicy.FIFO}),
    "fewer windows at lunch time and after 16:00": WhatIf(staffing={8: 12, 11: 8, 13: 10, 16: 6}),
    "service times x1.2": WhatIf(service_time_scale=1.2),
    "SB and BDC quicker": WhatIf(service_minutes={"SB": 6.0, "BDC": 12.0}),
}


@pytest.mark.parametrize("what_if", WHAT_IFS.values(), ids=WHAT_IFS.keys())
def test_every_what_if_keeps_ticket_count_and_arrival_times(
    hall_config: HallConfig, what_if: WhatIf
) -> None:
    before, after = run_what_if(hall_config, MONDAY, what_if, seed=3)
    assert len(before.tickets) == len(after.tickets) > 100
    assert [t.issued_at for t in before.tickets] == [t.issued_at for t in after.tickets]
    # ... and the what-if changed the hall: some citizens are called at other moments
    assert [t.called_at for t in before.tickets] != [t.called_at for t in after.tickets]


@pytest.mark.parametrize(
    ("option", "value"),
    [
        ("--policy", "fifo"),
        ("--policy", "7=fifo,8=weighted"),
        ("--staffing", "8=12,12=6,16=4"),
        ("--service-minutes", "SB=6,YB=5.5"),
        ("--service-time-scale", "0.8"),
    ],
)
def test_what_if_options_on_the_command_line_keep_the_same_citizens(
    option: str, value: str
) -> None:
    base, changed = _day(), _day(option, value)
    assert changed["issued"] == base["issued"]
    twin = changed["twin"]
    assert isinstance(twin, dict) and "after" in twin and "change" in twin


@pytest.mark.parametrize(
    ("option", "value", "says"),
    [
        ("--policy", "random", "calling policy 'random' is not one of fifo, order, weighted"),
        ("--policy", "99=fifo", "the hall has no window 99"),
        ("--staffing", "9=40", "40 windows at 09:00, the hall has 12"),
        ("--staffing", "25=3", "hour 25 is outside 0..23"),
        ("--staffing", "9", "expected KEY=VALUE"),
        ("--service-minutes", "XX=5", "the hall has no service XX"),
        ("--service-minutes", "SB=fast", "SB=fast is not a number"),
    ],
)
def test_a_bad_what_if_option_is_named(option: str, value: str, says: str) -> None:
    result = hallctl("simulate-day", "--date", MONDAY.isoformat(), option, value)
    assert result.returncode != 0
    assert says in result.stderr


def test_a_service_time_what_if_also_changes_a_measured_mean(hall_config: HallConfig) -> None:
    habits = hall_config.simulation.model_copy(
        update={"service_minutes_by_service": {"SB": 9.0, "YB": 4.0}}
    )
    measured = hall_config.model_copy(update={"simulation": habits})
    hall = WhatIf(service_minutes={"SB": 6.0}, service_time_scale=0.5).hall(measured)
    assert hall.simulation.minutes_of("SB", 0.0) == 3.0  # the what-if's 6 minutes, halved
    assert hall.simulation.minutes_of("YB", 0.0) == 2.0  # the measured 4 minutes, halved
    assert {s.code: s.average_service_minutes for s in hall.services}["SB"] == 3.0


def test_replay_answers_a_what_if_on_the_recorded_citizens(
    hall_config: HallConfig, tmp_path: Path
) -> None:
    from controller.sim.simulate_day import simulate_day

    data = tmp_path / "var"
    data.mkdir()
    simulate_day(hall_config, MONDAY, seed=2, journal_path=data / "hall.db")
    args = ("replay", "--data", str(data), "--date", MONDAY.isoformat(), "--json")
    result = hallctl(*args, "--extra-windows", "2", "--staffing", "8=14,12=13")
    assert result.returncode == 0, result.stderr
    columns = json.loads(result.stdout)
    assert columns["what_if_label"] == "+2 综合 windows, staffing 08h=14,12h=13"
    recorded, replayed, changed = columns["recorded"], columns["replayed"], columns["what_if"]
    assert recorded["issued"] == replayed["issued"] == changed["issued"] > 100
    assert changed["average_wait_minutes"] < replayed["average_wait_minutes"]
    plain = json.loads(hallctl(*args).stdout)
    assert "what_if" not in plain and plain["what_if_label"] is None
    growth = hallctl(*args, "--arrival-scale", "1.2")  # a recorded day's demand is what it was
    assert growth.returncode == 2 and "--arrival-scale" in growth.stderr
