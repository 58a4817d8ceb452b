"""The digital twin's what-ifs keep the citizens fixed (issue 17, item 1)."""

from __future__ import annotations

import json

from controller.settings.hall_config import HallConfig
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
    from controller.sim.simulate_day import what_if

    before, after = what_if(hall_config, MONDAY, seed=1, extra_windows=2)
    assert len(before.tickets) == len(after.tickets) > 100
    assert [t.issued_at for t in before.tickets] == [t.issued_at for t in after.tickets]
    assert after.kpis["average_wait_minutes"] < before.kpis["average_wait_minutes"]


def test_arrival_growth_is_its_own_explicit_option(hall_config: HallConfig) -> None:
    from controller.sim.simulate_day import what_if

    before, after = what_if(hall_config, MONDAY, seed=1, arrival_scale=1.3)
    assert 1.15 * len(before.tickets) < len(after.tickets) < 1.45 * len(before.tickets)
    grown = {t.issued_at for t in after.tickets}
    assert {t.issued_at for t in before.tickets} <= grown  # the same citizens, and more
