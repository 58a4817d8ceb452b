"""The twin's staff and citizen habits: documented, validated, switchable (issue 17, item 3)."""

from __future__ import annotations

from pathlib import Path

import pytest

from controller.domain.errors import ConfigError
from controller.settings.config_loader import parse_config
from controller.settings.hall_config import HallConfig
from controller.settings.simulation_habits import Behaviour
from controller.sim.simulate_day import day_arrivals, simulate_day
from tests.conftest import EXAMPLE_CONFIG, MONDAY

ROOT = Path(__file__).parents[2]
HABITS = [name for name in Behaviour.model_fields if name not in ("habits", "utilisation")]


def _with(config: HallConfig, **habits: object) -> HallConfig:
    return config.model_copy(update={"simulation": config.simulation.model_copy(update=habits)})


def test_every_habit_is_in_the_example_config_and_the_docs() -> None:
    example = EXAMPLE_CONFIG.read_text(encoding="utf-8").split("[simulation]")[1]
    docs = (ROOT / "docs" / "simulation.md").read_text(encoding="utf-8")
    for name in Behaviour.model_fields:
        assert f"\n{name} = " in example, name
        assert f"`{name}`" in docs, name


@pytest.mark.parametrize(
    ("line", "key", "says"),
    [
        ("post_finish_pause_seconds = [40, 5]", "post_finish_pause_seconds", "low <= high"),
        ("sign_in_spread_minutes = [3, -5]", "sign_in_spread_minutes", "early <= late"),
        ("no_show_rate = 1.5", "no_show_rate", "less than or equal to 1"),
        ("idle_poll_seconds = -1", "idle_poll_seconds", "greater than or equal to 0"),
        ("poll = 20", "poll", "Extra inputs are not permitted"),
    ],
)
def test_a_bad_habit_is_named_with_its_line(line: str, key: str, says: str) -> None:
    name = line.split(" = ", maxsplit=1)[0]
    rows = EXAMPLE_CONFIG.read_text(encoding="utf-8").split("\n")
    kept = "\n".join(row for row in rows if not row.startswith(f"{name} = "))  # no duplicate key
    text = kept.replace("[simulation]\n", f"[simulation]\n{line}\n", 1)
    with pytest.raises(ConfigError) as caught:
        parse_config(text, file="hall.toml")
    (problem,) = caught.value.problems
    assert problem.key == f"simulation.{key}"
    assert says in problem.message
    assert text.split("\n")[problem.line - 1].startswith(line)  # type: ignore[operator]


def test_habits_off_switches_every_habit_off() -> None:
    off = Behaviour(habits=False).in_effect()
    assert off.post_finish_pause_seconds == (0, 0) and off.sign_in_spread_minutes == (0, 0)
    assert off.no_show_rate == off.transfer_rate == off.priority_share == 0
    assert off.idle_poll_seconds == 0
    kept = Behaviour(habits=False, service_time_sigma=0.3, utilisation=0.9).in_effect()
    assert (kept.service_time_sigma, kept.utilisation) == (0.3, 0.9)  # the law, not a habit


def test_a_day_without_habits_has_no_no_shows_transfers_or_late_staff(
    hall_config: HallConfig,
) -> None:
    off = _with(hall_config, habits=False)
    citizens = day_arrivals(off, MONDAY, seed=2)
    assert citizens and all(a.lane == "normal" for a in citizens)
    assert [a.at for a in citizens] == [a.at for a in day_arrivals(hall_config, MONDAY, seed=2)]
    plain = simulate_day(off, MONDAY, seed=2, arrivals=citizens)
    usual = simulate_day(hall_config, MONDAY, seed=2, arrivals=citizens)
    assert not any(t.no_shows or t.transfers for t in plain.tickets)
    assert any(t.no_shows for t in usual.tickets) and any(t.transfers for t in usual.tickets)
    sign_ins = [s for row in plain.kpis["by_staff"].values() for s in row.get("sign_ins", [])]
    assert sign_ins and {s["signed_in_at"][11:19] for s in sign_ins} == {"08:30:00"}
    assert plain.kpis["average_wait_minutes"] < usual.kpis["average_wait_minutes"]


def test_idle_windows_can_poll_instead_of_reacting(hall_config: HallConfig) -> None:
    citizens = day_arrivals(hall_config, MONDAY, seed=3)
    reacting = simulate_day(hall_config, MONDAY, seed=3, arrivals=citizens)
    polling = simulate_day(
        _with(hall_config, idle_poll_seconds=60.0), MONDAY, seed=3, arrivals=citizens
    )
    assert polling.kpis["average_wait_minutes"] > reacting.kpis["average_wait_minutes"]
